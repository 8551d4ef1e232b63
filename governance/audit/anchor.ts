/**
 * Anchoring the audit log with witnesses (issue 13 §2), after Certificate Transparency's signed tree heads
 * (RFC 6962 §3.5) and Sigstore/Rekor's checkpoints: a signed checkpoint (sequence number, head hash) copied
 * out of the state directory — to a file an auditor keeps, or fetched from `GET /v1/audit/checkpoint` — pins
 * the log's prefix up to that entry. The chain alone cannot show that its tail was cut (the entries and
 * their checkpoints are simply gone) or that it was rewritten and re-signed with a key kept in the state;
 * a witnessed checkpoint can: the log must still reach its sequence number with the same hash there.
 */
import { z } from 'zod';
import { TesseraError } from '../../protocol/errors.ts';
import { parseJsonStrict } from '../../lib/canonical-json.ts';
import { decodeKeyText, keyIdOf, verifyDetached } from '../identity/ed25519.ts';
import { CHECKPOINT_TYPE, checkpointMessage, type AuditCheckpoint, type AuditEntry } from './chain.ts';

/** The exported form of a checkpoint (`tessera audit checkpoint --out FILE`, the HTTP endpoint). */
export const WitnessedCheckpoint = z
  .object({
    type: z.literal(CHECKPOINT_TYPE),
    seq: z.number().int().min(1),
    hash: z.string().regex(/^[0-9a-f]{64}$/),
    time: z.string(),
    keyId: z.string(),
    publicKey: z.string(),
    signature: z.string(),
  })
  .strict();
export type WitnessedCheckpoint = z.infer<typeof WitnessedCheckpoint>;

export function toWitnessed(c: AuditCheckpoint): WitnessedCheckpoint {
  return { type: CHECKPOINT_TYPE, seq: c.seq, hash: c.hash, time: c.time, keyId: c.keyId, publicKey: c.publicKey, signature: c.signature };
}

/** Reads an anchor file: one exported checkpoint (JSON), or a witness log of one checkpoint per line. */
export function parseAnchors(text: string, where: string): WitnessedCheckpoint[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `${where} holds no checkpoint`);
  const docs = trimmed.startsWith('{') && !trimmed.includes('\n{') ? [trimmed] : trimmed.split('\n').filter((l) => l.trim() !== '');
  return docs.map((d, i) => {
    const r = WitnessedCheckpoint.safeParse(parseJsonStrict(d, `${where}${docs.length > 1 ? ` line ${i + 1}` : ''}`));
    if (!r.success) throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `${where}: not a ${CHECKPOINT_TYPE} (${r.error.issues[0]?.path.join('.') ?? ''} ${r.error.issues[0]?.message ?? ''})`);
    return r.data;
  });
}

export interface AnchorFailure {
  readonly anchor: WitnessedCheckpoint;
  /** 'truncated' (entries missing), 'forked' (a different entry at the witnessed position), 'bad-anchor'. */
  readonly kind: 'truncated' | 'forked' | 'bad-anchor';
  readonly firstBadEntry: number;
  readonly reason: string;
}

/**
 * Checks the log against each witnessed checkpoint. `trustedKey` pins the coordinator key; without it an
 * anchor is checked against the key it names (the witness vouches for where it got it).
 */
export function checkAnchors(entries: readonly AuditEntry[], anchors: readonly WitnessedCheckpoint[], trustedKey?: Uint8Array): AnchorFailure[] {
  const bySeq = new Map(entries.map((e) => [e.seq, e]));
  const last = entries.length === 0 ? 0 : Math.max(...entries.map((e) => e.seq));
  const failures: AnchorFailure[] = [];
  for (const a of anchors) {
    const key = decodeKeyText(a.publicKey, 32);
    const pinned = trustedKey !== undefined && key !== undefined && Buffer.compare(Buffer.from(key), Buffer.from(trustedKey)) !== 0;
    if (!key || pinned || !verifyDetached(checkpointMessage(a), new Uint8Array(Buffer.from(a.signature, 'base64')), key)) {
      failures.push({ anchor: a, kind: 'bad-anchor', firstBadEntry: a.seq, reason: `the witnessed checkpoint at entry ${a.seq} does not verify${pinned && key ? ` under the pinned key (it names ${keyIdOf(key)})` : ''}` });
      continue;
    }
    const e = bySeq.get(a.seq);
    if (last === 0) {
      failures.push({ anchor: a, kind: 'truncated', firstBadEntry: 1, reason: `the log is empty, but a checkpoint witnessed at ${a.time} covers entries 1–${a.seq}: all ${a.seq} entries were deleted` });
    } else if (last < a.seq) {
      failures.push({ anchor: a, kind: 'truncated', firstBadEntry: last + 1, reason: `entries ${last + 1}–${a.seq} are missing: the log ends at entry ${last}, but a checkpoint witnessed at ${a.time} covers entry ${a.seq} (the tail was cut)` });
    } else if (!e || e.hash !== a.hash) {
      failures.push({ anchor: a, kind: 'forked', firstBadEntry: a.seq, reason: `entry ${a.seq} differs from the checkpoint witnessed at ${a.time} (hash ${e?.hash.slice(0, 16) ?? 'none'}… instead of ${a.hash.slice(0, 16)}…): the log was rewritten at or before entry ${a.seq} (a fork or replacement)` });
    }
  }
  return failures.sort((x, y) => x.firstBadEntry - y.firstBadEntry);
}
