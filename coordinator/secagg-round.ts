/**
 * The training phase of one round under secure aggregation (SecAgg+: Bonawitz et al., CCS 2017, over the
 * neighbour graph of Bell et al., CCS 2020), behind the same `TrainingProtocol` type as plain-round.ts.
 *
 * Each selected client gets its TrainTask followed by its `secagg.setup`; it trains, masks its quantised update
 * and answers the task with its first stage message (the signed key advertisement) — or a decline; the stages
 * run in `runSecAggExchange` (secagg-exchange.ts, shared with the secure evaluation). The coordinator ends with the unmasked integer sum of the survivors' inputs
 * only; `decodeSecAggSum` turns it into the Aggregate the strategy applies. Below the threshold t the server
 * aborts before any share is revealed and the round reports no participants (the job loop retries or fails).
 */
import { randomUUID } from 'node:crypto';
import { TesseraError } from '../protocol/errors.ts';
import { encodeFloat32 } from '../protocol/tensor.ts';
import { cryptoRandom, type RandomSource } from '../privacy/random.ts';
import type { ResolveIdentity } from '../privacy/secagg/identity-directory.ts';
import { planForJob } from '../privacy/secagg/job-plan.ts';
import { secAggRoundId } from '../privacy/secagg/round-id.ts';
import type { SecAggPlan } from '../privacy/secagg/plan.ts';
import { decodeSecAggExtensions, decodeSecAggSum, decodeUniformSum } from '../privacy/secagg/plan.ts';
import { SecAggServer } from '../privacy/secagg/server.ts';
import type { ContractCheckSummary } from '../protocol/data-check.ts';
import type { ConnectedClient } from './federation.ts';
import { jobHashOf, runSecAggExchange } from './secagg-exchange.ts';
import type { TrainingContext, TrainingOutcome, TrainingProtocol } from './plain-round.ts';
import type { ExcludedClient } from './round-records.ts';
import type { Aggregate } from './strategy.ts';

/** What a secure round revealed to the coordinator, for reports and tests: the sum and who is in it. */
export interface SecAggRoundReport {
  readonly round: number;
  readonly plan: SecAggPlan;
  /** The unmasked Σ of the survivors' quantised inputs (mod 2^32); absent when the round aborted. */
  readonly sum?: Uint32Array;
  readonly survivors: readonly string[];
  readonly abort?: { readonly code: string; readonly reason: string };
  readonly serverUnmaskMs: number;
}

export interface SecAggProtocolOptions {
  /** The coordinator's own copy of the identity roster (never sent to clients). */
  readonly resolveIdentity: ResolveIdentity;
  /** Graph seed source: a CSPRNG (an honest-but-curious coordinator draws it at random). */
  readonly rng?: RandomSource;
  /** How often to look for clients that disconnected mid-stage. */
  readonly pollMs?: number;
  readonly onReport?: (report: SecAggRoundReport) => void;
}

export const SECAGG_PROTOCOL_NAME = 'secagg+';

export function secAggTrainingProtocol(options: SecAggProtocolOptions): TrainingProtocol {
  const rng = options.rng ?? cryptoRandom();
  return { name: SECAGG_PROTOCOL_NAME, run: (ctx) => runSecureRound(ctx, options, rng) };
}

function emptyOutcome(dim: number, dropped: ExcludedClient[], declined: ExcludedClient[], declinedChecks: ContractCheckSummary[]): TrainingOutcome {
  return { aggregate: { sum: new Float64Array(dim), totalWeight: 0, participants: 0 }, participants: [], dropped, declined, trainLoss: null, slowestTrainMs: 0, totalTrainMs: 0, clippedFraction: null, declinedChecks, extensions: {} };
}

