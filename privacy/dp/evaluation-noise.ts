/**
 * Noise on the federated evaluation sums (the evaluation differencing gap, test/review-evaluation-differencing.test.ts):
 * a coordinator that unmasks two exact evaluation sums whose rosters differ by one organisation learns that
 * organisation's exact [examples, correct, loss, Brier, label counts, …]. With `evaluation.noise` each evaluating
 * client bounds its vector and adds its share of the distributed discrete Gaussian to EVERY coordinate before the
 * masked sum (Kairouz, Liu & Steinke, "The Distributed Discrete Gaussian Mechanism for Federated Learning with
 * Secure Aggregation", ICML 2021), and each release is accounted with their Proposition 14 like a DDGauss round.
 * Pure maths; no I/O.
 *
 * Sensitivity (zero-out neighbours, the unit of privacy being one organisation's whole vector v; Prop. 14 needs
 * ‖v − v′‖₂ ≤ Δ₂ and ‖v − v′‖₁ ≤ Δ₁ with v′ = 0). The client evaluates n ≤ W examples (its first W held-out rows),
 * and its vector in the noised layout (privacy/secagg/evaluation-input.ts) is
 *   v = [n, c, ℓ, b, y_1…y_K, i_1…i_P, c′, ℓ′, b′, f_1…f_F]
 * with 0 ≤ c ≤ n (correct); ℓ = round(Σ loss / L_max) ≤ n, since each example's cross-entropy is at most
 * L_max = −ln(1e−7) (ml/train.ts `evaluate` clamps every probability at 1e−7); b = round(Σ Brier / 2) ≤ n, since one
 * example's multi-class Brier score Σ_c (p_c − y_c)² is at most 2; y ≥ 0 with Σ y_k = n, so ‖y‖₂ ≤ ‖y‖₁ = n; the
 * P permutation-importance counts (final round only) are counts of held-out rows, each ≤ n; [c′, ℓ′, b′] are the
 * previous production version's correct count, loss and Brier sums on the SAME n rows (the baseline block, which
 * the noised layout always carries: zeros when the coordinator has no production version, so Δ₂ and D are fixed by
 * the spec and the client's policy recomputes the ε the ledger charges), each ≤ n by the same bounds as c, ℓ, b; and
 * each of the F fairness cells ≤ B_f = maxCellValue(layout, W) (governance/fairness/counts.ts). With B = 3 when the
 * baseline block is present (else 0), at n = W,
 *   ‖v‖₂² ≤ 4W² + W² + P·W² + B·W² + F·B_f²      ⇒ Δ₂ = √((5 + P + B)·W² + F·B_f²),
 *   ‖v‖₁  ≤ 4W + W + P·W + B·W + F·B_f           ⇒ Δ₁ = min(that, Δ₂·√D, Δ₂²)
 * (the last two: Cauchy–Schwarz in D coordinates, and |x| ≤ x² for integers). The fairness bound is loose (each
 * example lands in few cells); it is valid, and only makes fairness jobs noisier.
 *
 * Noise split (as for training, privacy/dp/placement.ts): each client adds N_Z(0, σ²) with σ² = z²Δ₂²/m, so any
 * m or more survivors put at least z²Δ₂² of variance on each coordinate of the sum; m is the job's minSurvivors
 * (max(minClients, pinned secure-aggregation threshold)), below which the secure sum is never unmasked.
 *
 * Accounting: one release with n′ survivors is (α, ε(α))-RDP by Prop. 14 (privacy/accountant/ddgauss.ts) with
 * Δ₂/(√n′σ), Δ₁/(√n′σ), τ of Theorem 1 for n′ summed discrete Gaussians and D the vector's length. Every eligible
 * client is asked (no sampling), so q = 1: nothing is amplified. Releases compose with the training rounds in RDP
 * (Mironov 2017, Prop. 1).
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import type { RoundGroup } from '../accountant/index.ts';
import { ddgaussTau, type DdgaussRdpParams } from '../accountant/ddgauss.ts';
import { dpPlanForJob } from './config.ts';

/** −ln(1e−7): the largest per-example cross-entropy `evaluate` reports (it clamps probabilities at 1e−7). */
export const MAX_EXAMPLE_LOSS = -Math.log(1e-7);
/** The largest multi-class Brier score of one example: Σ_c (p_c − y_c)² ≤ 2 for a probability vector p. */
export const MAX_EXAMPLE_BRIER = 2;
/** The baseline's coordinates in one release: [correct, loss, Brier] of the previous production version. */
export const BASELINE_BLOCK = 3;

export interface EvaluationLayout {
  readonly classes: number;
  /** P: permutation-importance counts in this release (0 unless the final round asks for them). */
  readonly importance: number;
  /** The previous-production baseline block [c′, ℓ′, b′] (evaluation-input.ts `releaseCarriesBaseline`). */
  readonly baseline: boolean;
  /** F: fairness cells. */
  readonly fairnessCells: number;
  /** B_f: the per-client bound of one fairness cell. */
  readonly fairnessCellBound: number;
}

