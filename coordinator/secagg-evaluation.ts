/**
 * Federated evaluation under secure aggregation (issue 5: "counts are summed across clients — through secure
 * aggregation when it is on: they are integer vectors"). Each evaluating client answers its EvaluateTask with
 * its first SecAgg+ message; its secure input is the integer vector [examples, correct, round(1000·lossSum),
 * round(1000·brierSum), ...labelCounts, ...importance, ...baseline, ...fairnessCounts] (privacy/secagg/evaluation-
 * input.ts; the baseline block holds the previous production version's [correct, loss, Brier] on the same rows when
 * the task carries its weights, and always with evaluation noise), and the coordinator unmasks only the exact sum of
 * the survivors' vectors — never one client's counts, loss or accuracy. The result has the same
 * `FederatedEvaluation` shape as the plain path, so the fairness feature downstream is unchanged. With
 * `evaluation.noise` every client's vector carries its share of discrete Gaussian noise (privacy/dp/evaluation-
 * noise.ts): the release is charged at the gate (`ctx.beforeRelease`, the DP feature's ledger) before the unmask
 * request, and the figures are noisy estimates, clamped only after release and marked `noise`.
 *
 * The stage exchange is the training round's (secagg-exchange.ts), including its guard: fewer than
 * `minClients` masked inputs abort before any share is revealed; an aborted evaluation gives no figures.
 */
import { randomUUID } from 'node:crypto';
import { TesseraError } from '../protocol/errors.ts';
import { encodeFloat32 } from '../protocol/tensor.ts';
import { cryptoRandom, type RandomSource } from '../privacy/random.ts';
import { decodeEvaluationSum, evaluationPlanForJob, type DecodedEvaluationSum, type EvaluationSumPlan } from '../privacy/secagg/evaluation-input.ts';
import type { EvaluationNoisePlan } from '../privacy/dp/evaluation-noise.ts';
import type { ConnectedClient } from './federation.ts';
import type { ResolveIdentity } from '../privacy/secagg/identity-directory.ts';
import { importanceLength } from '../ml/explain/importance-for-job.ts';
import { secAggRoundId } from '../privacy/secagg/round-id.ts';
import { SecAggServer } from '../privacy/secagg/server.ts';
import { silentLogger } from '../lib/logger.ts';
import { fairnessLayoutForJob } from './features/fairness.ts';
import { baselineFigures, evaluationBaselineOnWire, type EvaluationContext, type EvaluationProtocol, type FederatedEvaluation } from './federated-eval.ts';
import { jobHashOf, runSecAggExchange } from './secagg-exchange.ts';

export const SECAGG_EVALUATION_NAME = 'secagg+ evaluation';

/** What a secure evaluation revealed to the coordinator (for round records and tests). */
export interface SecAggEvaluationReport {
  readonly round: number;
  readonly plan: Pick<EvaluationSumPlan, 'clients' | 'k' | 't' | 'dim'>;
  /** The unmasked Σ of the survivors' vectors; absent when the evaluation aborted. */
  readonly sum?: Uint32Array;
  readonly survivors: readonly string[];
  readonly abort?: { readonly code: string; readonly reason: string };
}

export interface SecAggEvaluationOptions {
  /** The coordinator's own copy of the identity roster (never sent to clients). */
  readonly resolveIdentity: ResolveIdentity;
  readonly rng?: RandomSource;
  readonly pollMs?: number;
  readonly onReport?: (report: SecAggEvaluationReport) => void;
}

export function secAggEvaluationProtocol(options: SecAggEvaluationOptions): EvaluationProtocol {
  const rng = options.rng ?? cryptoRandom();
  return { name: SECAGG_EVALUATION_NAME, run: (ctx) => runSecureEvaluation(ctx, options, rng) };
}

