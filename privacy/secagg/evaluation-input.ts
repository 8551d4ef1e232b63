/**
 * Federated evaluation under secure aggregation: each client's evaluation result is one vector of
 * non-negative integers, [examples, correct, round(lossSum · 1000), round(brierSum · 1000), ...labelCounts
 * (one per class), ...importanceCounts, ...fairnessCounts], summed exactly (integer-sum.ts) so the coordinator learns the totals
 * and never one client's figures. Both sides derive the same plan from the job spec and the round size; a
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
 * evaluation of a job that asks for them, else length 0) each ≤ W.
 */
import { SCORE_SCALE } from '../../governance/fairness/layout.ts';
import { TesseraError } from '../../protocol/errors.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import { decodeIntegerSum, encodeIntegerInput, integerSumParams, type IntegerSumParams } from './integer-sum.ts';
import { planSecAggGraph } from './plan.ts';

/** examples, correct, loss sum (milli), Brier sum (milli): the coordinates before the label and fairness counts. */
export const EVALUATION_HEADER = 4;
/** The largest multi-class Brier score of one example: Σ_c (p_c − y_c)² ≤ 2 for a probability vector p. */
const MAX_EXAMPLE_BRIER = 2;

/**
 * Coordinates before the fairness counts: the header, one label count per class of the job's model, then the
 * `importance` permutation-importance counts (importanceLength of the round: 0 unless wanted).
 */
export function evaluationPrefixLength(job: Pick<JobSpec, 'model'>, importance = 0): number {
  return EVALUATION_HEADER + job.model.classes + importance;
}
/** The client's vector carries its loss sum in thousandths; the plan may coarsen it (lossScale). */
export const LOSS_SCALE = 1000;
/** −ln(1e−7): the largest per-example cross-entropy `evaluate` can report. */
const MAX_EXAMPLE_LOSS = -Math.log(1e-7);
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
  /** Integer units per unit of loss in the masked vector: 1000, or 100, 10, 1 when n clients' sums need it. */
  readonly lossScale: number;
  /** The same for the Brier sum. */
  readonly brierScale: number;
  readonly integer: IntegerSumParams;
}

/**
 * The secure evaluation plan for `clients` evaluating clients, a fairness count vector of `fairnessCells` and
 * `importance` permutation-importance counts (importanceLength(job, round)).
 */
export function evaluationPlanForJob(job: Pick<JobSpec, 'secagg' | 'fairness' | 'model'>, clients: number, fairnessCells: number, importance = 0): EvaluationSumPlan {
  const W = job.secagg.maxExamplesPerClient;
  const classes = job.model.classes;
  const { k, t, complete } = planSecAggGraph(job.secagg, clients);
  const cellBound = job.fairness.calibrationBins > 0 ? SCORE_SCALE * W : W;
  const lossBound = (scale: number): number => W * Math.ceil(MAX_EXAMPLE_LOSS * scale);
  const brierBound = (scale: number): number => W * MAX_EXAMPLE_BRIER * scale;
  // The finest unit whose n-fold sum cannot wrap (integerSumParams refuses when not even units fit).
  const finest = (bound: (scale: number) => number): number => [1000, 100, 10].find((scale) => clients * bound(scale) <= UINT32_MAX) ?? 1;
  const lossScale = finest(lossBound);
  const brierScale = finest(brierBound);
  const integer = integerSumParams({
    clients,
    segments: [
      { name: 'examples', length: 1, bound: W },
      { name: 'correct', length: 1, bound: W },
      { name: `lossSum (1/${lossScale})`, length: 1, bound: lossBound(lossScale) },
      { name: `brierSum (1/${brierScale})`, length: 1, bound: brierBound(brierScale) },
      { name: 'labelCounts', length: classes, bound: W },
      // [n, correct, correct per shuffled column]: counts of held-out rows, so each ≤ W like `correct`.
      { name: 'importanceCounts', length: importance, bound: W },
      { name: 'fairnessCounts', length: fairnessCells, bound: cellBound },
    ],
  });
  return { clients, k, t, complete, consistencyCheck: job.secagg.consistencyCheck, dim: integer.dim, fairnessCells, importance, classes, lossScale, brierScale, integer };
}

/** The masked input for `plan`: the vector from `evaluationInput`, its loss coarsened to the plan's unit, checked. */
export function encodeEvaluationInput(vector: Uint32Array, plan: EvaluationSumPlan): Uint32Array {
  const v = Uint32Array.from(vector);
  if (plan.lossScale !== LOSS_SCALE && v.length > 2) v[2] = Math.round(((v[2] as number) * plan.lossScale) / LOSS_SCALE);
  if (plan.brierScale !== LOSS_SCALE && v.length > 3) v[3] = Math.round(((v[3] as number) * plan.brierScale) / LOSS_SCALE);
  return encodeIntegerInput(v, plan.integer);
}

/** A client's evaluation result as the integer vector it feeds to secure aggregation. */
export function evaluationInput(r: { examples: number; correct: number; lossSum: number; brierSum: number; labelCounts: readonly number[]; importanceCounts?: Uint32Array | undefined; fairnessCounts?: Uint32Array | undefined }): Uint32Array {
  if (!Number.isFinite(r.lossSum)) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `the evaluation loss sum is ${r.lossSum}, not a finite number`);
  if (!Number.isFinite(r.brierSum)) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `the evaluation Brier sum is ${r.brierSum}, not a finite number`);
  const counts = r.fairnessCounts ?? new Uint32Array(0);
  const importance = r.importanceCounts ?? new Uint32Array(0);
  const prefix = EVALUATION_HEADER + r.labelCounts.length + importance.length;
  const out = new Uint32Array(prefix + counts.length);
  out[0] = r.examples;
  out[1] = r.correct;
  out[2] = Math.max(0, Math.round(r.lossSum * LOSS_SCALE));
  out[3] = Math.max(0, Math.round(r.brierSum * LOSS_SCALE));
  out.set(r.labelCounts, EVALUATION_HEADER);
  out.set(importance, EVALUATION_HEADER + r.labelCounts.length);
  out.set(counts, prefix);
  return out;
}

/** The summed evaluation from the unmasked vector of `survivors` clients (exact integers; loss and Brier in the plan's units). */
export function decodeEvaluationSum(
  sum: Uint32Array,
  plan: EvaluationSumPlan,
  survivors: number,
): { examples: number; correct: number; lossSum: number; brierSum: number; labelCounts: number[]; importanceCounts?: number[]; fairnessCounts?: Uint32Array } {
  const v = decodeIntegerSum(sum, plan.integer, survivors);
  const labelsEnd = EVALUATION_HEADER + plan.classes;
  const prefix = labelsEnd + plan.importance;
  const out = {
    examples: v[0] as number,
    correct: v[1] as number,
    lossSum: (v[2] as number) / plan.lossScale,
    brierSum: (v[3] as number) / plan.brierScale,
    labelCounts: [...v.slice(EVALUATION_HEADER, labelsEnd)],
    ...(plan.importance > 0 ? { importanceCounts: [...v.slice(labelsEnd, prefix)] } : {}),
  };
  return plan.fairnessCells > 0 ? { ...out, fairnessCounts: v.slice(prefix) } : out;
}
