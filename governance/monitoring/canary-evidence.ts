/**
 * Whose evidence a canary verdict rests on (review 3's canary-steering finding). The criteria of canary.ts judge
 * a sample of requests and labels; before this module one application filled that sample with its own traffic
 * and labels and so decided the verdict alone — a rollback by slow batches or wrong labels, or "ready" by labels
 * that agree. Three rules, each over the per-token evidence of token-evidence.ts, make a verdict need several
 * tokens (an admin issues tokens; a caller cannot mint them):
 *
 * 1. **Share cap.** In the sample counted, no token weighs more than `maxTokenShare` (0.5) of it: a token's
 *    requests (and, separately, its labels) count up to the level L at which the capped tokens hold exactly
 *    that share — water-filling, L = c·R / (1 − k·c) for the k largest tokens capped and R the rest (c the cap).
 *    A flood of fast, good requests cannot dilute a breach the other tokens see below half its size.
 * 2. **Distinct tokens.** Fewer than `minTokens` (default 3, the floor raises it to at least 2) distinct tokens
 *    with canary requests — or, for the accuracy gap, with labels on each side — is "insufficient evidence".
 * 3. **Leave one token out.** A breach (which rolls the canary back) or "ready" stands only if the same verdict
 *    holds on the sample with each token's evidence removed in turn, on both stages. A token that floods the
 *    canary with slow batches or wrong labels breaches a sample only while its own evidence is in it, so its
 *    verdict falls when it is left out: "insufficient evidence", and no rollback. When several honest tokens see
 *    the canary fail, every leave-one-out sample still fails, and the canary is rolled back.
 * A share cap alone would not do: a token holding 49 % of the labels moves the accuracy gap by half its lie.
 *
 * Pure: evidence rows and criteria in, verdict out. Figures are over the counted (capped) sample, so counts may
 * be fractional; the verdict shows how many tokens stand behind it and never which.
 */
import type { CanaryCriteria } from '../../protocol/job/governance.ts';
import { roundTo } from '../contract/stats.ts';
import { canaryFigures, judgeCanary, type CanaryFigures, type CanaryVerdict } from './canary.ts';
import type { TokenEvidence } from './token-evidence.ts';

/** Distinct tokens a verdict needs when the policy does not say (the floor's minimum is POLICY_FLOOR.canaryMinTokens). */
export const DEFAULT_CANARY_MIN_TOKENS = 3;
/** The largest share of the counted sample one token may hold when the policy does not say. */
export const DEFAULT_CANARY_MAX_TOKEN_SHARE = 0.5;

export interface EvidenceFigures extends CanaryFigures {
  /** Distinct tokens whose requests reached the canary in this stay. */
  readonly tokens: number;
  /** Distinct tokens that labelled canary predictions, and production ones. */
  readonly canaryLabellingTokens: number;
  readonly productionLabellingTokens: number;
  /** The largest one token's share of the canary's requests, before the cap. */
  readonly largestTokenShare: number | null;
}

export interface EvidenceVerdict extends Omit<CanaryVerdict, 'status' | 'figures'> {
  readonly status: CanaryVerdict['status'] | 'insufficient-evidence';
  readonly figures: EvidenceFigures;
}

/** Per-token weights in [0, 1] so that no token holds more than `cap` of Σ weight·count (water-filling; header). */
export function cappedWeights(counts: readonly number[], cap: number): number[] {
  const order = counts.map((x, i) => ({ x, i })).sort((a, b) => b.x - a.x);
  const total = counts.reduce((a, b) => a + b, 0);
  const weights = counts.map(() => 1);
  if (total === 0 || (order[0]?.x ?? 0) <= cap * total) return weights;
  let rest = total;
  for (let k = 1; k <= order.length; k++) {
    rest -= order[k - 1]?.x ?? 0;
    // Capping the k largest at level L: L = cap·(k·L + rest), so L = cap·rest / (1 − k·cap); needs k·cap < 1.
    const level = k * cap < 1 ? (cap * rest) / (1 - k * cap) : 0;
    const next = order[k]?.x ?? 0;
    if (next <= level || k * cap >= 1) {
      for (let j = 0; j < k; j++) {
        const t = order[j];
        if (t !== undefined) weights[t.i] = t.x > 0 ? Math.min(1, level / t.x) : 1;
      }
      return weights;
    }
  }
  return weights;
}

const scaled = (xs: readonly number[], w: number): number[] => xs.map((x) => x * w);
const add = (a: number[], b: readonly number[]): number[] => {
  for (let i = 0; i < b.length; i++) a[i] = (a[i] ?? 0) + (b[i] ?? 0);
  return a;
};
const labelledOf = (e: TokenEvidence): number => e.calibration.reduce((s, [k]) => s + k, 0);

