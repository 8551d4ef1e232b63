/**
 * Round ids a client can check (issue 10, "the round id is derived from (job id, round, task id)"). The
 * coordinator draws one fresh nonce per secure round; client i's task id is `${nonce}.${i}` and the round id is
 * `${jobId}/${r|e}${round}/${nonce}` (r: training, e: evaluation). A client recomputes the round id from the
 * task it was given and refuses any other, and refuses a round id it has already used (a RoundIdRegister: in
 * memory, or the node's durable participation record so a restart does not forget): a replayed round would let
 * old signatures (on advertisements, survivor sets) verify in a new run.
 */
import { TesseraError } from '../../protocol/errors.ts';

export type SecureTaskKind = 'train' | 'evaluate';

export function secAggRoundId(o: { jobId: string; round: number; kind: SecureTaskKind; nonce: string }): string {
  return `${o.jobId}/${o.kind === 'train' ? 'r' : 'e'}${o.round}/${o.nonce}`;
}

export function secAggTaskId(nonce: string, index: number): string {
  return `${nonce}.${index}`;
}

/** The round id and roster index a task id implies, or a TESSERA_ERR_SECAGG_ROUND_REPLAY refusal. */
export function roundIdForTask(task: { jobId: string; round: number; type: SecureTaskKind; taskId: string }): { roundId: string; index: number } {
  const dot = task.taskId.lastIndexOf('.');
  const nonce = task.taskId.slice(0, dot);
  const index = Number(task.taskId.slice(dot + 1));
  if (dot <= 0 || !Number.isInteger(index) || index < 0 || String(index) !== task.taskId.slice(dot + 1)) {
    throw new TesseraError('TESSERA_ERR_SECAGG_ROUND_REPLAY', `task id ${task.taskId} is not of the form <nonce>.<index>, so no round id can be derived from it`);
  }
  return { roundId: secAggRoundId({ jobId: task.jobId, round: task.round, kind: task.type, nonce }), index };
}

/** Where a client remembers the round ids it took part in: in memory (ReplayRegister) or durably (client/policy/participation.ts). */
export interface RoundIdRegister {
  /** Records `roundId`; throws TESSERA_ERR_SECAGG_ROUND_REPLAY if it was recorded before. */
  claim(roundId: string): void;
}

/** Remembers the round ids a client took part in, in memory (bounded; the oldest are forgotten first). */
export class ReplayRegister implements RoundIdRegister {
  private readonly seen = new Set<string>();
  constructor(private readonly capacity = 10_000) {}

  /** Records `roundId`; throws TESSERA_ERR_SECAGG_ROUND_REPLAY if it was recorded before. */
  claim(roundId: string): void {
    if (this.seen.has(roundId)) throw new TesseraError('TESSERA_ERR_SECAGG_ROUND_REPLAY', `round ${roundId} was already run with this client: a replayed round id is refused`);
    if (this.seen.size >= this.capacity) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    this.seen.add(roundId);
  }
}
