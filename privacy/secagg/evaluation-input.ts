/**
 * Federated evaluation under secure aggregation: each client's evaluation result is one vector of
 * non-negative integers, [examples, correct, round(lossSum · 1000), round(brierSum · 1000), ...labelCounts
 * (one per class), ...importanceCounts, ...baseline, ...fairnessCounts], summed exactly (integer-sum.ts) so the
 * coordinator learns the totals and never one client's figures. `baseline` is the previous production version's
 * [correct, round(lossSum · 1000), round(brierSum · 1000)] on the SAME rows (so examples and label counts are
 * shared): present when the task carried that version's weights, and always with evaluation noise
 * (`releaseCarriesBaseline`); the plain evaluate-result carries the same `EvaluationSums` as fields. Both sides derive the same plan from the job spec and the round size; a
 * client checks the coordinator's (k, t, dim) against it. The label counts give the majority-class baseline
 * and the Brier sum the calibration evidence of a model's lineage (governance/registry/performance.ts).
 *
 * Per-client bounds (public): examples, correct and each label count ≤ W = secagg.maxExamplesPerClient (a
 * client with a larger held-out split refuses); the loss sum ≤ W · −ln(1e−7) (ml/train.ts `evaluate` clamps
 * each predicted probability at 1e−7) and the Brier sum ≤ 2W (each example's multi-class Brier score is at
 * most 2), each carried in thousandths — or, when n such sums could wrap 2^32, in the finest of hundredths,
 * tenths or units that cannot (both sides pick it from n and W); every fairness cell ≤ maxCellValue(layout,
 * W) (governance/fairness/counts.ts: SCORE_SCALE · W with calibration bins, else W); the permutation-importance
 * counts [n, correct, correct per shuffled column] (ml/explain/importance-for-job.ts; only in the final
 * evaluation of a job that asks for them, else length 0) each ≤ W; the baseline's correct count, loss and Brier sums
 * have the bounds and units of the candidate's.
 *
 * With `evaluation.noise` (privacy/dp/evaluation-noise.ts) W is `evaluation.noise.maxExamplesPerClient`, the loss
 * and Brier sums travel in units of their per-example bounds (round(Σ loss / L_max), round(Σ Brier / 2), each ≤ n)
 * so that every header coordinate is ≤ W, and each client adds its share of discrete Gaussian noise to every
 * coordinate after the bounds are checked (`addEvaluationNoise`). The unmasked sum is then read as centred residues
 * modulo 2^32 (noise may push a coordinate below 0); the plan keeps n·bound plus a 20σ tail below 2^31, so the sum
 * of the noisy integers is recovered exactly except with negligible probability (a wrap is post-processing).
 */
import { SCORE_SCALE } from '../../governance/fairness/layout.ts';
import { TesseraError } from '../../protocol/errors.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import { discreteGaussianSampler } from '../dp/discrete-gaussian.ts';
import { BASELINE_BLOCK, evaluationNoisePlan, MAX_EXAMPLE_BRIER, MAX_EXAMPLE_LOSS, type EvaluationLayout, type EvaluationNoisePlan } from '../dp/evaluation-noise.ts';
import type { RandomSource } from '../random.ts';
import { decodeIntegerSum, encodeIntegerInput, integerSumParams, type IntegerSumParams } from './integer-sum.ts';
import { planSecAggGraph } from './plan.ts';

/** examples, correct, loss sum (milli), Brier sum (milli): the coordinates before the label and fairness counts. */
export const EVALUATION_HEADER = 4;

/**
 * Coordinates before the fairness counts: the header, one label count per class of the job's model, the
 * `importance` permutation-importance counts (importanceLength of the round: 0 unless wanted), then the baseline
 * block when the release carries it (`releaseCarriesBaseline`).
 */
export function evaluationPrefixLength(job: Pick<JobSpec, 'model'>, importance = 0, baseline = false): number {
  return EVALUATION_HEADER + job.model.classes + importance + (baseline ? BASELINE_BLOCK : 0);
}

/**
 * Whether one evaluation release carries the previous-production baseline block: when the task carries that
 * version's weights (`baselineSent`), and ALWAYS for a job with evaluation noise — its Δ₂ and dimension, hence
 * the ε each client's policy recomputes before it accepts and the ε the ledger charges, are then fixed by the
 * spec alone (privacy/dp/evaluation-noise.ts); a client given no baseline sends zeros there. One rule for both
 * sides: the client reads `baselineSent` off the task, the coordinator off what it sends.
 */
