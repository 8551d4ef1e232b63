/**
 * Federated evaluation under secure aggregation: each client's evaluation result is one vector of
 * non-negative integers, [examples, correct, round(lossSum · 1000), ...fairnessCounts], summed exactly
 * (integer-sum.ts) so the coordinator learns the totals and never one client's figures. Both sides derive
 * the same plan from the job spec and the round size; a client checks the coordinator's (k, t, dim) against it.
 *
 * Per-client bounds (public): examples and correct ≤ W = secagg.maxExamplesPerClient (a client with a larger
 * held-out split refuses); the loss sum ≤ W · ⌈1000 · −ln(1e−7)⌉, since ml/train.ts `evaluate` clamps each
 * predicted probability at 1e−7; every fairness cell ≤ maxCellValue(layout, W) (governance/fairness/counts.ts:
 * SCORE_SCALE · W when calibration bins hold score sums, else W).
 */
import { SCORE_SCALE } from '../../governance/fairness/layout.ts';
import { TesseraError } from '../../protocol/errors.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import { decodeIntegerSum, integerSumParams, type IntegerSumParams } from './integer-sum.ts';
import { planSecAggGraph } from './plan.ts';

/** examples, correct, loss sum (milli): the coordinates before the fairness counts. */
export const EVALUATION_HEADER = 3;
/** The loss sum travels as an integer in thousandths (one rounding per client: ≤ 0.0005 each). */
export const LOSS_SCALE = 1000;
/** ⌈1000 · −ln(1e−7)⌉: the largest per-example cross-entropy `evaluate` can report, in thousandths. */
export const MAX_EXAMPLE_LOSS_MILLI = Math.ceil(-Math.log(1e-7) * LOSS_SCALE);

export interface EvaluationSumPlan {
  readonly clients: number;
  readonly k: number;
  readonly t: number;
  readonly complete: boolean;
  readonly consistencyCheck: boolean;
  readonly dim: number;
  readonly fairnessCells: number;
  readonly integer: IntegerSumParams;
}

/** The secure evaluation plan for `clients` evaluating clients and a fairness count vector of `fairnessCells`. */
export function evaluationPlanForJob(job: Pick<JobSpec, 'secagg' | 'fairness'>, clients: number, fairnessCells: number): EvaluationSumPlan {
  const W = job.secagg.maxExamplesPerClient;
  const { k, t, complete } = planSecAggGraph(job.secagg, clients);
  const cellBound = job.fairness.calibrationBins > 0 ? SCORE_SCALE * W : W;
  const integer = integerSumParams({
    clients,
    segments: [
      { name: 'examples', length: 1, bound: W },
      { name: 'correct', length: 1, bound: W },
      { name: 'lossSum (thousandths)', length: 1, bound: W * MAX_EXAMPLE_LOSS_MILLI },
      { name: 'fairnessCounts', length: fairnessCells, bound: cellBound },
    ],
  });
  return { clients, k, t, complete, consistencyCheck: job.secagg.consistencyCheck, dim: integer.dim, fairnessCells, integer };
}

/** A client's evaluation result as the integer vector it feeds to secure aggregation. */
export function evaluationInput(r: { examples: number; correct: number; lossSum: number; fairnessCounts?: Uint32Array | undefined }): Uint32Array {
  if (!Number.isFinite(r.lossSum)) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `the evaluation loss sum is ${r.lossSum}, not a finite number`);
  const counts = r.fairnessCounts ?? new Uint32Array(0);
  const out = new Uint32Array(EVALUATION_HEADER + counts.length);
  out[0] = r.examples;
  out[1] = r.correct;
  out[2] = Math.max(0, Math.round(r.lossSum * LOSS_SCALE));
  out.set(counts, EVALUATION_HEADER);
  return out;
}

/** The summed evaluation from the unmasked vector of `survivors` clients (exact integers; loss in thousandths). */
export function decodeEvaluationSum(sum: Uint32Array, plan: EvaluationSumPlan, survivors: number): { examples: number; correct: number; lossSum: number; fairnessCounts?: Uint32Array } {
  const v = decodeIntegerSum(sum, plan.integer, survivors);
  const out = { examples: v[0] as number, correct: v[1] as number, lossSum: (v[2] as number) / LOSS_SCALE };
  return plan.fairnessCells > 0 ? { ...out, fairnessCounts: v.slice(EVALUATION_HEADER) } : out;
}