async function runSecureRound(ctx: TrainingContext, options: SecAggProtocolOptions, rng: RandomSource): Promise<TrainingOutcome> {
  const { spec, round, federation, jobId } = ctx;
  const log = ctx.logger.child({ protocol: SECAGG_PROTOCOL_NAME });
  const ids = ctx.selected.map((c) => c.clientId);
  const exclude = (c: ConnectedClient, code: string, reason: string): ExcludedClient => ({ clientId: c.clientId, orgId: c.orgId, code, reason });
  let plan: SecAggPlan;
  let server: SecAggServer;
  // One nonce per secure round: client i's task id is `${nonce}.${i}`, from which it derives the round id.
  const nonce = randomUUID();
  const roundId = secAggRoundId({ jobId, round, kind: 'train', nonce });
  try {
    // The round's secure extensions ride in the same masked vector, after the update.
    plan = planForJob(spec, ids.length, ctx.global.length, ctx.extensions ?? [], { jobId, round });
    server = new SecAggServer({ roundId, clients: ids, k: plan.k, t: plan.t, dim: plan.dim, consistencyCheck: plan.consistencyCheck, resolveIdentity: options.resolveIdentity, rng, jobHash: jobHashOf(spec) });
  } catch (e) {
    const err = e instanceof TesseraError ? e : new TesseraError('TESSERA_ERR_SECAGG_PARAMS', String(e));
    log.warn({ code: err.code, selected: ids.length }, `secure aggregation cannot run this round: ${err.message}`);
    return emptyOutcome(ctx.global.length, ctx.selected.map((c) => exclude(c, err.code, err.message)), [], []);
  }
  log.info({ clients: ids.length, k: plan.k, t: plan.t, dim: plan.dim, complete: plan.complete }, 'secure aggregation round started');
  const weights = encodeFloat32(ctx.global);
  const { gone, declined, declinedChecks } = await runSecAggExchange({
    jobId,
    round,
    spec,
    federation,
    selected: ctx.selected,
    logger: log,
    server,
    roundId,
    nonce,
    task: (taskId) => ({ type: 'train', jobId, round, taskId, job: spec, weights, deadlineMs: spec.roundDeadlineMs }),
    ...(options.pollMs !== undefined ? { pollMs: options.pollMs } : {}),
    ...(ctx.beforeRelease ? { beforeRelease: ctx.beforeRelease } : {}),
  });
  return conclude({ ctx, plan, server, gone, declined, declinedChecks, onReport: options.onReport, log });
}

function conclude(o: {
  ctx: TrainingContext;
  plan: SecAggPlan;
  server: SecAggServer;
  gone: Map<string, { code: string; reason: string }>;
  declined: Map<string, ExcludedClient>;
  declinedChecks: ContractCheckSummary[];
  onReport: SecAggProtocolOptions['onReport'];
  log: TrainingContext['logger'];
}): TrainingOutcome {
  const { ctx, plan, server, gone, declined } = o;
  const excluded = (c: ConnectedClient, fallback: { code: string; reason: string }): ExcludedClient => {
    const g = gone.get(c.clientId) ?? fallback;
    return { clientId: c.clientId, orgId: c.orgId, code: g.code, reason: g.reason };
  };
  if (server.stage === 'aborted') {
    const err = server.error ?? new TesseraError('TESSERA_ERR_SECAGG_ABORT', 'secure aggregation aborted');
    o.log.warn({ code: err.code, gone: gone.size, t: plan.t }, `secure aggregation aborted; nothing was unmasked: ${err.message}`);
    o.onReport?.({ round: ctx.round, plan, survivors: [], abort: { code: err.code, reason: err.message }, serverUnmaskMs: 0 });
    const dropped = ctx.selected.filter((c) => !declined.has(c.clientId)).map((c) => excluded(c, { code: err.code, reason: err.message }));
    return emptyOutcome(ctx.global.length, dropped, [...declined.values()], o.declinedChecks);
  }
  const result = server.result();
  const survivors = new Set(result.survivors);
  const participants = ctx.selected.filter((c) => survivors.has(c.clientId));
  const dropped = ctx.selected
    .filter((c) => !survivors.has(c.clientId) && !declined.has(c.clientId))
    .map((c) => excluded(c, { code: 'TESSERA_ERR_SECAGG_ABORT', reason: 'left out of the secure sum (too few live neighbours)' }));
  o.onReport?.({ round: ctx.round, plan, sum: result.sum, survivors: result.survivors, serverUnmaskMs: server.stats.unmaskMs });
  o.log.info({ survivors: participants.length, dropped: dropped.length, declined: declined.size, unmaskMs: Math.round(server.stats.unmaskMs) }, 'secure aggregation unmasked the sum');
  return {
    aggregate: toAggregate(plan, result.sum, participants.length),
    participants,
    dropped,
    declined: [...declined.values()],
    // Per-client losses, training times and clipping flags would leak individual facts: not collected.
    trainLoss: null,
    slowestTrainMs: 0,
    totalTrainMs: 0,
    clippedFraction: null,
    declinedChecks: o.declinedChecks,
    // Only the sums of the survivors' extensions: every survivor's vector is in the masked sum by construction.
    extensions: decodeSecAggExtensions(plan, result.sum, participants.length),
  };
}

/**
 * The strategy's Aggregate from the unmasked integer sum. Example weighting: Σ n_u Δ_u = mean · Σ n_u with the
 * (capped) counts summed securely (privacy/secagg/weighting.ts). Uniform: the plain dequantised sum, weight 1
 * per survivor — what the DP estimator needs.
 */
export function toAggregate(plan: SecAggPlan, sum: Uint32Array, survivors: number): Aggregate {
  if (plan.weighted !== undefined) {
    const { mean, totalExamples } = decodeSecAggSum(plan, sum, survivors);
    const total = totalExamples ?? 0;
    for (let i = 0; i < mean.length; i++) mean[i] = (mean[i] as number) * total;
    return { sum: mean, totalWeight: total, participants: survivors };
  }
  return { sum: decodeUniformSum(plan, sum, survivors), totalWeight: survivors, participants: survivors };
}
