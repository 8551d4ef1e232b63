/** Types of mask-plan.mjs (plain JavaScript, shared with the mask worker threads). */
import type { MaskAccumulator } from './mask-kernel.mjs';

export declare const BATCH: number;

/** The flat, postable form of a mask plan (see mask-plan.mjs for the item layout). */
export interface MaskPlanData {
  /** 32 bytes per direct mask (secret). */
  readonly directKeys: Uint8Array;
  readonly directSigns: Int8Array;
  /** pairwiseInfoPrefix(roundId). */
  readonly infoPrefix: Uint8Array;
  /** 32-byte X25519 private scalar per owner slot (secret). */
  readonly ownerKeys: Uint8Array;
  /** Roster index per owner slot. */
  readonly owners: Int32Array;
  /** Roster index per partner slot. */
  readonly partners: Int32Array;
  /** 32-byte X25519 public key per partner slot. */
  readonly partnerKeys: Uint8Array;
  /** Per pairwise mask: its owner slot and partner slot. */
  readonly pairOwner: Int32Array;
  readonly pairPartner: Int32Array;
}

export declare class MaskPlan {
  constructor(data: MaskPlanData);
  readonly data: MaskPlanData;
  readonly count: number;
  readonly batches: number;
  /** Time this thread spent deriving pairwise keys, and generating and adding keystream (ms). */
  readonly deriveMs: number;
  readonly streamMs: number;
  applyBatch(acc: MaskAccumulator, b: number): void;
  wipe(): void;
}