async function runSecureEvaluation(ctx: EvaluationContext, options: SecAggEvaluationOptions, rng: RandomSource): Promise<FederatedEvaluation | null> {
  const { spec, round, jobId } = ctx;
  const log = (ctx.logger ?? silentLogger()).child({ protocol: SECAGG_EVALUATION_NAME });
  const ids = ctx.clients.map((c) => c.clientId);
  const abort = (code: string, reason: string, plan?: EvaluationSumPlan): null => {
    log.warn({ round, code, clients: ids.length }, `secure federated evaluation gave no figures: ${reason}`);
    options.onReport?.({ round, plan: { clients: ids.length, k: plan?.k ?? 0, t: plan?.t ?? 0, dim: plan?.dim ?? 0 }, survivors: [], abort: { code, reason } });
    return null;
  };
  if (ids.length < spec.minClients) return abort('TESSERA_ERR_TOO_FEW_CLIENTS', `${ids.length} client(s) can evaluate; the job needs at least ${spec.minClients} in any unmasked sum`);
  let plan: EvaluationSumPlan;
  let server: SecAggServer;
  const nonce = randomUUID();
  const roundId = secAggRoundId({ jobId, round, kind: 'evaluate', nonce });
  try {
    // The same layout the clients derive; its length is the fairness part of the vector.
    const cells = spec.fairness.enabled ? fairnessLayoutForJob(spec).length : 0;
    // The importance counts only in the final evaluation of a job that asks for them (importance-for-job.ts).
    plan = evaluationPlanForJob(spec, ids.length, cells, importanceLength(spec, round), ctx.baseline != null);
    server = new SecAggServer({ roundId, clients: ids, k: plan.k, t: plan.t, dim: plan.dim, consistencyCheck: plan.consistencyCheck, resolveIdentity: options.resolveIdentity, rng, jobHash: jobHashOf(spec) });
  } catch (e) {
    const err = e instanceof TesseraError ? e : new TesseraError('TESSERA_ERR_SECAGG_PARAMS', String(e));
    return abort(err.code, err.message);
  }
  log.info({ round, clients: ids.length, k: plan.k, t: plan.t, dim: plan.dim }, 'secure federated evaluation started');
  const weights = encodeFloat32(ctx.weights);
  const baseline = evaluationBaselineOnWire(ctx.baseline);
  const { gone, declined } = await runSecAggExchange({
    jobId,
    round,
    spec,
    federation: ctx.federation,
    selected: ctx.clients,
    logger: log,
    server,
    roundId,
    nonce,
    task: (taskId) => ({ type: 'evaluate', jobId, round, taskId, job: spec, weights, deadlineMs: spec.roundDeadlineMs, ...(baseline ? { baseline } : {}) }),
    ...(ctx.beforeRelease ? { beforeRelease: (participants: readonly ConnectedClient[]) => ctx.beforeRelease?.(participants, plan.noise) } : {}),
    ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
  });
  if (server.stage === 'aborted') {
    const err = server.error ?? new TesseraError('TESSERA_ERR_SECAGG_ABORT', 'secure aggregation aborted');
    return abort(err.code, `${err.message} (${gone.size} gone, ${declined.size} declined)`, plan);
  }
  const result = server.result();
  const summed = decodeEvaluationSum(result.sum, plan, result.survivors.length);
  options.onReport?.({ round, plan: { clients: plan.clients, k: plan.k, t: plan.t, dim: plan.dim }, sum: result.sum, survivors: result.survivors });
  for (const d of declined.values()) log.warn({ round, client: d.clientId, code: d.code }, `client declined the secure evaluation: ${d.reason}`);
  log.info({ round, survivors: result.survivors.length, declined: declined.size, examples: summed.examples }, 'secure federated evaluation unmasked the sum');
  if (plan.noise !== null) return noisyEvaluation(summed, plan.noise, result.survivors.length, baseline !== undefined);
  if (summed.examples === 0) return null;
  return {
    loss: summed.lossSum / summed.examples,
    accuracy: summed.correct / summed.examples,
    examples: summed.examples,
    clients: result.survivors.length,
    // Exact sums of every survivor's label counts and Brier sum (the same vector; nothing partial is possible).
    ...(summed.labelCounts.reduce((a, b) => a + b, 0) === summed.examples ? { brier: summed.brierSum / summed.examples, labelCounts: summed.labelCounts } : {}),
    ...(summed.fairnessCounts !== undefined ? { fairnessCounts: summed.fairnessCounts } : {}),
    ...(summed.importanceCounts !== undefined ? { importanceCounts: summed.importanceCounts } : {}),
    ...(baseline !== undefined && summed.baseline !== undefined ? { baseline: baselineFigures(summed.baseline, summed.examples) } : {}),
  };
}

/**
 * The figures of a NOISED release (evaluation.noise): every sum carries discrete Gaussian noise, so the released
 * values may be negative or inconsistent (correct > examples). Clamping them into their valid ranges — counts ≥ 0
 * and integral, accuracy in [0, 1], loss ≥ 0, Brier in [0, 2] — happens only here, after the release: post-
 * processing, which costs no privacy (Dwork & Roth 2014, Prop. 2.1). The example count is floored at 1 so that
 * every ratio is defined.
 */
function noisyEvaluation(summed: DecodedEvaluationSum, noise: EvaluationNoisePlan, survivors: number, baselineSent: boolean): FederatedEvaluation {
  const count = (x: number): number => Math.max(0, Math.round(x));
  const examples = Math.max(1, count(summed.examples));
  const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));
  return {
    loss: Math.max(0, summed.lossSum) / examples,
    accuracy: clamp(summed.correct / examples, 0, 1),
    examples,
    clients: survivors,
    brier: clamp(summed.brierSum / examples, 0, 2),
    labelCounts: summed.labelCounts.map(count),
    ...(summed.fairnessCounts !== undefined ? { fairnessCounts: summed.fairnessCounts } : {}),
    ...(summed.importanceCounts !== undefined ? { importanceCounts: summed.importanceCounts.map(count) } : {}),
    // The baseline block is in every noised release; it is a figure only when a baseline was sent (else noise on 0).
    ...(baselineSent && summed.baseline !== undefined ? { baseline: { accuracy: clamp(summed.baseline.correct / examples, 0, 1), loss: Math.max(0, summed.baseline.lossSum) / examples, brier: clamp(summed.baseline.brierSum / examples, 0, 2) } } : {}),
    noise: { noiseMultiplier: noise.noiseMultiplier, std: Math.sqrt(survivors * noise.clientVariance), l2Sensitivity: noise.l2Sensitivity, maxExamplesPerClient: noise.maxExamples },
  };
}