/** One stage's counted sample: requests-side counts weighted by the request cap, labels by the label cap. */
function countedSample(rows: readonly TokenEvidence[], cap: number) {
  const wr = cappedWeights(rows.map((e) => e.requests + e.errors), cap);
  const wl = cappedWeights(rows.map(labelledOf), cap);
  let requests = 0;
  let errors = 0;
  let instances = 0;
  const latency: number[] = [];
  const predicted: number[] = [];
  const calibration: Array<[number, number, number]> = [];
  rows.forEach((e, i) => {
    const w = wr[i] ?? 1;
    requests += e.requests * w;
    errors += e.errors * w;
    instances += e.instances * w;
    add(latency, scaled(e.latency, w));
    add(predicted, scaled(e.predicted, w));
    e.calibration.forEach((b, j) => {
      const acc = calibration[j] ?? [0, 0, 0];
      calibration[j] = [acc[0] + b[0] * (wl[i] ?? 1), acc[1] + b[1] * (wl[i] ?? 1), acc[2] + b[2] * (wl[i] ?? 1)];
    });
  });
  return { requests, errors, instances, latency, predicted, calibration };
}

function judgeSample(criteria: CanaryCriteria, canary: readonly TokenEvidence[], production: readonly TokenEvidence[], since: string, now: Date, cap: number): CanaryVerdict {
  return judgeCanary(criteria, canaryFigures(countedSample(canary, cap), countedSample(production, cap), since, now));
}

export interface CanaryEvidenceInput {
  readonly criteria: CanaryCriteria;
  /** Per-token evidence of the canary's current stay and of production's. */
  readonly canary: readonly TokenEvidence[];
  readonly production: readonly TokenEvidence[];
  readonly since: string;
  readonly now: Date;
}

/** The canary's verdict under the three rules of the header. */
export function judgeCanaryEvidence(input: CanaryEvidenceInput): EvidenceVerdict {
  const { criteria, since, now } = input;
  const minTokens = criteria.minTokens ?? DEFAULT_CANARY_MIN_TOKENS;
  const cap = criteria.maxTokenShare ?? DEFAULT_CANARY_MAX_TOKEN_SHARE;
  const canary = input.canary.filter((e) => e.requests + e.errors > 0 || labelledOf(e) > 0);
  const production = input.production.filter((e) => e.requests + e.errors > 0 || labelledOf(e) > 0);
  const attempts = canary.map((e) => e.requests + e.errors);
  const totalAttempts = attempts.reduce((a, b) => a + b, 0);
  const tokens = attempts.filter((x) => x > 0).length;
  const canaryLabellingTokens = canary.filter((e) => labelledOf(e) > 0).length;
  const productionLabellingTokens = production.filter((e) => labelledOf(e) > 0).length;
  // The accuracy gap counts only on labels from minTokens distinct tokens on each side; until then it waits.
  const labelsCount = canaryLabellingTokens >= minTokens && productionLabellingTokens >= minTokens;
  const judged: CanaryCriteria = labelsCount ? criteria : { ...criteria, maxAccuracyGap: undefined };
  const judgedFull = judgeSample(judged, canary, production, since, now, cap);
  const full: CanaryVerdict =
    labelsCount || criteria.maxAccuracyGap === undefined || judgedFull.status === 'collecting' || judgedFull.status === 'breached'
      ? judgedFull
      : { ...judgedFull, status: 'watching', waitingFor: [...judgedFull.waitingFor, `feedback labels from ${minTokens} distinct tokens on each side (canary ${canaryLabellingTokens}, production ${productionLabellingTokens})`] };
  const figures: EvidenceFigures = {
    ...full.figures,
    requests: roundTo(full.figures.requests, 3),
    errors: roundTo(full.figures.errors, 3),
    canaryLabelled: roundTo(full.figures.canaryLabelled, 3),
    productionLabelled: roundTo(full.figures.productionLabelled, 3),
    tokens,
    canaryLabellingTokens,
    productionLabellingTokens,
    largestTokenShare: totalAttempts > 0 ? roundTo(Math.max(...attempts) / totalAttempts) : null,
  };
  const capNote = `one token counts for at most ${cap * 100} % of the sample`;
  // Enough requests but too few tokens is a lack of independent evidence, not of requests (one token alone counts
  // for nothing under the cap, so its sample would otherwise read as "collecting").
  if (tokens < minTokens && (full.status !== 'collecting' || totalAttempts >= criteria.minRequests)) {
    return { status: 'insufficient-evidence', figures, breaches: [], waitingFor: [`canary requests from ${minTokens - tokens} more distinct token(s) (${tokens} of ${minTokens}; ${capNote})`, ...full.breaches.map((b) => `${b} — shown by fewer than ${minTokens} tokens, so no rollback`)] };
  }
  if (full.status === 'collecting') return { ...full, figures };
  const verdict = full;
  if (verdict.status !== 'breached' && verdict.status !== 'ready') return { ...verdict, figures };
  // Leave one token out, on both stages: the verdict must not rest on any one token's evidence.
  const everyone = [...new Set([...canary, ...production].map((e) => e.tokenId))];
  for (const t of everyone) {
    const without = judgeSample(judged, canary.filter((e) => e.tokenId !== t), production.filter((e) => e.tokenId !== t), since, now, cap);
    if (without.status !== verdict.status) {
      const what = verdict.status === 'breached' ? verdict.breaches.map((b) => `${b} — but not without one token's evidence (of ${everyone.length}), so no rollback`) : [`'ready' on this sample — but not without one token's evidence (of ${everyone.length})`];
      return { status: 'insufficient-evidence', figures, breaches: [], waitingFor: [`a verdict that holds with any one token's evidence left out; ${capNote}`, ...what] };
    }
  }
  return { ...verdict, figures };
}
