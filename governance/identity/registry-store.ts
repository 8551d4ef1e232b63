/**
 * Storage of the signed trust-registry chain (governance/identity/admin-changes.ts). The `approvers` table
 * is only a cache of the replayed chain for listing; whoever decides anything (the gate, approval intake)
 * reads `trustedApprovers`, which replays and re-verifies the chain every time.
 */
import { canonicalJson } from '../../lib/canonical-json.ts';
import { TesseraError } from '../../protocol/errors.ts';
import type { Db } from '../state/database.ts';
import { AUDIT_ACTIONS } from '../audit/actions.ts';
import { appendAudit } from '../audit/log.ts';
import { listApprovers, type Approver } from './approvers.ts';
import { ADMIN_CHANGE_TYPE, SignedAdminChange, adminSigners, applyChange, recordHash, replayRegistry, type ReplayResult } from './admin-changes.ts';

/** How old (or how far ahead) a signed change may be when it is applied: admins collect signatures within a day. */
const MAX_CHANGE_AGE_MS = 86_400_000;

export function readRegistryRecords(db: Db): unknown[] {
  return (db.prepare('SELECT record FROM approver_changes ORDER BY seq').pluck().all() as string[]).map((t) => {
    try {
      return JSON.parse(t) as unknown;
    } catch {
      return t;
    }
  });
}

export function readRegistry(db: Db): ReplayResult {
  return replayRegistry(readRegistryRecords(db));
}

/**
 * A production state (issue 13 §6): one whose approver registry has been initialised. Recognised by the
 * stored registry records OR the audit log's `approvers.initialised` entry, so an insider who deletes the
 * registry rows to make the state look like a development one is still refused unsigned governance commands
 * (and the deletion itself breaks the registry chain and the audit log's verification).
 */
export function isProductionState(db: Db): boolean {
  if (db.prepare('SELECT 1 FROM approver_changes LIMIT 1').get() !== undefined) return true;
  return db.prepare('SELECT 1 FROM audit_log WHERE action = ? LIMIT 1').get(AUDIT_ACTIONS.approversInitialised) !== undefined;
}

/** The approvers whose keys count: the replayed, verified chain (revoked keys included, with their revocation). */
export function trustedApprovers(db: Db): Approver[] {
  return [...readRegistry(db).registry.approvers];
}

/** Rows of the `approvers` table that the verified chain does not back (written around the registry). */
export function unbackedApproverRows(db: Db): Approver[] {
  const trusted = new Map(trustedApprovers(db).map((a) => [a.keyId, a]));
  return listApprovers(db).filter((a) => {
    const t = trusted.get(a.keyId);
    return !t || t.person !== a.person || canonicalJson(t.roles) !== canonicalJson([...a.roles].sort()) || (t.revokedAt === null) !== (a.revokedAt === null);
  });
}

function materialise(db: Db, approvers: readonly Approver[]): void {
  db.prepare('DELETE FROM approvers').run();
  const insert = db.prepare('INSERT INTO approvers (key_id, person, public_key, name, roles, added_at, revoked_at, revoked_reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
  for (const a of approvers) insert.run(a.keyId, a.person, a.publicKey, a.name, JSON.stringify(a.roles), a.addedAt, a.revokedAt, a.revokedReason);
}

/**
 * Verifies `record` against the current chain (bound to its head, signed by the admin quorum — or, for init,
 * by every founding admin on an empty registry), appends it, refreshes the cache and audits it, in one
 * IMMEDIATE transaction. Returns the registry after the change and the admin people who signed.
 */
export function applyRegistryChange(db: Db, record: unknown, options: { now?: Date } = {}): { result: ReplayResult; signers: string[]; before: readonly Approver[] } {
  const now = options.now ?? new Date();
  const parsed = SignedAdminChange.safeParse(record);
  if (!parsed.success) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Not a ${ADMIN_CHANGE_TYPE} record: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`);
  const change = parsed.data;
  if (Math.abs(Date.parse(change.payload.issuedAt) - now.getTime()) > MAX_CHANGE_AGE_MS) {
    throw new TesseraError('TESSERA_ERR_APPROVAL', `The change was issued at ${change.payload.issuedAt}, more than a day from now: sign it again`);
  }
  return db
    .transaction(() => {
      const current = readRegistry(db);
      if (current.problem !== null) throw new TesseraError('TESSERA_ERR_STATE', `The approver registry does not verify: ${current.problem}`);
      const op = change.payload.change.op;
      if (op === 'init' && db.prepare("SELECT 1 FROM audit_log WHERE action = 'approvers.initialised' LIMIT 1").get() !== undefined) {
        throw new TesseraError('TESSERA_ERR_APPROVAL', 'The audit log already records an init of this registry: init happens once');
      }
      const next = applyChange(current.registry, change);
      const signers = adminSigners(op === 'init' ? next : current.registry, change);
      const hash = recordHash(change);
      const seq = (db.prepare('SELECT COALESCE(MAX(seq), 0) FROM approver_changes').pluck().get() as number) + 1;
      db.prepare('INSERT INTO approver_changes (seq, record, record_hash, recorded_at) VALUES (?, ?, ?, ?)').run(seq, canonicalJson(change), hash, now.toISOString());
      const before = current.registry.approvers;
      materialise(db, next.approvers);
      const c = change.payload.change;
      const signerKeys = change.signatures.map((s) => s.keyId);
      const actor = `admins:${signers.join('+')}`;
      const base = { record: hash, signers, signerKeys };
      if (c.op === 'init') {
        appendAudit(db, { actor, action: AUDIT_ACTIONS.approversInitialised, subject: 'approvers', details: { ...base, adminQuorum: c.adminQuorum, admins: next.approvers.map((a) => ({ person: a.person, keyId: a.keyId, roles: a.roles })) }, time: now });
      } else if (c.op === 'approver.add') {
        const added = next.approvers[next.approvers.length - 1] as Approver;
        appendAudit(db, { actor, action: AUDIT_ACTIONS.approverAdded, subject: added.keyId, details: { ...base, name: added.name, person: added.person, roles: added.roles }, time: now });
      } else if (c.op === 'approver.revoke') {
        appendAudit(db, { actor, action: AUDIT_ACTIONS.approverRevoked, subject: c.keyId, details: { ...base, reason: c.reason }, time: now });
      } else if (c.op === 'approver.roles') {
        appendAudit(db, { actor, action: AUDIT_ACTIONS.approverRolesChanged, subject: c.person, details: { ...base, roles: [...c.roles].sort() }, time: now });
      }
      return { result: { registry: next, history: [...current.history, next], problem: null }, signers, before };
    })
    .immediate();
}
