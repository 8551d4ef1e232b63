/**
 * The message exchange of one secure-aggregation round (SecAgg+: Bonawitz et al., CCS 2017, over the
 * neighbour graph of Bell et al., CCS 2020), shared by the secure training round (secagg-round.ts) and the
 * secure federated evaluation (secagg-evaluation.ts): only the task each client gets differs.
 *
 * Each selected client gets its task followed by its `secagg.setup`; it answers the task with its first stage
 * message (the signed key advertisement) — or a decline. The later stages travel as `secagg` envelopes routed
 * by `Federation.subscribeSecAgg`. Every stage closes when all the clients it waits for have answered or are
 * gone (disconnected, declined, refused), or at the round deadline (`SecAggServer.closeStage()`). The server
 * never reveals shares for a sum of fewer than `spec.minClients` masked inputs: it aborts first.
 */
import { jobSpecHash } from '../lib/job-spec-hash.ts';
import type { Logger } from 'pino';
import type { ContractCheckSummary } from '../protocol/data-check.ts';
import { TesseraError } from '../protocol/errors.ts';
import type { JobSpec } from '../protocol/job/spec.ts';
import type { EvaluateTask, TrainTask } from '../protocol/messages.ts';
import type { SecAggClientMessage } from '../protocol/secagg.ts';
import { hexToBytes } from '../privacy/secagg/crypto/bytes.ts';
import { secAggTaskId } from '../privacy/secagg/round-id.ts';
import type { SecAggServer, Outgoing } from '../privacy/secagg/server.ts';
import type { ConnectedClient, Federation } from './federation.ts';
import type { ExcludedClient } from './round-records.ts';
import { memoryProbe } from './memory-probe.ts';

export interface SecAggExchangeOptions {
  readonly jobId: string;
  readonly round: number;
  readonly spec: JobSpec;
  readonly federation: Federation;
  readonly selected: readonly ConnectedClient[];
  readonly logger: Logger;
  /** The planned server for exactly `selected` (in order). */
  readonly server: SecAggServer;
  readonly roundId: string;
  /** The round's nonce (privacy/secagg/round-id.ts): client i's task id is `${nonce}.${i}`. */
  readonly nonce: string;
  /** The task each client answers with its first stage message. */
  readonly task: (taskId: string) => TrainTask | EvaluateTask;
  /** How often to look for clients that disconnected mid-stage. */
  readonly pollMs?: number;
  /**
   * The release gate (TrainingContext.beforeRelease): called with the clients whose masked inputs the sum would
   * hold, just before the unmask request — the first moment the coordinator could compute the aggregate. If it
   * throws, the round aborts before any share is revealed.
   */
  readonly beforeRelease?: (participants: readonly ConnectedClient[]) => void;
}

export interface SecAggExchange {
  /** Clients that will not answer again this round, with why. */
  readonly gone: Map<string, { code: string; reason: string }>;
  readonly declined: Map<string, ExcludedClient>;
  /** The data-contract summaries that came with contract declines (in the clear, as on the plain path). */
  readonly declinedChecks: ContractCheckSummary[];
}

