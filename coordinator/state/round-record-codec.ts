/**
 * The persisted form of a round record (`job_rounds.record_json`, versioned by `job_rounds.record_version`,
 * migration jobs-002) and the reader that upgrades older rows, so existing state directories still read.
 *
 * Version 2 (this build writes it): the record's `extra` holds only the declared slots (round-records.ts
 * ROUND_SLOTS), each valid under its slot's schema, and an exclusion made before sampling carries its `stage`.
 * Version 1 (rows written before jobs-002): `extra` was an untyped bag. Its upgrade: the privacy figures are
 * taken from `extra.privacy`, or from `extra.dp` (a synonym the registry used to accept), with `epsilonSpent`
 * read as `epsilon`; fields older DP features did not write get their then-implied values (`updateNoiseMultiplier`
 * = σ, as before adaptive clipping; `againstCoordinator` = local placement only, the conservative reading);
 * exclusions with the DP feature's codes get stage `eligibility` (consent codes are ambiguous: clients decline
 * with them too, so those keep no stage); a slot that
 * still does not parse is left out of the upgraded record (the row itself is never rewritten) and named in
 * `droppedSlots`. A row of an unknown version, or a version-2 row that does not parse, is
 * TESSERA_ERR_RECORD_UNREADABLE.
 */
import { z } from 'zod';
import { describeZodIssues, TesseraError } from '../../protocol/errors.ts';
import { DP_EXCLUSION } from '../features/dp.ts';
import { ROUND_SLOTS, RoundSlotsSchema, type ExcludedClient, type RoundRecord } from '../round-records.ts';

/** The DP feature's exclusion codes (before version 2, the only mark of an eligibility exclusion). */
const DP_EXCLUSION_CODES: ReadonlySet<string> = new Set(Object.values(DP_EXCLUSION));

export const ROUND_RECORD_VERSION = 2;

const Excluded = z.object({
  clientId: z.string(),
  orgId: z.string(),
  code: z.string(),
  reason: z.string(),
  counts: z.record(z.string(), z.number()).optional(),
  stage: z.enum(['consent', 'eligibility']).optional(),
});

const Core = z.object({
  round: z.number().int().min(1),
  attempt: z.number().int().min(1),
  eligible: z.number().int().min(0),
  expectedParticipants: z.number().min(0),
  selected: z.number().int().min(0),
  participants: z.number().int().min(0),
  participantOrgs: z.array(z.string()),
  dropped: z.array(Excluded),
  declined: z.array(Excluded),
  trainLoss: z.number().nullable(),
  accuracy: z.number().nullable(),
  loss: z.number().nullable(),
  durationMs: z.number().min(0),
  slowestTrainMs: z.number().min(0),
  totalTrainMs: z.number().min(0),
});

/** Version 2: every slot by its own schema. */
export const RecordV2 = Core.extend({ extra: RoundSlotsSchema });
/** The current round record's schema (the job API's responses declare it). */
export const RoundRecordSchema = RecordV2;

export interface DecodedRound {
  readonly record: RoundRecord;
  /** Version-1 slots that could not be upgraded and were left out. */
  readonly droppedSlots: readonly string[];
}

function unreadable(why: string): TesseraError {
  return new TesseraError('TESSERA_ERR_RECORD_UNREADABLE', `a stored round record cannot be read: ${why}`);
}

function parseJson(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch (e) {
    throw unreadable(`not JSON (${String(e)})`);
  }
}

/** Reads a round row of any known version as the current RoundRecord. */
export function decodeRoundRecord(version: number, json: string): DecodedRound {
  const raw = parseJson(json);
  if (version === 2) {
    const r = RecordV2.safeParse(raw);
    if (!r.success) throw unreadable(describeZodIssues(r.error.issues));
    return { record: r.data, droppedSlots: [] };
  }
  if (version === 1) return upgradeV1(raw);
  throw unreadable(`record version ${version} is newer than this build knows (${ROUND_RECORD_VERSION})`);
}

/** What the DP feature wrote in version 1, before the slot schema fixed it. */
function upgradePrivacyV1(bag: Record<string, unknown>): unknown {
  const p = bag.privacy ?? bag.dp;
  if (typeof p !== 'object' || p === null) return p;
  const o = p as Record<string, unknown>;
  return {
    ...o,
    epsilon: o.epsilon ?? o.epsilonSpent,
    updateNoiseMultiplier: o.updateNoiseMultiplier ?? o.noiseMultiplier,
    againstCoordinator: o.againstCoordinator ?? o.placement === 'local',
  };
}

const V1 = Core.extend({
  attempt: z.number().int().min(1).default(1),
  slowestTrainMs: z.number().min(0).default(0),
  totalTrainMs: z.number().min(0).default(0),
  extra: z.record(z.string(), z.unknown()).default({}),
});

function stageV1(x: ExcludedClient): ExcludedClient {
  if (x.stage !== undefined) return x;
  // Only the coordinator's DP feature gives these codes. CONSENT_* codes are not enough: a client enforcing its
  // own consent declines with them too, after sampling, so a version-1 consent exclusion keeps no stage.
  return DP_EXCLUSION_CODES.has(x.code) ? { ...x, stage: 'eligibility' } : x;
}

function upgradeV1(raw: unknown): DecodedRound {
  const base = V1.extend({ expectedParticipants: z.number().min(0).optional() }).safeParse(raw);
  if (!base.success) throw unreadable(`version 1: ${describeZodIssues(base.error.issues)}`);
  const bag = base.data.extra;
  const candidates: Record<string, unknown> = { ...bag, privacy: upgradePrivacyV1(bag) };
  const kept: Record<string, unknown> = {};
  const droppedSlots: string[] = [];
  for (const slot of ROUND_SLOTS) {
    const v = candidates[slot.key];
    if (v === undefined) continue;
    if (slot.schema.safeParse(v).success) kept[slot.key] = v;
    else droppedSlots.push(slot.key);
  }
  // Every kept slot parsed on its own, so this parse succeeds; it also gives the slots their types.
  const extra = RoundSlotsSchema.parse(kept);
  const { extra: _bag, ...core } = base.data;
  const record: RoundRecord = {
    ...core,
    expectedParticipants: core.expectedParticipants ?? core.selected,
    dropped: core.dropped,
    // Exclusions before sampling were told apart by code in version 1; version 2 records the stage.
    declined: core.declined.map(stageV1),
    extra,
  };
  return { record, droppedSlots };
}

/** The JSON a round row stores (version ROUND_RECORD_VERSION). */
export function encodeRoundRecord(record: RoundRecord): string {
  return JSON.stringify(record);
}