export function releaseCarriesBaseline(job: Pick<JobSpec, 'evaluation'>, baselineSent: boolean): boolean {
  return baselineSent || job.evaluation.noise !== undefined;
}

/** The previous production version's sums on the same rows as the candidate's (examples, labels shared). */
export interface BaselineSums {
  readonly correct: number;
  readonly lossSum: number;
  readonly brierSum: number;
}

/**
 * What a client's evaluation of one task yields, before it is sent: the plain evaluate-result carries these as
 * fields, the secure path as the vector `evaluationInput` builds — one definition for both.
 */
export interface EvaluationSums {
  readonly examples: number;
  readonly correct: number;
  readonly lossSum: number;
  readonly brierSum: number;
  readonly labelCounts: readonly number[];
  readonly baseline?: BaselineSums | undefined;
}
/** The client's vector carries its loss sum in thousandths; the plan may coarsen it (lossScale). */
export const LOSS_SCALE = 1000;
/** ⌈1000 · −ln(1e−7)⌉: that loss in thousandths. */
export const MAX_EXAMPLE_LOSS_MILLI = Math.ceil(MAX_EXAMPLE_LOSS * LOSS_SCALE);
const UINT32_MAX = 2 ** 32 - 1;

export interface EvaluationSumPlan {
  readonly clients: number;
  readonly k: number;
  readonly t: number;
  readonly complete: boolean;
  readonly consistencyCheck: boolean;
  readonly dim: number;
  readonly fairnessCells: number;
  /** Length of the permutation-importance counts (0 when the round carries none). */
  readonly importance: number;
  /** One label count per class of the model. */
  readonly classes: number;
  /** The release carries the baseline block (releaseCarriesBaseline). */
  readonly baseline: boolean;
  /** Integer units per unit of loss in the masked vector: 1000, or 100, 10, 1 when n clients' sums need it (1/L_max with noise). */
  readonly lossScale: number;
  /** The same for the Brier sum (1/2 with noise). */
  readonly brierScale: number;
  readonly integer: IntegerSumParams;
  /** W: the per-client example bound of this plan. */
  readonly maxExamples: number;
  /** The evaluation noise every client adds (evaluation.noise), or null: the sum is exact. */
  readonly noise: EvaluationNoisePlan | null;
}

/**
 * The secure evaluation plan for `clients` evaluating clients, a fairness count vector of `fairnessCells`,
 * `importance` permutation-importance counts (importanceLength(job, round)), and whether the task carries the
 * previous production version's weights (`baselineSent`; the block's presence: releaseCarriesBaseline).
 */