export async function runSecAggExchange(o: SecAggExchangeOptions): Promise<SecAggExchange> {
  const { spec, round, federation, jobId, server, roundId } = o;
  const log = o.logger;
  const byId = new Map(o.selected.map((c) => [c.clientId, c]));
  const ids = o.selected.map((c) => c.clientId);
  const exclude = (c: ConnectedClient, code: string, reason: string): ExcludedClient => ({ clientId: c.clientId, orgId: c.orgId, code, reason });
  const taskIds = new Map(ids.map((id, i) => [id, secAggTaskId(o.nonce, i)]));
  const gone = new Map<string, { code: string; reason: string }>();
  const declined = new Map<string, ExcludedClient>();
  const declinedChecks: ContractCheckSummary[] = [];
  const stageOf = (): string => server.stage;
  const finished = (): boolean => server.stage === 'done' || server.stage === 'aborted';
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((r) => (resolveDone = r));
  let stageTimer: NodeJS.Timeout | undefined;
  let timedStage = '';
  const probe = memoryProbe(log, `${roundId} round ${round}`);

  const markGone = (id: string, code: string, reason: string): void => {
    if (!gone.has(id)) gone.set(id, { code, reason });
  };
  /** Clients whose masked input the server accepted: the clients the unmasked sum would cover (U3). */
  const masked = new Set<string>();
  let gated = false;
  const dispatch = (out: readonly Outgoing[]): void => {
    // Never reveal shares for a sum of fewer than minClients inputs: such a round cannot commit, and under
    // distributed DP its sum would carry less noise than was accounted (m = max(minClients, t)).
    if (out.some((m) => m.message.type === 'secagg.unmask') && masked.size < spec.minClients) {
      log.warn({ masked: masked.size, minClients: spec.minClients }, 'too few masked inputs to unmask; aborting before any share is revealed');
      out = server.abort('TESSERA_ERR_SECAGG_ABORT', `only ${masked.size} masked input(s) arrived; the job needs at least ${spec.minClients} before anything is unmasked`);
    } else if (out.some((m) => m.message.type === 'secagg.unmask') && o.beforeRelease && !gated) {
      gated = true;
      try {
        o.beforeRelease([...masked].map((id) => byId.get(id)).filter((c): c is ConnectedClient => c !== undefined));
      } catch (e) {
        const err = e instanceof TesseraError ? e : new TesseraError('TESSERA_ERR_INTERNAL', String(e));
        log.warn({ code: err.code, masked: masked.size }, `release refused before the unmask request: ${err.message}`);
        out = server.abort('TESSERA_ERR_SECAGG_ABORT', `the coordinator refused to release this round (${err.code}); nothing is unmasked`);
      }
    }
    for (const m of out) {
      const sent = federation.send(m.to, { type: 'secagg', jobId, round, taskId: taskIds.get(m.to) as string, message: m.message });
      if (!sent) markGone(m.to, 'TESSERA_ERR_TIMEOUT', `disconnected before the ${stageOf()} stage`);
    }
    probe.mark(stageOf());
  };
  /** Closes stages whose every awaited client is gone, re-arms the stage deadline, and ends when finished. */
  const progress = (): void => {
    for (let guard = 0; guard < 10 && !finished(); guard++) {
      // A stage that waits for nobody (all answered, or every awaited client is gone) closes now.
      if (!server.pending().every((id) => gone.has(id))) break;
      dispatch(server.closeStage());
    }
    if (finished()) {
      resolveDone();
      return;
    }
    if (timedStage !== server.stage) {
      timedStage = server.stage;
      clearTimeout(stageTimer);
      stageTimer = setTimeout(() => {
        const late = server.pending();
        for (const id of late) markGone(id, 'TESSERA_ERR_TIMEOUT', `no ${timedStage} message within ${spec.roundDeadlineMs} ms`);
        log.warn({ stage: timedStage, late: late.length }, 'secure-aggregation stage deadline passed; dropping the clients that did not answer');
        dispatch(server.closeStage());
        progress();
      }, spec.roundDeadlineMs);
    }
  };
  const deliver = (clientId: string, message: SecAggClientMessage): void => {
    if (finished()) return;
    try {
      const out = server.receive(clientId, alignBinary(message));
      if (message.type === 'secagg.masked-input') masked.add(clientId);
      dispatch(out);
    } catch (e) {
      const err = e instanceof TesseraError ? e : new TesseraError('TESSERA_ERR_INTERNAL', String(e));
      // A refused message (tampered, replayed, late, out of order) excludes its sender from the rest of the round.
      log.warn({ client: clientId, code: err.code, stage: stageOf() }, `secure-aggregation message refused: ${err.message}`);
      markGone(clientId, err.code, err.message);
      federation.send(clientId, { type: 'secagg', jobId, round, taskId: taskIds.get(clientId) as string, message: { type: 'secagg.abort', roundId, code: err.code, reason: 'your message was refused; you are out of this round' } });
    }
    progress();
  };

  const unsubscribe = federation.subscribeSecAgg(jobId, round, (clientId, msg) => {
    if (!byId.has(clientId) || msg.taskId !== taskIds.get(clientId)) {
      log.warn({ client: clientId, code: 'TESSERA_ERR_UNEXPECTED_MESSAGE' }, 'secure-aggregation message for another task refused');
      return;
    }
    deliver(clientId, msg.message);
  });
  // Every selected client's connection at the start: one that drops at ANY stage is gone for the round, even if
  // it reconnects — its new connection holds none of the round's state and will never answer a later stage (a
  // client that answered masked-input, dropped and came back was awaited at the consistency stage until the
  // round deadline: seen at 1,000 clients under load).
  const sessions = new Map(ids.map((id) => [id, federation.connectionOf(id)]));
  const poll = setInterval(() => {
    let changed = false;
    for (const [id, session] of sessions) {
      if (gone.has(id)) continue;
      const now = federation.connectionOf(id);
      if (now === undefined || now !== session) {
        markGone(id, 'TESSERA_ERR_TIMEOUT', `${now === undefined ? 'disconnected' : 'reconnected (its round state lost)'} during the ${stageOf()} stage`);
        changed = true;
      }
    }
    if (changed) progress();
  }, o.pollMs ?? 25);

  probe.mark('tasks');
  const setups = server.start();
  for (const c of o.selected) {
    const task = o.task(taskIds.get(c.clientId) as string);
    federation
      .request(c.clientId, task, spec.roundDeadlineMs)
      .then((reply) => {
        if (reply.type === 'secagg') return deliver(c.clientId, reply.message);
        if (reply.type === 'decline') {
          if (reply.reason.dataCheck) declinedChecks.push(reply.reason.dataCheck);
          declined.set(c.clientId, { ...exclude(c, reply.reason.code, reply.reason.message), ...(reply.reason.counts ? { counts: reply.reason.counts } : {}) });
          markGone(c.clientId, reply.reason.code, reply.reason.message);
        } else markGone(c.clientId, 'TESSERA_ERR_UNEXPECTED_MESSAGE', `answered a secure ${task.type} task with a ${reply.type} message (a result in the clear is refused)`);
        progress();
      })
      .catch((e: unknown) => {
        const err = e instanceof TesseraError ? e : new TesseraError('TESSERA_ERR_INTERNAL', String(e));
        markGone(c.clientId, err.code, err.message);
        progress();
      });
  }
  // The setup follows the task on the same ordered channel; the client holds it until its input is ready.
  dispatch(setups);
  progress();
  try {
    await done;
  } finally {
    clearInterval(poll);
    clearTimeout(stageTimer);
    unsubscribe();
    probe.stop();
  }
  return { gone, declined, declinedChecks };
}

/**
 * socket.io hands binary fields over as Buffers that may start at any offset of a pooled allocation; the
 * masked vector is read as 32-bit words, which needs a 4-byte-aligned view, so a misaligned one is copied.
 */
function alignBinary(message: SecAggClientMessage): SecAggClientMessage {
  if (message.type !== 'secagg.masked-input' || message.vector.byteOffset % 4 === 0) return message;
  return { ...message, vector: new Uint8Array(message.vector) };
}

/** The job-spec hash both sides bind into the setup hash: SHA-256 of the RFC 8785 form of the spec the task carries. */
export function jobHashOf(spec: JobSpec): Uint8Array {
  return hexToBytes(jobSpecHash(spec));
}
