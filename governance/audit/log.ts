/**
 * The audit log's storage: an append-only, hash-chained table in the state database (audit-001), with
 * checkpoints signed by the coordinator's key every N entries, after a job stops, and on request.
 * `appendAudit` joins the caller's transaction when there is one, so an audited change and its entry commit
 * together or not at all; otherwise it opens an IMMEDIATE transaction so two processes cannot both read the
 * same last entry and fork the chain. Triggers refuse UPDATE and DELETE through SQLite; an attacker who
 * bypasses them (editing the file) is caught by `verifyAuditLog`.
 */
import { dirname } from 'node:path';
import { canonicalJson } from '../../lib/canonical-json.ts';
import { TesseraError, describeZodIssues } from '../../protocol/errors.ts';
import type { Db } from '../state/database.ts';
import { signDetached, toBase64 } from '../identity/ed25519.ts';
import { loadCheckpointKey } from './checkpoint-key.ts';
import { AUDIT_ACTIONS, AuditActionSchema, detailsSchemaFor, type AuditAction } from './actions.ts';
import { GENESIS_HASH, checkpointMessage, entryHash, type AuditCheckpoint, type AuditEntry } from './chain.ts';
import type { AuditAttest } from './attribution.ts';



/** A checkpoint every this many entries unless the caller says otherwise. */
export const DEFAULT_CHECKPOINT_EVERY = 64;

export interface AuditInput {
  /** Who did it: 'coordinator', an approver's key id, `cli:<user>`, a client id. */
  readonly actor: string;
  readonly action: AuditAction;
  /** What it was done to: a job id, model version, organisation, `<job>/<round>`. */
  readonly subject: string;
  readonly details?: Record<string, unknown>;
  readonly time?: Date;
  /**
   * The actor's signature (governance/audit/attribution.ts `attributeTo`): called inside the transaction with
   * the entry's sequence number and previous hash, and stored in the details as `attestation`.
   */
  readonly attest?: AuditAttest;
}

export interface AppendOptions {
  readonly checkpointEvery?: number;
}

interface Row {
  seq: number;
  time: string;
  actor: string;
  action: string;
  subject: string;
  details: string;
  prev_hash: string;
  hash: string;
}

interface CheckpointRow {
  seq: number;
  hash: string;
  time: string;
  key_id: string;
  public_key: string;
  signature: string;
}

/** The state directory a database opened by `openDatabase(stateDir)` lives in (its key is kept there). */
function stateDirOf(db: Db): string {
  if (db.memory) throw new TesseraError('TESSERA_ERR_STATE', 'The audit log needs a state directory; this database is in memory');
  return dirname(db.name);
}

function rowToEntry(r: Row): AuditEntry {
  let details: unknown;
  try {
    details = JSON.parse(r.details);
  } catch {
    // Kept as text so that verification reports a hash mismatch at this entry rather than crashing.
    details = r.details;
  }
  return { seq: r.seq, time: r.time, actor: r.actor, action: r.action, subject: r.subject, details, prevHash: r.prev_hash, hash: r.hash };
}

function rowToCheckpoint(r: CheckpointRow): AuditCheckpoint {
  return { seq: r.seq, hash: r.hash, time: r.time, keyId: r.key_id, publicKey: r.public_key, signature: r.signature };
}

function writeCheckpoint(db: Db, entry: Pick<AuditEntry, 'seq' | 'hash'>, now: Date, keyFile?: string): AuditCheckpoint {
  const key = loadCheckpointKey(stateDirOf(db), keyFile);
  const time = now.toISOString();
  const signature = toBase64(signDetached(checkpointMessage({ seq: entry.seq, hash: entry.hash, time }), key.seed));
  const c: AuditCheckpoint = { seq: entry.seq, hash: entry.hash, time, keyId: key.keyId, publicKey: toBase64(key.publicKey), signature };
  db.prepare('INSERT OR IGNORE INTO audit_checkpoints (seq, hash, time, key_id, public_key, signature) VALUES (?, ?, ?, ?, ?, ?)')
    .run(c.seq, c.hash, c.time, c.keyId, c.publicKey, c.signature);
  return c;
}

