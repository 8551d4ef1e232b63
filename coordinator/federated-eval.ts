/**
 * Federated evaluation: each client evaluates the global model on its own held-out split and returns sums
 * (loss sum, number correct, examples), so the coordinator forms exact example-weighted means without
 * seeing any example. Clients that miss the deadline are left out of that evaluation. Fairness counts (integer
 * vectors of one fixed layout, governance/fairness/layout.ts) are summed element-wise the same way; a sum is
 * only formed when every answering client sent a vector of the same length (else `fairnessError` says why).
 *
 * Under secure aggregation (`secagg.enabled`) nothing travels in the clear: the job's `EvaluationProtocol`
 * (coordinator/secagg-evaluation.ts) runs a secure round in which each client's [examples, correct, loss,
 * ...fairness counts] is masked and the coordinator unmasks only their exact integer sum, delivered in the same
 * `FederatedEvaluation` shape. Without such a protocol a secure job's evaluation is skipped, never sent clear.
 *
 * The previous production version (`baseline`) travels in the SAME task and its [correct, loss, Brier] on the same
 * rows come back in the same release (privacy/secagg/evaluation-input.ts `EvaluationSums`): clients evaluate at most
 * once per (job, round), so a second evaluation for it would be declined — and would be a second release.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { JobSpec } from '../protocol/job/spec.ts';
import { decodeUint32, encodeFloat32 } from '../protocol/tensor.ts';
import { sumCounts } from '../governance/fairness/counts.ts';
import { TesseraError } from '../protocol/errors.ts';
import { importanceLength } from '../ml/explain/importance-for-job.ts';
import type { ConnectedClient, Federation } from './federation.ts';
import type { EvaluationNoisePlan } from '../privacy/dp/evaluation-noise.ts';
import type { BaselineSums } from '../privacy/secagg/evaluation-input.ts';
import type { EvaluationBaseline } from '../protocol/messages.ts';

export interface FederatedEvaluation {
  readonly loss: number;
  readonly accuracy: number;
  readonly examples: number;
  readonly clients: number;
  /**
   * Mean multi-class Brier score and the examples per true label, when every evaluating client sent them
   * (the lineage's calibration and majority-baseline evidence; absent otherwise, never partial).
   */
  readonly brier?: number;
  readonly labelCounts?: readonly number[];
  /**
   * Element-wise sum of the clients' fairness count vectors (when the job asks for fairness). Under secure
   * aggregation it is the unmasked sum (its modulus exceeds maxCellValue(layout, n·W): evaluation-input.ts).
   */
  readonly fairnessCounts?: Uint32Array;
  /** Why no sum was formed although some client sent counts (missing or mismatched vectors). */
  readonly fairnessError?: string;
  /**
   * Σ of the clients' permutation-importance counts [n, correct, correct per shuffled column] (the final
   * evaluation of a job with `evaluation.featureImportance`; ml/explain/importance-for-job.ts). Only when every
   * evaluating client sent a vector of the job's length — never partial.
   */
  readonly importanceCounts?: readonly number[];
  /**
   * The baseline the task carried, on the same rows (examples and label counts shared): only when every evaluating
   * client returned its sums — never partial. Noisy estimates, clamped like the rest, when `noise` is present.
   */
  readonly baseline?: EvaluatedBaseline;
  /**
   * Present when the sums carry evaluation noise (evaluation.noise): every figure above is a NOISY estimate,
   * clamped to its valid range after release (post-processing); `std` is the noise std on each summed count.
   */
  readonly noise?: EvaluationNoiseReport;
}

/** The previous production version's figures in one evaluation (lineage `performance.previousProduction`). */
export interface EvaluatedBaseline {
  readonly accuracy: number;
  readonly loss: number;
  readonly brier: number;
}

/** What a noised evaluation's figures are (round records and reports say so). */
export interface EvaluationNoiseReport {
  readonly noiseMultiplier: number;
  /** Std of the noise on each coordinate of the released sum (√survivors · σ per client, ≥ z·Δ₂). */
  readonly std: number;
  readonly l2Sensitivity: number;
  readonly maxExamplesPerClient: number;
}

export interface EvaluationContext {
  readonly federation: Federation;
  readonly clients: readonly ConnectedClient[];
  readonly jobId: string;
  readonly spec: JobSpec;
  readonly round: number;
  readonly weights: Float32Array;
  /** The previous production version (same architecture) to evaluate beside `weights` in the same task, if any. */
  readonly baseline?: { readonly version: string; readonly weights: Float32Array } | null | undefined;
  readonly logger?: Logger | undefined;
  /**
   * The evaluation's release gate: called with the clients whose vectors the sum would hold, before the unmask
   * request, with the noise they added (null: exact sums). The DP feature charges a noised release here; a throw
   * releases nothing.
   */
  readonly beforeRelease?: ((participants: readonly ConnectedClient[], noise: EvaluationNoisePlan | null) => void) | undefined;
}

/** Replaces the request/response evaluation (secure aggregation): same inputs, same result shape. */
export interface EvaluationProtocol {
  readonly name: string;
  run(ctx: EvaluationContext): Promise<FederatedEvaluation | null>;
}