export function evaluationPlanForJob(job: JobSpec, clients: number, fairnessCells: number, importance = 0, baselineSent = false): EvaluationSumPlan {
  const classes = job.model.classes;
  const { k, t, complete } = planSecAggGraph(job.secagg, clients);
  const noisy = job.evaluation.noise;
  const W = noisy === undefined ? job.secagg.maxExamplesPerClient : noisy.maxExamplesPerClient;
  const layout = evaluationLayoutOf(job, importance, fairnessCells, baselineSent);
  const block = layout.baseline ? 1 : 0;
  const cellBound = layout.fairnessCellBound;
  const noise = evaluationNoisePlan(job, layout);
  const lossBound = (scale: number): number => W * Math.ceil(MAX_EXAMPLE_LOSS * scale);
  const brierBound = (scale: number): number => W * MAX_EXAMPLE_BRIER * scale;
  // The finest unit whose n-fold sum cannot wrap (integerSumParams refuses when not even units fit). With noise,
  // one unit is one example's bound: the header is [n, c, ℓ, b], each ≤ W (evaluation-noise.ts).
  const finest = (bound: (scale: number) => number): number => [1000, 100, 10].find((scale) => clients * bound(scale) <= UINT32_MAX) ?? 1;
  const lossScale = noise === null ? finest(lossBound) : 1 / MAX_EXAMPLE_LOSS;
  const brierScale = noise === null ? finest(brierBound) : 1 / MAX_EXAMPLE_BRIER;
  const integer = integerSumParams({
    clients,
    segments: [
      { name: 'examples', length: 1, bound: W },
      { name: 'correct', length: 1, bound: W },
      { name: noise === null ? `lossSum (1/${lossScale})` : 'lossSum (units of L_max)', length: 1, bound: noise === null ? lossBound(lossScale) : W },
      { name: noise === null ? `brierSum (1/${brierScale})` : 'brierSum (units of 2)', length: 1, bound: noise === null ? brierBound(brierScale) : W },
      { name: 'labelCounts', length: classes, bound: W },
      // [n, correct, correct per shuffled column]: counts of held-out rows, so each ≤ W like `correct`.
      { name: 'importanceCounts', length: importance, bound: W },
      // The baseline on the same rows: the candidate's bounds and units.
      { name: 'baselineCorrect', length: block, bound: W },
      { name: 'baselineLossSum', length: block, bound: noise === null ? lossBound(lossScale) : W },
      { name: 'baselineBrierSum', length: block, bound: noise === null ? brierBound(brierScale) : W },
      { name: 'fairnessCounts', length: fairnessCells, bound: cellBound },
    ],
  });
  if (noise !== null) {
    // Centred residues need |Σ| < 2^31: the largest exact sum plus 20 standard deviations of the summed noise.
    const tail = 20 * Math.sqrt(clients * noise.clientVariance);
    const largest = Math.max(...integer.segments.filter((g) => g.length > 0).map((g) => g.bound)) * clients;
    if (largest + tail >= 2 ** 31) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `the noised evaluation sum of ${clients} clients can leave ±2^31 (largest sum ${largest} + 20σ ${tail.toFixed(0)}): lower evaluation.noise.maxExamplesPerClient`);
  }
  return { clients, k, t, complete, consistencyCheck: job.secagg.consistencyCheck, dim: integer.dim, fairnessCells, importance, classes, baseline: layout.baseline, lossScale, brierScale, integer, maxExamples: W, noise };
}

/**
 * The layout of one evaluation release (its length fixes Δ₂; privacy/dp/evaluation-noise.ts), given the round's
 * importance length (importanceLength), the job's fairness cell count and whether the task carries a baseline
 * (with evaluation noise the block is always there, so planners that cannot know pass nothing): W is the noise
 * section's example cap.
 */
export function evaluationLayoutOf(job: JobSpec, importance: number, fairnessCells: number, baselineSent = false): EvaluationLayout {
  const W = job.evaluation.noise?.maxExamplesPerClient ?? job.secagg.maxExamplesPerClient;
  return { classes: job.model.classes, importance, baseline: releaseCarriesBaseline(job, baselineSent), fairnessCells, fairnessCellBound: job.fairness.calibrationBins > 0 ? SCORE_SCALE * W : W };
}

/** The masked input for `plan`: the vector from `evaluationInput`, its loss coarsened to the plan's unit, checked. */
export function encodeEvaluationInput(vector: Uint32Array, plan: EvaluationSumPlan): Uint32Array {
  const v = Uint32Array.from(vector);
  // Rounded to the nearest unit: with noise a unit is L_max (or 2) and n·L_max ≥ Σ loss keeps round(Σ loss / L_max) ≤ n.
  const coarsen = (i: number, scale: number): void => {
    if (scale !== LOSS_SCALE && v.length > i) v[i] = Math.round(((v[i] as number) * scale) / LOSS_SCALE);
  };
  coarsen(2, plan.lossScale);
  coarsen(3, plan.brierScale);
  if (plan.baseline) {
    const at = EVALUATION_HEADER + plan.classes + plan.importance;
    coarsen(at + 1, plan.lossScale);
    coarsen(at + 2, plan.brierScale);
  }
  return encodeIntegerInput(v, plan.integer);
}

/**
 * A client's evaluation result as the integer vector it feeds to secure aggregation. `carriesBaseline`
 * (releaseCarriesBaseline) places the baseline block — zeros when the task brought no baseline to evaluate.
 */
