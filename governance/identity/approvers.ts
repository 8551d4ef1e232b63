/**
 * The `approvers` table (identity-001, identity-002): whose keys exist, for which person and roles, and since
 * when they no longer count. Since issue 13 this table is a cache: the trust registry is the signed chain in
 * governance/identity/admin-changes.ts and registry-store.ts, and only keys that chain backs count anywhere
 * (`trustedApprovers`). `addApprover` and `revokeApprover` write the table directly and are kept for tooling
 * that reads old states; rows they write without a signed change do not count.
 */
import { z } from 'zod';
import { TesseraError } from '../../protocol/errors.ts';
import type { Db } from '../state/database.ts';
import { AUDIT_ACTIONS } from '../audit/actions.ts';
import { appendAudit } from '../audit/log.ts';
import { keyIdOf, toBase64 } from './ed25519.ts';



/** Roles the documentation and the default policies use; any role matching ROLE_PATTERN may be declared. */
export const KNOWN_ROLES = ['privacy-officer', 'model-owner', 'fairness-reviewer', 'security-reviewer', 'data-steward'] as const;

export const RoleName = z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'a role is lower-case letters, digits and hyphens, e.g. privacy-officer');

export interface Approver {
  readonly keyId: string;
  /** The person the key belongs to: quorum counts people, not keys (issue 13 §3). One person may hold several keys. */
  readonly person: string;
  /** Raw Ed25519 public key, base64. */
  readonly publicKey: string;
  readonly name: string;
  readonly roles: readonly string[];
  readonly addedAt: string;
  readonly revokedAt: string | null;
  readonly revokedReason: string | null;
}

interface Row {
  key_id: string;
  person: string | null;
  public_key: string;
  name: string;
  roles: string;
  added_at: string;
  revoked_at: string | null;
  revoked_reason: string | null;
}

function toApprover(r: Row): Approver {
  return {
    keyId: r.key_id,
    // Rows from before identity-002 have no person: each such key stands for a person of its own.
    person: r.person ?? r.key_id,
    publicKey: r.public_key,
    name: r.name,
    roles: z.array(z.string()).parse(JSON.parse(r.roles)),
    addedAt: r.added_at,
    revokedAt: r.revoked_at,
    revokedReason: r.revoked_reason,
  };
}

/** True when the approver's key was revoked at or before `at`. */
export function isRevoked(a: Approver, at: Date): boolean {
  return a.revokedAt !== null && Date.parse(a.revokedAt) <= at.getTime();
}

/** The person id a name stands for when none is given: lower-case, runs of other characters as one hyphen. */
export function personIdOf(name: string): string {
  return name.trim().toLowerCase().normalize('NFC').replace(/[^\p{L}\p{N}]+/gu, '-').replace(/^-|-$/g, '') || 'person';
}

export interface AddApproverInput {
  readonly name: string;
  /** Default: derived from the name (personIdOf), so two keys enrolled under one name are one person. */
  readonly person?: string;
  readonly publicKey: Uint8Array;
  readonly roles: readonly string[];
  readonly actor: string;
  readonly at?: Date;
  /** Extra audit details (the admin change that authorised the addition). */
  readonly details?: Record<string, unknown>;
}

export function addApprover(db: Db, input: AddApproverInput): Approver {
  const roles = [...new Set(input.roles.map((r) => r.trim()).filter((r) => r !== ''))].sort();
  if (roles.length === 0) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'An approver needs at least one role');
  for (const role of roles) {
    const r = RoleName.safeParse(role);
    if (!r.success) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Role '${role}': ${r.error.issues[0]?.message ?? 'invalid'}`);
  }
  const name = input.name.trim();
  if (name === '') throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'An approver needs a name');
  const keyId = keyIdOf(input.publicKey);
  const at = (input.at ?? new Date()).toISOString();
  return db.transaction(() => {
    if (getApprover(db, keyId)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Key ${keyId} is already registered (revoke it and register a new key to change roles)`);
    const person = input.person ?? personIdOf(name);
    db.prepare('INSERT INTO approvers (key_id, person, public_key, name, roles, added_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(keyId, person, toBase64(input.publicKey), name, JSON.stringify(roles), at);
    appendAudit(db, { actor: input.actor, action: AUDIT_ACTIONS.approverAdded, subject: keyId, details: { name, person, roles, ...(input.details ?? {}) }, time: new Date(at) });
    return getApprover(db, keyId) as Approver;
  }).immediate();
}

export function revokeApprover(db: Db, keyId: string, input: { reason: string; actor: string; at?: Date; details?: Record<string, unknown> }): Approver {
  const reason = input.reason.trim();
  if (reason === '') throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'Revoking a key needs a reason');
  const at = (input.at ?? new Date()).toISOString();
  return db.transaction(() => {
    const a = getApprover(db, keyId);
    if (!a) throw new TesseraError('TESSERA_ERR_NOT_FOUND', `No approver with key id ${keyId}`);
    if (a.revokedAt !== null) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Key ${keyId} was already revoked at ${a.revokedAt}`);
    db.prepare('UPDATE approvers SET revoked_at = ?, revoked_reason = ? WHERE key_id = ?').run(at, reason, keyId);
    appendAudit(db, { actor: input.actor, action: AUDIT_ACTIONS.approverRevoked, subject: keyId, details: { name: a.name, person: a.person, reason, ...(input.details ?? {}) }, time: new Date(at) });
    return getApprover(db, keyId) as Approver;
  }).immediate();
}

export function getApprover(db: Db, keyId: string): Approver | undefined {
  const row = db.prepare('SELECT * FROM approvers WHERE key_id = ?').get(keyId) as Row | undefined;
  return row ? toApprover(row) : undefined;
}

export function listApprovers(db: Db): Approver[] {
  return (db.prepare('SELECT * FROM approvers ORDER BY added_at, key_id').all() as Row[]).map(toApprover);
}

/** Sets the roles of every key a person holds (materialises an admin-signed role change). */
export function setPersonRoles(db: Db, person: string, roles: readonly string[]): void {
  db.prepare('UPDATE approvers SET roles = ? WHERE person = ? OR (person IS NULL AND key_id = ?)').run(JSON.stringify([...roles].sort()), person, person);
}