export async function federatedEvaluate(options: EvaluationContext & { protocol?: EvaluationProtocol | undefined }): Promise<FederatedEvaluation | null> {
  const { federation, spec } = options;
  if (options.protocol !== undefined) return options.protocol.run(options);
  if (spec.secagg.enabled) {
    options.logger?.warn({ round: options.round, code: 'TESSERA_ERR_SECAGG_PARAMS' }, 'secure aggregation is on but no secure evaluation protocol is configured: federated evaluation skipped (results never travel in the clear)');
    return null;
  }
  if (spec.evaluation.noise !== undefined) {
    // The noise is added inside the secure sum: a plain evaluation would send the exact figures it was meant to hide.
    options.logger?.warn({ round: options.round, code: 'TESSERA_ERR_DP_CONFIG' }, 'evaluation.noise needs secure aggregation: federated evaluation skipped (exact figures are never collected in its place)');
    return null;
  }
  const weights = encodeFloat32(options.weights);
  const baseline = evaluationBaselineOnWire(options.baseline);
  const replies = await Promise.allSettled(
    options.clients.map((c) =>
      federation.request(c.clientId, { type: 'evaluate', jobId: options.jobId, round: options.round, taskId: randomUUID(), job: spec, weights, deadlineMs: spec.roundDeadlineMs, ...(baseline ? { baseline } : {}) }, spec.roundDeadlineMs),
    ),
  );
  let lossSum = 0;
  let correct = 0;
  let examples = 0;
  let clients = 0;
  const counts: Uint32Array[] = [];
  const performance: Array<{ brierSum: number; labelCounts: readonly number[] }> = [];
  const importance: Array<readonly number[]> = [];
  const baselines: BaselineSums[] = [];
  for (const r of replies) {
    if (r.status !== 'fulfilled' || r.value.type !== 'evaluate-result') continue;
    lossSum += r.value.lossSum;
    correct += r.value.correct;
    examples += r.value.examples;
    clients++;
    if (r.value.fairnessCounts) counts.push(decodeUint32(r.value.fairnessCounts));
    if (r.value.brierSum !== undefined && r.value.labelCounts !== undefined) performance.push({ brierSum: r.value.brierSum, labelCounts: r.value.labelCounts });
    if (r.value.importanceCounts !== undefined) importance.push(r.value.importanceCounts);
    if (r.value.baseline !== undefined) baselines.push(r.value.baseline);
  }
  if (examples === 0) return null;
  return {
    loss: lossSum / examples,
    accuracy: correct / examples,
    examples,
    clients,
    ...summedPerformance(performance, clients, examples, spec.model.classes),
    ...summedCounts(counts, clients),
    ...summedImportance(importance, clients, importanceLength(spec, options.round)),
    ...(baseline !== undefined && baselines.length === clients ? { baseline: baselineFigures(baselines.reduce((a, b) => ({ correct: a.correct + b.correct, lossSum: a.lossSum + b.lossSum, brierSum: a.brierSum + b.brierSum })), examples) } : {}),
  };
}

/** The task's `baseline` section for a baseline to evaluate (protocol/messages.ts EvaluationBaseline). */
export function evaluationBaselineOnWire(baseline: EvaluationContext['baseline']): EvaluationBaseline | undefined {
  return baseline ? { version: baseline.version, weights: encodeFloat32(baseline.weights) } : undefined;
}

/** The baseline's figures from its summed sums over `examples` rows (Brier at most 2 per example). */
export function baselineFigures(sum: BaselineSums, examples: number): EvaluatedBaseline {
  return { accuracy: sum.correct / examples, loss: sum.lossSum / examples, brier: Math.min(2, sum.brierSum / examples) };
}

/**
 * The pooled Brier score and label counts: only when every answering client sent them, one count per class of
 * the job's model, adding up to the examples evaluated — else none (a baseline over part of the held-out data
 * would be compared with accuracy over all of it).
 */
function summedPerformance(parts: ReadonlyArray<{ brierSum: number; labelCounts: readonly number[] }>, clients: number, examples: number, classes: number): { brier?: number; labelCounts?: number[] } {
  if (parts.length !== clients || parts.some((p) => p.labelCounts.length !== classes)) return {};
  const labelCounts = Array.from({ length: classes }, (_, c) => parts.reduce((a, p) => a + (p.labelCounts[c] ?? 0), 0));
  if (labelCounts.reduce((a, b) => a + b, 0) !== examples) return {};
  return { brier: parts.reduce((a, p) => a + p.brierSum, 0) / examples, labelCounts };
}

/** Σ of the importance counts: only when the round carries them and every answering client sent `length` of them. */
function summedImportance(parts: ReadonlyArray<readonly number[]>, clients: number, length: number): { importanceCounts?: number[] } {
  if (length === 0 || parts.length !== clients || parts.some((p) => p.length !== length)) return {};
  return { importanceCounts: Array.from({ length }, (_, i) => parts.reduce((a, p) => a + (p[i] ?? 0), 0)) };
}

/**
 * The sum of the count vectors, refused (with the reason) when only some clients sent one or their lengths
 * differ — a partial or misaligned sum would be a report about a population nobody asked for.
 */
function summedCounts(counts: readonly Uint32Array[], clients: number): { fairnessCounts?: Uint32Array; fairnessError?: string } {
  if (counts.length === 0) return {};
  if (counts.length !== clients) return { fairnessError: `${clients - counts.length} of ${clients} evaluating clients sent no fairness counts` };
  try {
    return { fairnessCounts: sumCounts(counts) };
  } catch (e) {
    if (e instanceof TesseraError) return { fairnessError: e.message };
    throw e;
  }
}
