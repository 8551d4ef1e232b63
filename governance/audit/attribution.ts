/**
 * Who did a governance action, for the audit log (issue 13 §6). With a key (`--key FILE`), the actor is the
 * signing identity — the person the verified registry (governance/identity/registry-store.ts) binds the key
 * to, else the bare key id — and the entry carries an Ed25519 attestation (RFC 8032) over the RFC 8785
 * canonical JSON of {type, seq, prevHash, action, subject, details, time}: the action AND its place in the
 * hash chain, so the attribution is evidence rather than a claimed user name, and a signed entry copied to
 * another place in the log (a replayed budget change) no longer verifies.
 *
 * A production state (its approver registry initialised, governance/identity/registry-store.ts
 * `isProductionState`) refuses governance commands without `--key` (TESSERA_ERR_SIGNING_KEY_REQUIRED) or with
 * a key that is not an active approver's in the verified registry (TESSERA_ERR_SIGNER_UNKNOWN). A development
 * state (no registry) still records the local user, marked unsigned. A command that belongs to one role (the
 * privacy officer's budgets, caps and consent) also refuses an active approver's key without that role
 * (TESSERA_ERR_SIGNER_ROLE): review 3 found a model owner's key raising an organisation's privacy cap. Shared by every command group that audits
 * a governance change (budgets and caps, consent, deploy, rollback, policy) so attribution has one shape.
 */
import { userInfo } from 'node:os';
import { canonicalJson } from '../../lib/canonical-json.ts';
import { TesseraError } from '../../protocol/errors.ts';
import type { Db } from '../state/database.ts';
import { decodeKeyText, keyIdOf, signDetached, toBase64, verifyDetached } from '../identity/ed25519.ts';
import { readPrivateKeyFile } from '../identity/key-file.ts';
import { isProductionState, trustedApprovers } from '../identity/registry-store.ts';
import type { AuditEntry } from './chain.ts';

/** v2 binds the signature to the entry's sequence number and the hash before it (v1, kept readable, did not). */
export const ATTESTATION_TYPE = 'tessera.audit-attestation/v2';
const ATTESTATION_TYPE_V1 = 'tessera.audit-attestation/v1';

export interface Attestation {
  readonly type: typeof ATTESTATION_TYPE | typeof ATTESTATION_TYPE_V1;
  readonly keyId: string;
  readonly publicKey: string;
  /** Ed25519 over canonicalJson({type, seq, prevHash, action, subject, details, time}), base64. */
  readonly signature: string;
}

/** What an attestation signs: the audit entry as appendAudit is about to write it, without the attestation. */
export interface AttestedBody {
  readonly seq: number;
  readonly prevHash: string;
  readonly action: string;
  readonly subject: string;
  readonly details: Record<string, unknown>;
  /** ISO 8601 UTC, exactly as the entry stores it. */
  readonly time: string;
}

/** Signs one entry inside appendAudit's transaction (where seq and prevHash are known). */
export type AuditAttest = (body: AttestedBody) => Attestation;

export interface Attributed {
  readonly actor: string;
  readonly signed: boolean;
  /** Present when signed: pass it to appendAudit (or deployModel / rollbackModel) as `attest`. */
  readonly attest?: AuditAttest;
}

