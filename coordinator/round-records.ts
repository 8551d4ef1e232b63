/** What the coordinator records about each round and job (reported live, written under --out and to state). */
import type { DeclineReason } from '../protocol/messages.ts';

export interface ExcludedClient {
  readonly clientId: string;
  readonly orgId: string;
  /** Stable code (e.g. TESSERA_ERR_TIMEOUT, CONTRACT_VIOLATION, CONSENT_PURPOSE) and a readable reason. */
  readonly code: string;
  readonly reason: string;
  readonly counts?: DeclineReason['counts'];
}

export interface RoundRecord {
  readonly round: number;
  /** 1 for the first try; retries of a round that fell below the minimum count up. */
  readonly attempt: number;
  readonly eligible: number;
  readonly expectedParticipants: number;
  readonly selected: number;
  readonly participants: number;
  readonly participantOrgs: readonly string[];
  readonly dropped: readonly ExcludedClient[];
  readonly declined: readonly ExcludedClient[];
  readonly trainLoss: number | null;
  readonly accuracy: number | null;
  readonly loss: number | null;
  readonly durationMs: number;
  /** Slowest participant's local training time; durationMs − this is the round's coordination overhead. */
  readonly slowestTrainMs: number;
  /** Sum of the participants' local training times. */
  readonly totalTrainMs: number;
  /** Feature-specific figures (privacy spent, clipped fraction, drift alerts …), keyed by feature. */
  readonly extra: Readonly<Record<string, unknown>>;
}

export type JobStatus = 'completed' | 'failed' | 'stopped' | 'budget-exhausted';

export interface JobResult {
  readonly jobId: string;
  readonly status: JobStatus;
  readonly message: string;
  readonly rounds: readonly RoundRecord[];
  readonly weights: Float32Array;
  readonly final: { readonly accuracy: number | null; readonly loss: number | null };
}