export interface EvaluationNoisePlan {
  /** z of the job spec. */
  readonly noiseMultiplier: number;
  /** W: the most examples one client evaluates. */
  readonly maxExamples: number;
  /** Δ₂ and Δ₁ of one client's vector (integer units). */
  readonly l2Sensitivity: number;
  readonly l1Sensitivity: number;
  /** D: coordinates of the vector. */
  readonly dim: number;
  /** m: the fewest survivors whose noise is in a released sum. */
  readonly minSurvivors: number;
  /** σ² = z²Δ₂²/m: each client's discrete Gaussian variance (an exact dyadic rational as a float). */
  readonly clientVariance: number;
}

/** Δ₂ and Δ₁ of one client's evaluation vector (see the header for the derivation). */
export function evaluationSensitivity(maxExamples: number, layout: EvaluationLayout): { l2: number; l1: number; dim: number } {
  const W = maxExamples;
  const B = layout.baseline ? BASELINE_BLOCK : 0;
  const dim = 4 + layout.classes + layout.importance + B + layout.fairnessCells;
  const l2 = Math.sqrt((5 + layout.importance + B) * W * W + layout.fairnessCells * layout.fairnessCellBound ** 2);
  const l1Direct = (5 + layout.importance + B) * W + layout.fairnessCells * layout.fairnessCellBound;
  return { l2, l1: Math.min(l1Direct, l2 * Math.sqrt(dim), l2 * l2), dim };
}

/** The job's evaluation noise for one release layout, or null when the job has none. Refuses an unusable setup. */
export function evaluationNoisePlan(job: JobSpec, layout: EvaluationLayout): EvaluationNoisePlan | null {
  const noise = job.evaluation.noise;
  if (noise === undefined) return null;
  if (!job.dp.enabled) throw new TesseraError('TESSERA_ERR_DP_CONFIG', 'evaluation.noise is charged to the privacy ledger: it needs dp.enabled');
  if (!job.secagg.enabled) throw new TesseraError('TESSERA_ERR_DP_CONFIG', 'evaluation.noise is distributed noise inside the secure sum: it needs secagg.enabled');
  const plan = dpPlanForJob(job);
  if (plan.accountant !== 'rdp') throw new TesseraError('TESSERA_ERR_DP_CONFIG', `evaluation releases are accounted in RDP (Kairouz et al. 2021, Prop. 14): set dp.accountant to "rdp", not "${plan.accountant}"`);
  const { l2, l1, dim } = evaluationSensitivity(noise.maxExamplesPerClient, layout);
  const m = plan.minSurvivors;
  return { noiseMultiplier: noise.noiseMultiplier, maxExamples: noise.maxExamplesPerClient, l2Sensitivity: l2, l1Sensitivity: l1, dim, minSurvivors: m, clientVariance: (noise.noiseMultiplier * l2) ** 2 / m };
}

/** Proposition 14's parameters for one release whose sum holds `survivors` clients' noise. */
export function evaluationReleaseParams(plan: EvaluationNoisePlan, survivors: number): DdgaussRdpParams {
  if (!Number.isInteger(survivors) || survivors < 1) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `survivors must be an integer ≥ 1, got ${survivors}`);
  const sigma = Math.sqrt(plan.clientVariance);
  const central = Math.sqrt(survivors) * sigma;
  return { l2Scale: plan.l2Sensitivity / central, l1Scale: plan.l1Sensitivity / central, tau: ddgaussTau(survivors, sigma), dim: plan.dim };
}

/** One evaluation release as the accountant composes it: q = 1 (every eligible client is asked). */
export function evaluationReleaseGroup(plan: EvaluationNoisePlan, survivors: number): Required<Pick<RoundGroup, 'samplingRate' | 'noiseMultiplier' | 'ddgauss'>> {
  const ddgauss = evaluationReleaseParams(plan, survivors);
  return { samplingRate: 1, noiseMultiplier: 1 / ddgauss.l2Scale, ddgauss };
}

/** The rounds whose federated evaluation is due (job-runner.ts: every K rounds and the last). */
export function evaluationRounds(job: Pick<JobSpec, 'rounds' | 'evaluation'>): number[] {
  const every = job.evaluation.everyRounds;
  return Array.from({ length: job.rounds }, (_, i) => i + 1).filter((r) => r === job.rounds || (every > 0 && r % every === 0));
}

/**
 * The accountant's groups for every evaluation release a job plans, at m survivors (the fewest a release may hold):
 * what the planner, the coordinator's up-front check and each client's own ε recomputation add to the training
 * rounds. Layouts differ only in the final round's importance counts; each due round is planned with its own.
 */
export function plannedEvaluationGroups(job: JobSpec, layoutOf: (round: number) => EvaluationLayout): RoundGroup[] {
  if (job.evaluation.noise === undefined) return [];
  return evaluationRounds(job).map((round) => {
    const plan = evaluationNoisePlan(job, layoutOf(round)) as EvaluationNoisePlan;
    return { ...evaluationReleaseGroup(plan, plan.minSurvivors), steps: 1 };
  });
}
