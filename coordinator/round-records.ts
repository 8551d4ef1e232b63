/** What the coordinator records about each round and job (reported live, written under --out and to state). */
import type { DeclineReason } from '../protocol/messages.ts';
import { CLIPPING_SLOT, FEDERATED_EVALUATION_SLOT } from './core-slots.ts';
import { DATA_CONTRACT_SLOT } from './features/data-contract-slot.ts';
import { PRIVACY_SLOT } from './features/dp-slot.ts';
import { FAIRNESS_SLOT } from './features/fairness-slot.ts';
import { SECAGG_EVALUATION_SLOT, SECAGG_SLOT } from './features/secagg-slot.ts';
import { slotsSchema, type SlotsOf } from './features/slot.ts';

/**
 * Every slot a round record may carry, each declared next to the feature that writes it. A new feature that
 * records something per round adds its slot definition here (docs/architecture.md).
 */
export const ROUND_SLOTS = [CLIPPING_SLOT, FEDERATED_EVALUATION_SLOT, PRIVACY_SLOT, FAIRNESS_SLOT, DATA_CONTRACT_SLOT, SECAGG_SLOT, SECAGG_EVALUATION_SLOT] as const;

/** The round record's feature data: the composition of the slot types (each optional: its feature may be off). */
export type RoundSlots = SlotsOf<typeof ROUND_SLOTS>;

/** The zod schema of `RoundSlots` (what reads persisted records, coordinator/state/round-record-codec.ts). */
export const RoundSlotsSchema = slotsSchema(ROUND_SLOTS);

/**
 * Where a client was kept out before sampling, when it was: `consent` (the consent feature, which audits it when
 * it decides) or `eligibility` (another feature's eligibility filter, e.g. DP's organisation caps). Absent for
 * clients that were sampled and then dropped or declined.
 */
export type ExclusionStage = 'consent' | 'eligibility';

export interface ExcludedClient {
  readonly clientId: string;
  readonly orgId: string;
  /** Stable code (e.g. TESSERA_ERR_TIMEOUT, CONTRACT_VIOLATION, CONSENT_PURPOSE) and a readable reason. */
  readonly code: string;
  readonly reason: string;
  readonly counts?: DeclineReason['counts'];
  readonly stage?: ExclusionStage;
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
  /** Feature data, one typed slot per feature (privacy, fairness, drift, secure aggregation …). */
  readonly extra: RoundSlots;
}

export type JobStatus = 'completed' | 'failed' | 'stopped' | 'budget-exhausted';

export interface JobResult {
  readonly jobId: string;
  readonly status: JobStatus;
  readonly message: string;
  /** The committed rounds; their feature data is typed by `RoundSlots`. */
  readonly rounds: readonly RoundRecord[];
  readonly weights: Float32Array;
  readonly final: { readonly accuracy: number | null; readonly loss: number | null };
}