function localUser(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

function message(type: Attestation['type'], body: AttestedBody): string {
  if (type === ATTESTATION_TYPE_V1) return canonicalJson({ type, action: body.action, subject: body.subject, details: body.details, time: body.time });
  return canonicalJson({ type, seq: body.seq, prevHash: body.prevHash, action: body.action, subject: body.subject, details: body.details, time: body.time });
}

/**
 * The actor for `tessera <command>` run with (or without) `--key FILE`. On a production state, refuses a
 * missing key and a key the verified registry does not hold as an active approver's, and, when `requiredRole`
 * is given, an approver's key without that role; `command` names the command in those errors (e.g. 'ledger
 * budget set').
 */
export function attributeTo(db: Db, keyFile: string | undefined, command: string, requiredRole?: string): Attributed {
  const production = isProductionState(db);
  if (keyFile === undefined) {
    if (production) {
      throw new TesseraError(
        'TESSERA_ERR_SIGNING_KEY_REQUIRED',
        `\`tessera ${command}\` changes a production state (its approver registry is initialised), so it must be signed: give --key FILE, the private key of a registered approver (tessera approvers list)`,
        { details: { command, missing: '--key' } },
      );
    }
    return { actor: `${localUser()} (unsigned)`, signed: false };
  }
  const key = readPrivateKeyFile(keyFile);
  const approver = trustedApprovers(db).find((a) => a.keyId === key.keyId && a.revokedAt === null);
  if (production && approver === undefined) {
    const revoked = trustedApprovers(db).some((a) => a.keyId === key.keyId);
    throw new TesseraError(
      'TESSERA_ERR_SIGNER_UNKNOWN',
      `\`tessera ${command}\`: the key ${key.keyId} in ${keyFile} is ${revoked ? 'revoked in' : 'not in'} the verified approver registry, so it cannot sign for a person on this production state (an admin adds it with \`tessera approvers add\`)`,
      { details: { command, keyId: key.keyId } },
    );
  }
  if (production && requiredRole !== undefined && approver !== undefined && !approver.roles.includes(requiredRole)) {
    throw new TesseraError(
      'TESSERA_ERR_SIGNER_ROLE',
      `\`tessera ${command}\` needs the key of a ${requiredRole} on this production state; the key ${key.keyId} in ${keyFile} belongs to ${approver.person} (roles: ${approver.roles.join(', ')})`,
      { details: { command, keyId: key.keyId, requiredRole } },
    );
  }
  return {
    actor: approver ? `person:${approver.person}/${key.keyId}` : `key:${key.keyId}`,
    signed: true,
    attest: (body) => ({
      type: ATTESTATION_TYPE,
      keyId: key.keyId,
      publicKey: toBase64(key.publicKey),
      signature: toBase64(signDetached(message(ATTESTATION_TYPE, body), key.seed)),
    }),
  };
}

/** Checks an attestation against the entry it sits in (details without the attestation itself). */
export function verifyAttestation(a: Attestation, body: AttestedBody): boolean {
  const key = decodeKeyText(a.publicKey, 32);
  return key !== undefined && verifyDetached(message(a.type, body), new Uint8Array(Buffer.from(a.signature, 'base64')), key);
}

/**
 * What an audit entry's attribution claims against what its attestation proves (issue 13 §6), for
 * `audit verify`: an attestation must verify over this entry's own action, subject, details, time and place in
 * the chain (a signature copied from another entry, or the same entry replayed later, does not), its key id
 * must be its key's, and the actor must name that key — and, for `person:` actors, the person the approver
 * registry binds it to. An actor that claims a signed identity (`person:` or `key:`) without an attestation is
 * a forgery. Null when consistent.
 */
export function attributionProblem(entry: AuditEntry, personOfKey: (keyId: string) => string | undefined): string | null {
  const details = typeof entry.details === 'object' && entry.details !== null && !Array.isArray(entry.details) ? (entry.details as Record<string, unknown>) : null;
  const raw = details?.['attestation'];
  const claimsKey = /^(person:[^/]+\/|key:)([0-9a-f]{32})$/.exec(entry.actor);
  if (raw === undefined) return claimsKey ? `entry ${entry.seq}: the actor '${entry.actor}' claims a signed identity but the entry carries no attestation` : null;
  const a = raw as Partial<Attestation>;
  if ((a.type !== ATTESTATION_TYPE && a.type !== ATTESTATION_TYPE_V1) || typeof a.keyId !== 'string' || typeof a.publicKey !== 'string' || typeof a.signature !== 'string') return `entry ${entry.seq}: malformed attestation`;
  const key = decodeKeyText(a.publicKey, 32);
  if (key === undefined || keyIdOf(key) !== a.keyId) return `entry ${entry.seq}: the attestation's key id is not its public key's`;
  const { attestation: _omit, ...rest } = details as Record<string, unknown>;
  const body: AttestedBody = { seq: entry.seq, prevHash: entry.prevHash, action: entry.action, subject: entry.subject, details: rest, time: entry.time };
  if (!verifyAttestation(a as Attestation, body)) {
    return `entry ${entry.seq}: the attestation by ${a.keyId} does not verify over this entry's action, subject, details, time and place in the log (edited, or a signature replayed from another entry)`;
  }
  if (!claimsKey || claimsKey[2] !== a.keyId) return `entry ${entry.seq}: the actor '${entry.actor}' is not the signer of its attestation (${a.keyId})`;
  const person = personOfKey(a.keyId);
  const claimed = entry.actor.startsWith('person:') ? entry.actor.slice('person:'.length).split('/')[0] : undefined;
  if (claimed !== undefined && claimed !== person) return `entry ${entry.seq}: the actor names person '${claimed}', but key ${a.keyId} belongs to ${person === undefined ? 'no registered person' : `'${person}'`}`;
  return null;
}
