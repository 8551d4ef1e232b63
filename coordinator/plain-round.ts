/**
 * The training phase of one round without secure aggregation: send each selected client the global weights,
 * collect updates until all have answered or the deadline passes, and sum them weighted by example count.
 * Secure aggregation replaces this phase behind the same `TrainingProtocol` type (coordinator/secagg-round.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { TesseraError } from '../protocol/errors.ts';
import type { ContractCheckSummary } from '../protocol/data-check.ts';
import type { JobSpec } from '../protocol/job/spec.ts';
import type { UpdateResult } from '../protocol/messages.ts';
import { decodeFloat32, encodeFloat32 } from '../protocol/tensor.ts';
import type { ConnectedClient, Federation } from './federation.ts';
import type { ExcludedClient } from './round-records.ts';
import { accumulate, type Aggregate } from './strategy.ts';
import type { RobustAggregator } from './robust-aggregators.ts';
import { checkPlainUpdate, maxPlainUpdateNorm } from './update-bounds.ts';
import { addExtensionValues, checkExtensionValues, type ExtensionKey, type ExtensionSums, type UpdateExtension } from '../privacy/secagg/extension.ts';

export interface TrainingContext {
  readonly jobId: string;
  /** The spec sent with this round's tasks (the job's, or a feature's per-round version: `JobHooks.taskSpec`). */
  readonly spec: JobSpec;
  readonly round: number;
  readonly selected: readonly ConnectedClient[];
  readonly global: Float32Array;
  readonly federation: Federation;
  readonly logger: Logger;
  /**
   * Called once, at the first moment the coordinator can compute the round's aggregate, with the clients whose
   * contributions it would hold: plain rounds before the updates are summed, secure rounds before the unmask
   * request (secagg-exchange.ts). The job loop charges the round here (issue 11 §3). If it throws, the protocol
   * releases nothing: the plain sum is not formed, the secure round aborts before any share is revealed.
   */
  readonly beforeRelease?: (participants: readonly ConnectedClient[]) => void;
  /** The round's secure extensions (privacy/secagg/extension.ts): summed here, inside the masked sum under SecAgg. None when absent. */
  readonly extensions?: readonly UpdateExtension[];
}

export interface TrainingOutcome {
  readonly aggregate: Aggregate;
  readonly participants: readonly ConnectedClient[];
  readonly dropped: readonly ExcludedClient[];
  readonly declined: readonly ExcludedClient[];
  /** Example-weighted mean of the clients' reported training losses. */
  readonly trainLoss: number | null;
  readonly slowestTrainMs: number;
  /** Sum of the participants' training times (in a one-process simulation they train one after another). */
  readonly totalTrainMs: number;
  /** Fraction of participants whose update was clipped (DP), when clients report it. */
  readonly clippedFraction: number | null;
  /** The data-contract summaries that came with contract declines (a decline is sent in the clear on both paths). */
  readonly declinedChecks: readonly ContractCheckSummary[];
  /**
   * The sums of the participants' secure extensions (the contract-check sums, the adaptive-clipping indicators),
   * each with how many participants it holds: added up here, unmasked as one sum under secure aggregation.
   */
  readonly extensions: ExtensionSums;
}

export interface TrainingProtocol {
  readonly name: string;
  run(ctx: TrainingContext): Promise<TrainingOutcome>;
}

/** How each participant's update is weighted in the sum: example counts for FedAvg, 1 under DP. */
export type UpdateWeighting = 'examples' | 'uniform';

/**
 * `robust`: a Byzantine-robust aggregator (robust-aggregators.ts) replaces the weighted sum; the strategy then
 * receives its estimate of the mean update with total weight 1. Only this path can offer one: it is the only one
 * where the coordinator holds the individual updates.
 */
