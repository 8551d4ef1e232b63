/**
 * The pure half of the audit log: how an entry is hashed, what a checkpoint signs, and how a sequence of
 * entries and checkpoints is verified. Each entry's hash is SHA-256 over the RFC 8785 canonical JSON of the
 * entry without its hash, and each entry carries its predecessor's hash (a hash chain in the manner of
 * Haber & Stornetta, "How to time-stamp a digital document", 1991), so changing, removing or reordering an
 * entry breaks the chain at that entry. Signed checkpoints over (seq, hash) stop an attacker who rewrites the
 * chain from recomputing every later hash undetected, and mark the end of the log at that point.
 */
import { canonicalHash, canonicalJson } from '../../lib/canonical-json.ts';
import { decodeKeyText, keyIdOf, verifyDetached } from '../identity/ed25519.ts';

export const GENESIS_HASH = '0'.repeat(64);
export const CHECKPOINT_TYPE = 'tessera.audit-checkpoint/v1';

export interface AuditEntryBody {
  readonly seq: number;
  readonly time: string;
  readonly actor: string;
  readonly action: string;
  readonly subject: string;
  readonly details: unknown;
  readonly prevHash: string;
}

export interface AuditEntry extends AuditEntryBody {
  readonly hash: string;
}

export interface AuditCheckpoint {
  /** The entry the checkpoint covers (the log up to and including it). */
  readonly seq: number;
  /** That entry's hash. */
  readonly hash: string;
  readonly time: string;
  readonly keyId: string;
  /** The coordinator's public key, base64. */
  readonly publicKey: string;
  /** Ed25519 signature over `checkpointMessage`, base64. */
  readonly signature: string;
}

export interface AuditVerification {
  readonly ok: boolean;
  /** Number of entries examined. */
  readonly entries: number;
  readonly checkpoints: number;
  /** Sequence number of the first entry that fails, or null. */
  readonly firstBadEntry: number | null;
  readonly reason: string | null;
}

export function entryHash(body: AuditEntryBody): string {
  const { seq, time, actor, action, subject, details, prevHash } = body;
  return canonicalHash({ seq, time, actor, action, subject, details, prevHash });
}

/** The bytes a checkpoint signature covers. */
export function checkpointMessage(c: Pick<AuditCheckpoint, 'seq' | 'hash' | 'time'>): string {
  return canonicalJson({ type: CHECKPOINT_TYPE, seq: c.seq, hash: c.hash, time: c.time });
}

function checkpointFailure(c: AuditCheckpoint, trusted: Uint8Array | undefined): string | undefined {
  const key = decodeKeyText(c.publicKey, 32);
  if (key === undefined) return `checkpoint at entry ${c.seq}: the public key is malformed`;
  if (trusted !== undefined && Buffer.compare(Buffer.from(key), Buffer.from(trusted)) !== 0) {
    return `checkpoint at entry ${c.seq}: signed by key ${keyIdOf(key)}, not by the trusted coordinator key ${keyIdOf(trusted)}`;
  }
  const sig = Buffer.from(c.signature, 'base64');
  if (!verifyDetached(checkpointMessage(c), new Uint8Array(sig), key)) return `checkpoint at entry ${c.seq}: the signature does not verify`;
  return undefined;
}

/**
 * Verifies entries (in storage order, expected to be seq 1, 2, 3, …) and checkpoints, stopping at the first
 * failure. `trustedKey` pins the coordinator's public key; without it each checkpoint is checked against the
 * key it names, and someone who rewrites the log could re-sign it with a key of their own, so auditors
 * should pin the key they obtained from the coordinator out of band.
 */
export function verifyAuditChain(
  entries: readonly AuditEntry[],
  checkpoints: readonly AuditCheckpoint[],
  options: { trustedKey?: Uint8Array } = {},
): AuditVerification {
  const bySeq = [...checkpoints].sort((a, b) => a.seq - b.seq);
  const fail = (seq: number, reason: string, examined: number): AuditVerification => ({
    ok: false,
    entries: examined,
    checkpoints: bySeq.length,
    firstBadEntry: seq,
    reason,
  });
  let cp = 0;
  let prev: AuditEntry | undefined;
  for (const [i, e] of entries.entries()) {
    const expected = (prev?.seq ?? 0) + 1;
    if (e.seq !== expected) {
      const reason = e.seq > expected
        ? `entry ${expected} is missing: the log jumps from ${expected - 1} to ${e.seq} (entries deleted)`
        : `entry ${e.seq} is out of order after entry ${prev?.seq ?? 0}`;
      return fail(Math.min(expected, e.seq), reason, i + 1);
    }
    if (entryHash(e) !== e.hash) return fail(e.seq, `entry ${e.seq}: its contents do not match its hash (the entry was changed or moved)`, i + 1);
    const prevHash = prev?.hash ?? GENESIS_HASH;
    if (e.prevHash !== prevHash) {
      return fail(e.seq, `entry ${e.seq}: prevHash does not match the hash of entry ${e.seq - 1} (an entry was changed and re-hashed, removed or reordered)`, i + 1);
    }
    for (; cp < bySeq.length && (bySeq[cp]?.seq ?? Infinity) <= e.seq; cp++) {
      const c = bySeq[cp] as AuditCheckpoint;
      if (c.seq < e.seq) return fail(c.seq, `checkpoint at entry ${c.seq} has no entry (entries deleted)`, i + 1);
      if (c.hash !== e.hash) return fail(e.seq, `entry ${e.seq}: its hash differs from the one signed in the checkpoint (entries up to ${e.seq} were rewritten)`, i + 1);
      const bad = checkpointFailure(c, options.trustedKey);
      if (bad !== undefined) return fail(e.seq, bad, i + 1);
    }
    prev = e;
  }
  const dangling = bySeq[cp];
  if (dangling !== undefined) {
    const last = prev?.seq ?? 0;
    return fail(last + 1, `entries ${last + 1}–${dangling.seq} are missing: a signed checkpoint covers entry ${dangling.seq} but the log ends at ${last} (entries deleted)`, entries.length);
  }
  return { ok: true, entries: entries.length, checkpoints: bySeq.length, firstBadEntry: null, reason: null };
}