function inTransaction<T>(db: Db, fn: () => T): T {
  return db.inTransaction ? fn() : db.transaction(fn).immediate();
}

/**
 * Appends one entry to the chain (inside the caller's transaction if one is open) and returns it. Writes a
 * signed checkpoint every `checkpointEvery` entries and after `job.stopped`.
 */
export function appendAudit(db: Db, input: AuditInput, options: AppendOptions = {}): AuditEntry {
  const action = AuditActionSchema.safeParse(input.action);
  if (!action.success) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Unknown audit action '${String(input.action)}'`);
  const details = input.details ?? {};
  const schema = detailsSchemaFor(action.data);
  if (schema) {
    const r = schema.safeParse(details);
    if (!r.success) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Audit details for ${action.data}: ${describeZodIssues(r.error.issues)}`);
  }
  const detailsText = canonicalJson(details);
  const every = options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY;
  const now = input.time ?? new Date();
  return inTransaction(db, () => {
    const last = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
    const seq = (last?.seq ?? 0) + 1;
    const prevHash = last?.hash ?? GENESIS_HASH;
    const time = now.toISOString();
    let stored = JSON.parse(detailsText) as Record<string, unknown>;
    if (input.attest) stored = { ...stored, attestation: input.attest({ seq, prevHash, action: action.data, subject: input.subject, details: stored, time }) };
    const storedText = canonicalJson(stored);
    const body = { seq, time, actor: input.actor, action: action.data, subject: input.subject, details: JSON.parse(storedText) as unknown, prevHash };
    const entry: AuditEntry = { ...body, hash: entryHash(body) };
    db.prepare('INSERT INTO audit_log (seq, time, actor, action, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(entry.seq, entry.time, entry.actor, entry.action, entry.subject, storedText, entry.prevHash, entry.hash);
    if ((every > 0 && entry.seq % every === 0) || entry.action === AUDIT_ACTIONS.jobStopped) writeCheckpoint(db, entry, now);
    return entry;
  });
}

/**
 * Signs a checkpoint over the current last entry (end of a job, end of a CLI command). No-op on an empty log.
 * `keyFile`: the signing key a command was given (`--checkpoint-key`); otherwise checkpoint-key.ts's default.
 */
export function checkpointAudit(db: Db, now: Date = new Date(), keyFile?: string): AuditCheckpoint | undefined {
  return inTransaction(db, () => {
    const last = db.prepare('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
    if (!last) return undefined;
    const existing = db.prepare('SELECT * FROM audit_checkpoints WHERE seq = ?').get(last.seq) as CheckpointRow | undefined;
    return existing ? rowToCheckpoint(existing) : writeCheckpoint(db, last, now, keyFile);
  });
}

export interface AuditQuery {
  readonly action?: string;
  readonly subject?: string;
  readonly limit?: number;
}

/** Entries in sequence order (optionally filtered; verification always reads everything). */
export function readAuditEntries(db: Db, query: AuditQuery = {}): AuditEntry[] {
  const where: string[] = [];
  const args: Array<string | number> = [];
  if (query.action !== undefined) {
    where.push('action = ?');
    args.push(query.action);
  }
  if (query.subject !== undefined) {
    where.push('subject = ?');
    args.push(query.subject);
  }
  const sql = `SELECT * FROM audit_log ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq${query.limit ? ' LIMIT ?' : ''}`;
  if (query.limit) args.push(query.limit);
  return (db.prepare(sql).all(...args) as Row[]).map(rowToEntry);
}

export function readAuditCheckpoints(db: Db): AuditCheckpoint[] {
  return (db.prepare('SELECT * FROM audit_checkpoints ORDER BY seq').all() as CheckpointRow[]).map(rowToCheckpoint);
}