export function plainTrainingProtocol(weighting: UpdateWeighting = 'examples', robust: RobustAggregator | null = null): TrainingProtocol {
  return {
    name: robust ? `plain+${robust.name}` : 'plain',
    async run(ctx) {
      const { spec, round, federation } = ctx;
      const weights = encodeFloat32(ctx.global);
      const replies = await Promise.allSettled(
        ctx.selected.map((c) =>
          federation.request(
            c.clientId,
            { type: 'train', jobId: ctx.jobId, round, taskId: randomUUID(), job: spec, weights, deadlineMs: spec.roundDeadlineMs },
            spec.roundDeadlineMs,
          ),
        ),
      );
      const sum = new Float64Array(ctx.global.length);
      const participants: ConnectedClient[] = [];
      const dropped: ExcludedClient[] = [];
      const declined: ExcludedClient[] = [];
      let totalWeight = 0;
      let lossSum = 0;
      let lossWeight = 0;
      let slowestTrainMs = 0;
      let totalTrainMs = 0;
      let clipped = 0;
      const declinedChecks: ContractCheckSummary[] = [];
      let clipReports = 0;
      const extensionSums = new Map<ExtensionKey, { values: Float64Array; reports: number }>();
      const accepted: Array<{ client: ConnectedClient; reply: UpdateResult; update: Float32Array }> = [];
      const maxNorm = maxPlainUpdateNorm(spec, ctx.global.length);
      replies.forEach((r, i) => {
        const c = ctx.selected[i] as ConnectedClient;
        if (r.status === 'rejected') {
          const e = r.reason instanceof TesseraError ? r.reason : new TesseraError('TESSERA_ERR_INTERNAL', String(r.reason));
          dropped.push({ clientId: c.clientId, orgId: c.orgId, code: e.code, reason: e.message });
          return;
        }
        const reply = r.value;
        if (reply.type === 'decline') {
          if (reply.reason.dataCheck) declinedChecks.push(reply.reason.dataCheck);
          declined.push({ clientId: c.clientId, orgId: c.orgId, code: reply.reason.code, reason: reply.reason.message, ...(reply.reason.counts ? { counts: reply.reason.counts } : {}) });
          return;
        }
        if (reply.type !== 'update') {
          dropped.push({ clientId: c.clientId, orgId: c.orgId, code: 'TESSERA_ERR_UNEXPECTED_MESSAGE', reason: `answered a plain training task with a ${reply.type} message` });
          return;
        }
        const update = decodeUpdate(reply, ctx.global.length, c, dropped, ctx.logger);
        if (!update) return;
        // A DP client omits its example count (client policy `disclose`): DP jobs weight uniformly anyway.
        if (weighting === 'examples' && reply.examples === undefined) {
          dropped.push({ clientId: c.clientId, orgId: c.orgId, code: 'TESSERA_ERR_MESSAGE_INVALID', reason: 'update without an example count in a round weighted by examples' });
          return;
        }
        try {
          // Limits before trust (issue 12): a proven client may still send a poisoned update.
          checkPlainUpdate({ update, examples: reply.examples, weighted: weighting === 'examples', declaredExamples: c.examples, maxNorm });
          // Extension values outside the job's layout or public ranges would corrupt the round's sums.
          for (const ext of ctx.extensions ?? []) {
            const v = reply.extensions?.[ext.key];
            if (v !== undefined) checkExtensionValues(ext, v);
          }
        } catch (e) {
          const err = e instanceof TesseraError ? e : new TesseraError('TESSERA_ERR_INTERNAL', String(e));
          ctx.logger.warn({ client: c.clientId, org: c.orgId, round, code: err.code }, `update refused: ${err.message}`);
          dropped.push({ clientId: c.clientId, orgId: c.orgId, code: err.code, reason: `update refused: ${err.message}` });
          return;
        }
        accepted.push({ client: c, reply, update });
      });
      // The release gate: charged (or refused) before the sum exists.
      let refused = false;
      if (robust && accepted.length < robust.minUpdates) {
        // Too few updates for the rule to be defined (Krum: n ≥ 2f + 3): nothing is released; the round is short.
        refused = true;
        ctx.logger.warn({ updates: accepted.length, needed: robust.minUpdates, aggregator: robust.name }, 'round not released: too few updates for the robust aggregator');
      }
      if (!refused) {
        try {
          ctx.beforeRelease?.(accepted.map((a) => a.client));
        } catch (e) {
          refused = true;
          const err = e instanceof TesseraError ? e : new TesseraError('TESSERA_ERR_INTERNAL', String(e));
          ctx.logger.warn({ code: err.code, updates: accepted.length }, `round not released: ${err.message}`);
        }
      }
      // Summed in client-id order, not arrival order: floating-point addition is not associative, and a seeded
      // simulation must reach bit-identical weights however the replies raced (issue 14 §1).
      accepted.sort((a, b) => (a.client.clientId < b.client.clientId ? -1 : a.client.clientId > b.client.clientId ? 1 : 0));
      for (const { client: c, reply, update } of refused ? [] : accepted) {
        const features = reply.features ?? {};
        const w = weighting === 'examples' ? (reply.examples ?? 0) : 1;
        accumulate(sum, update, w);
        totalWeight += w;
        participants.push(c);
        // Loss and time are diagnostics a DP client keeps to itself unless its policy discloses them.
        if (reply.trainLoss !== undefined && reply.examples !== undefined) {
          lossSum += reply.trainLoss * reply.examples;
          lossWeight += reply.examples;
        }
        if (reply.trainMillis !== undefined) {
          slowestTrainMs = Math.max(slowestTrainMs, reply.trainMillis);
          totalTrainMs += reply.trainMillis;
        }
        const dp = features.dp;
        if (dp?.clipped !== undefined) {
          clipReports++;
          if (dp.clipped) clipped++;
        }
        // The same vectors a secure round appends to its masked input; extensions outside the round's layout are ignored.
        for (const ext of ctx.extensions ?? []) {
          const v = reply.extensions?.[ext.key];
          if (v !== undefined) addExtensionValues(extensionSums, ext, v);
        }
      }
      const aggregate: Aggregate =
        robust && !refused && accepted.length > 0 ? { sum: robust.aggregate(accepted.map((a) => a.update)), totalWeight: 1, participants: participants.length } : { sum, totalWeight, participants: participants.length };
      return {
        aggregate,
        participants,
        dropped,
        declined,
        trainLoss: lossWeight > 0 ? lossSum / lossWeight : null,
        slowestTrainMs,
        totalTrainMs,
        clippedFraction: clipReports > 0 ? clipped / clipReports : null,
        declinedChecks,
        extensions: Object.fromEntries(extensionSums),
      };
    },
  };
}

function decodeUpdate(reply: UpdateResult, length: number, c: ConnectedClient, dropped: ExcludedClient[], logger: Logger): Float32Array | null {
  try {
    return decodeFloat32(reply.update, length);
  } catch (e) {
    const err = e instanceof TesseraError ? e : new TesseraError('TESSERA_ERR_MESSAGE_INVALID', String(e));
    logger.warn({ client: c.clientId, org: c.orgId, round: reply.round, code: err.code }, `update refused: ${err.message}`);
    dropped.push({ clientId: c.clientId, orgId: c.orgId, code: err.code, reason: `update refused: ${err.message}` });
    return null;
  }
}
