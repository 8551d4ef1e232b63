/**
 * Who did a governance action, for the audit log (issue 13 §6). With a key (`--key FILE`), the actor is the
 * signing identity — the person the verified registry (governance/identity/registry-store.ts) binds the key
 * to, else the bare key id — and the entry carries an Ed25519 attestation over the RFC 8785 canonical JSON
 * of {action, subject, details, time}, so the attribution is evidence rather than a claimed user name.
 * Without a key the actor stays `cli:<user>`, marked unsigned. Shared by every command group that audits a
 * governance change (deploy, rollback, policy, budgets and caps, consent) so attribution has one shape.
 */
import { userInfo } from 'node:os';
import { canonicalJson } from '../../lib/canonical-json.ts';
import type { Db } from '../state/database.ts';
import { decodeKeyText, keyIdOf, signDetached, toBase64, verifyDetached } from '../identity/ed25519.ts';
import { readPrivateKeyFile } from '../identity/key-file.ts';
import { trustedApprovers } from '../identity/registry-store.ts';
import type { AuditEntry } from './chain.ts';

export const ATTESTATION_TYPE = 'tessera.audit-attestation/v1';

export interface Attestation {
  readonly type: typeof ATTESTATION_TYPE;
  readonly keyId: string;
  readonly publicKey: string;
  /** Ed25519 over canonicalJson({type, action, subject, details, time}), base64. */
  readonly signature: string;
}

export interface Attributed {
  readonly actor: string;
  readonly signed: boolean;
  /** Signs one action; merge the result into the audit entry's details as `attestation`. */
  attest(action: string, subject: string, details: Record<string, unknown>, time: Date): Attestation | null;
}

function localUser(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

function message(action: string, subject: string, details: Record<string, unknown>, time: Date): string {
  return canonicalJson({ type: ATTESTATION_TYPE, action, subject, details, time: time.toISOString() });
}

/** The actor for a command run with (or without) `--key FILE`. */
export function attributeTo(db: Db, keyFile: string | undefined): Attributed {
  if (keyFile === undefined) return { actor: `${localUser()} (unsigned)`, signed: false, attest: () => null };
  const key = readPrivateKeyFile(keyFile);
  const approver = trustedApprovers(db).find((a) => a.keyId === key.keyId && a.revokedAt === null);
  return {
    actor: approver ? `person:${approver.person}/${key.keyId}` : `key:${key.keyId}`,
    signed: true,
    attest: (action, subject, details, time) => ({
      type: ATTESTATION_TYPE,
      keyId: key.keyId,
      publicKey: toBase64(key.publicKey),
      signature: toBase64(signDetached(message(action, subject, details, time), key.seed)),
    }),
  };
}

/** Checks an attestation against the entry it sits in (details without the attestation itself). */
export function verifyAttestation(a: Attestation, action: string, subject: string, details: Record<string, unknown>, time: string): boolean {
  const key = decodeKeyText(a.publicKey, 32);
  return key !== undefined && verifyDetached(message(action, subject, details, new Date(time)), new Uint8Array(Buffer.from(a.signature, 'base64')), key);
}

/**
 * What an audit entry's attribution claims against what its attestation proves (issue 13 §6), for
 * `audit verify`: an attestation must verify over this entry's own action, subject, details and time (a
 * signature copied from another entry does not), its key id must be its key's, and the actor must name that
 * key — and, for `person:` actors, the person the approver registry binds it to. An actor that claims a
 * signed identity (`person:` or `key:`) without an attestation is a forgery. Null when consistent.
 */
export function attributionProblem(entry: AuditEntry, personOfKey: (keyId: string) => string | undefined): string | null {
  const details = typeof entry.details === 'object' && entry.details !== null && !Array.isArray(entry.details) ? (entry.details as Record<string, unknown>) : null;
  const raw = details?.['attestation'];
  const claimsKey = /^(person:[^/]+\/|key:)([0-9a-f]{32})$/.exec(entry.actor);
  if (raw === undefined) return claimsKey ? `entry ${entry.seq}: the actor '${entry.actor}' claims a signed identity but the entry carries no attestation` : null;
  const a = raw as Partial<Attestation>;
  if (a.type !== ATTESTATION_TYPE || typeof a.keyId !== 'string' || typeof a.publicKey !== 'string' || typeof a.signature !== 'string') return `entry ${entry.seq}: malformed attestation`;
  const key = decodeKeyText(a.publicKey, 32);
  if (key === undefined || keyIdOf(key) !== a.keyId) return `entry ${entry.seq}: the attestation's key id is not its public key's`;
  const { attestation: _omit, ...rest } = details as Record<string, unknown>;
  if (!verifyAttestation(a as Attestation, entry.action, entry.subject, rest, entry.time)) {
    return `entry ${entry.seq}: the attestation by ${a.keyId} does not verify over this entry's action, subject, details and time (edited, or a signature replayed from another action)`;
  }
  if (!claimsKey || claimsKey[2] !== a.keyId) return `entry ${entry.seq}: the actor '${entry.actor}' is not the signer of its attestation (${a.keyId})`;
  const person = personOfKey(a.keyId);
  const claimed = entry.actor.startsWith('person:') ? entry.actor.slice('person:'.length).split('/')[0] : undefined;
  if (claimed !== undefined && claimed !== person) return `entry ${entry.seq}: the actor names person '${claimed}', but key ${a.keyId} belongs to ${person === undefined ? 'no registered person' : `'${person}'`}`;
  return null;
}