export function evaluationInput(r: EvaluationSums & { importanceCounts?: Uint32Array | undefined; fairnessCounts?: Uint32Array | undefined }, carriesBaseline = r.baseline !== undefined): Uint32Array {
  const finite = (x: number, what: string): number => {
    if (!Number.isFinite(x)) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `the evaluation ${what} is ${x}, not a finite number`);
    return Math.max(0, Math.round(x * LOSS_SCALE));
  };
  const counts = r.fairnessCounts ?? new Uint32Array(0);
  const importance = r.importanceCounts ?? new Uint32Array(0);
  const labelsEnd = EVALUATION_HEADER + r.labelCounts.length;
  const baselineAt = labelsEnd + importance.length;
  const prefix = baselineAt + (carriesBaseline ? BASELINE_BLOCK : 0);
  const out = new Uint32Array(prefix + counts.length);
  out[0] = r.examples;
  out[1] = r.correct;
  out[2] = finite(r.lossSum, 'loss sum');
  out[3] = finite(r.brierSum, 'Brier sum');
  out.set(r.labelCounts, EVALUATION_HEADER);
  out.set(importance, labelsEnd);
  if (carriesBaseline && r.baseline !== undefined) out.set([r.baseline.correct, finite(r.baseline.lossSum, 'baseline loss sum'), finite(r.baseline.brierSum, 'baseline Brier sum')], baselineAt);
  out.set(counts, prefix);
  return out;
}

/**
 * Adds this client's share of the evaluation noise to its encoded (bound-checked) vector: N_Z(0, σ²) on every
 * coordinate from the exact sampler (Canonne, Kamath & Steinke 2020; privacy/dp/discrete-gaussian.ts), reduced
 * modulo 2^32 like the masks. `rng` must be a CSPRNG outside simulations that say they are not private.
 */
export function addEvaluationNoise(encoded: Uint32Array, plan: EvaluationSumPlan, rng: RandomSource): Uint32Array {
  if (plan.noise === null) return encoded;
  if (encoded.length !== plan.dim) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `the evaluation vector has ${encoded.length} coordinates, the plan ${plan.dim}`);
  const sampler = discreteGaussianSampler(plan.noise.clientVariance);
  const out = new Uint32Array(encoded.length);
  for (let i = 0; i < encoded.length; i++) out[i] = ((((encoded[i] as number) + sampler.sample(rng)) % 2 ** 32) + 2 ** 32) % 2 ** 32;
  return out;
}

export interface DecodedEvaluationSum {
  readonly examples: number;
  readonly correct: number;
  readonly lossSum: number;
  readonly brierSum: number;
  readonly labelCounts: number[];
  readonly importanceCounts?: number[];
  /** The baseline's sums on the same rows (plan.baseline); noisy and unclamped with noise, like the rest. */
  readonly baseline?: BaselineSums;
  /** Exact counts; with noise the released counts clamped at 0 and rounded (post-processing). */
  readonly fairnessCounts?: Uint32Array;
}

/**
 * The summed evaluation from the unmasked vector of `survivors` clients: exact integers without noise (loss and
 * Brier in the plan's units); with noise the released NOISY sums, read as centred residues modulo 2^32 and not yet
 * clamped (they may be negative or inconsistent: the caller clamps, as post-processing).
 */
export function decodeEvaluationSum(sum: Uint32Array, plan: EvaluationSumPlan, survivors: number): DecodedEvaluationSum {
  const exact = decodeIntegerSum(sum, plan.integer, survivors);
  const v: ArrayLike<number> = plan.noise === null ? exact : Float64Array.from(exact, (x) => (x >= 2 ** 31 ? x - 2 ** 32 : x));
  const slice = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => v[from + i] as number);
  const labelsEnd = EVALUATION_HEADER + plan.classes;
  const baselineAt = labelsEnd + plan.importance;
  const prefix = baselineAt + (plan.baseline ? BASELINE_BLOCK : 0);
  const out = {
    examples: v[0] as number,
    correct: v[1] as number,
    lossSum: (v[2] as number) / plan.lossScale,
    brierSum: (v[3] as number) / plan.brierScale,
    labelCounts: slice(EVALUATION_HEADER, labelsEnd),
    ...(plan.importance > 0 ? { importanceCounts: slice(labelsEnd, baselineAt) } : {}),
    ...(plan.baseline ? { baseline: { correct: v[baselineAt] as number, lossSum: (v[baselineAt + 1] as number) / plan.lossScale, brierSum: (v[baselineAt + 2] as number) / plan.brierScale } } : {}),
  };
  if (plan.fairnessCells === 0) return out;
  return { ...out, fairnessCounts: plan.noise === null ? exact.slice(prefix) : Uint32Array.from(slice(prefix, plan.dim), (x) => Math.max(0, Math.round(x))) };
}
