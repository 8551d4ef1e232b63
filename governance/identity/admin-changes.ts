/**
 * Admin-signed changes to the trust registry (issue 13 §3). The registry is not the `approvers` table but a
 * hash chain of signed change records (`approver_changes`): one explicit `init`, signed by every founding
 * admin's key, then additions, revocations and role changes, each signed by a quorum of distinct admin
 * *people* and bound to the hash of the record before it, so a signed change cannot be replayed later or
 * against another registry. Whoever reads the registry replays the chain and re-verifies every signature
 * (`replayRegistry`); rows an insider writes straight into the `approvers` table are not in the chain and do
 * not count. Pure apart from the two small storage functions at the end.
 */
import { z } from 'zod';
import { canonicalHash, canonicalJson } from '../../lib/canonical-json.ts';
import { TesseraError } from '../../protocol/errors.ts';
import { decodeKeyText, keyIdOf, signDetached, toBase64, verifyDetached, type Ed25519KeyPair } from './ed25519.ts';
import { RoleName, personIdOf, type Approver } from './approvers.ts';

export const ADMIN_CHANGE_TYPE = 'tessera.admin-change/v1';
export const ADMIN_ROLE = 'admin';
export const GENESIS = '0'.repeat(64);
const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);
/** UTC only ("Z"): instants written with offsets compared wrongly as strings before (issue 13 §5). */
export const UtcInstant = z.iso.datetime({ offset: false });

const Person = z.object({ person: z.string().min(1).max(128), name: z.string().min(1).max(256), publicKey: z.string(), roles: z.array(RoleName).min(1) }).strict();

export const AdminChangeBody = z.discriminatedUnion('op', [
  z.object({ op: z.literal('init'), admins: z.array(Person).min(1), adminQuorum: z.number().int().min(1) }).strict(),
  z.object({ op: z.literal('approver.add'), person: z.string().min(1).max(128), name: z.string().min(1).max(256), publicKey: z.string(), roles: z.array(RoleName).min(1) }).strict(),
  z.object({ op: z.literal('approver.revoke'), keyId: z.string().regex(/^[0-9a-f]{32}$/), reason: z.string().min(1) }).strict(),
  z.object({ op: z.literal('approver.roles'), person: z.string().min(1), roles: z.array(RoleName).min(1) }).strict(),
  z.object({ op: z.literal('policy.set'), policyHash: Hex64, previousPolicyHash: Hex64.nullable() }).strict(),
]);
export type AdminChangeBody = z.infer<typeof AdminChangeBody>;

export const AdminChangePayload = z
  .object({
    type: z.literal(ADMIN_CHANGE_TYPE),
    change: AdminChangeBody,
    /** Hash of the last record of the registry chain this change applies to (GENESIS for init). */
    registryHead: Hex64,
    issuedAt: UtcInstant,
  })
  .strict();
export type AdminChangePayload = z.infer<typeof AdminChangePayload>;

export const SignedAdminChange = z
  .object({
    payload: AdminChangePayload,
    signatures: z.array(z.object({ keyId: z.string(), signature: z.string() }).strict()),
  })
  .strict();
export type SignedAdminChange = z.infer<typeof SignedAdminChange>;

/** The registry after replaying its chain. */
export interface Registry {
  readonly head: string;
  readonly initialised: boolean;
  readonly adminQuorum: number;
  readonly approvers: readonly Approver[];
}

export const EMPTY_REGISTRY: Registry = { head: GENESIS, initialised: false, adminQuorum: 1, approvers: [] };

export function recordHash(c: SignedAdminChange): string {
  return canonicalHash(c);
}

/** Adds one signature (by `key`) to a change. */
export function signAdminChange(change: SignedAdminChange, key: Ed25519KeyPair): SignedAdminChange {
  const signature = toBase64(signDetached(canonicalJson(change.payload), key.seed));
  return { payload: change.payload, signatures: [...change.signatures.filter((s) => s.keyId !== key.keyId), { keyId: key.keyId, signature }] };
}

export function newAdminChange(change: AdminChangeBody, registryHead: string, now: Date = new Date()): SignedAdminChange {
  return { payload: AdminChangePayload.parse({ type: ADMIN_CHANGE_TYPE, change, registryHead, issuedAt: now.toISOString() }), signatures: [] };
}

function activeAdmins(r: Registry): Approver[] {
  return r.approvers.filter((a) => a.revokedAt === null && a.roles.includes(ADMIN_ROLE));
}

/** How many distinct admin people must sign: the configured quorum, or every active admin if there are fewer. */
export function requiredAdminSignatures(r: Registry): number {
  return Math.max(1, Math.min(r.adminQuorum, new Set(activeAdmins(r).map((a) => a.person)).size));
}

/** The distinct admin people whose valid signatures the change carries. */
export function adminSigners(r: Registry, c: SignedAdminChange): string[] {
  const message = canonicalJson(c.payload);
  const people = new Set<string>();
  for (const s of c.signatures) {
    const admin = activeAdmins(r).find((a) => a.keyId === s.keyId);
    const key = admin ? decodeKeyText(admin.publicKey, 32) : undefined;
    if (admin && key && verifyDetached(message, new Uint8Array(Buffer.from(s.signature, 'base64')), key)) people.add(admin.person);
  }
  return [...people].sort();
}

/** Throws TESSERA_ERR_APPROVAL unless the change is bound to `r` and signed by its admin quorum of distinct people. */
export function assertAdminQuorum(r: Registry, c: SignedAdminChange): string[] {
  if (!r.initialised) throw new TesseraError('TESSERA_ERR_APPROVAL', 'The approver registry is not initialised: run `tessera approvers init` once first');
  if (c.payload.registryHead !== r.head) {
    throw new TesseraError('TESSERA_ERR_APPROVAL', `The change was signed for registry state ${c.payload.registryHead.slice(0, 16)}…, but the registry is at ${r.head.slice(0, 16)}… (a replayed or stale change; sign it again)`);
  }
  const signers = adminSigners(r, c);
  const need = requiredAdminSignatures(r);
  if (signers.length < need) {
    throw new TesseraError('TESSERA_ERR_APPROVAL', `The change needs valid signatures from ${need} distinct admin ${need === 1 ? 'person' : 'people'}; it has ${signers.length}${signers.length ? ` (${signers.join(', ')})` : ''}`, {
      details: { required: need, signers },
    });
  }
  return signers;
}

function publicKeyOf(text: string): Uint8Array {
  const key = decodeKeyText(text, 32);
  if (!key) throw new TesseraError('TESSERA_ERR_APPROVAL', 'A change names a malformed public key');
  return key;
}

/** Applies one verified record to the registry (pure). Throws TESSERA_ERR_APPROVAL when it does not apply. */
export function applyChange(r: Registry, c: SignedAdminChange): Registry {
  const p = c.payload;
  const at = p.issuedAt;
  const head = recordHash(c);
  const ch = p.change;
  if (ch.op === 'init') {
    if (r.initialised || p.registryHead !== GENESIS) throw new TesseraError('TESSERA_ERR_APPROVAL', 'The registry is already initialised: init happens once');
    const approvers: Approver[] = ch.admins.map((a) => {
      const key = publicKeyOf(a.publicKey);
      return { keyId: keyIdOf(key), person: a.person, publicKey: toBase64(key), name: a.name, roles: [...new Set([ADMIN_ROLE, ...a.roles])].sort(), addedAt: at, revokedAt: null, revokedReason: null };
    });
    // Every founding admin proves possession of their key by signing the init.
    const founders = { head: GENESIS, initialised: true, adminQuorum: approvers.length, approvers };
    if (adminSigners(founders, c).length !== new Set(approvers.map((a) => a.person)).size) throw new TesseraError('TESSERA_ERR_APPROVAL', 'init must be signed by every founding admin key');
    return { head, initialised: true, adminQuorum: ch.adminQuorum, approvers };
  }
  if (ch.op === 'policy.set') throw new TesseraError('TESSERA_ERR_APPROVAL', 'policy changes are not registry records');
  assertAdminQuorum(r, c);
  if (ch.op === 'approver.add') {
    const key = publicKeyOf(ch.publicKey);
    const keyId = keyIdOf(key);
    if (r.approvers.some((a) => a.keyId === keyId)) throw new TesseraError('TESSERA_ERR_APPROVAL', `Key ${keyId} is already registered`);
    const existing = r.approvers.find((a) => a.person === ch.person && a.revokedAt === null);
    const roles = existing ? [...existing.roles] : [...new Set(ch.roles)].sort();
    const added: Approver = { keyId, person: ch.person, publicKey: toBase64(key), name: ch.name, roles, addedAt: at, revokedAt: null, revokedReason: null };
    return { ...r, head, approvers: [...r.approvers, added] };
  }
  if (ch.op === 'approver.revoke') {
    const target = r.approvers.find((a) => a.keyId === ch.keyId);
    if (!target) throw new TesseraError('TESSERA_ERR_NOT_FOUND', `No approver with key id ${ch.keyId}`);
    if (target.revokedAt !== null) throw new TesseraError('TESSERA_ERR_APPROVAL', `Key ${ch.keyId} was already revoked at ${target.revokedAt}`);
    return { ...r, head, approvers: r.approvers.map((a) => (a.keyId === ch.keyId ? { ...a, revokedAt: at, revokedReason: ch.reason } : a)) };
  }
  if (!r.approvers.some((a) => a.person === ch.person)) throw new TesseraError('TESSERA_ERR_NOT_FOUND', `No approver person '${ch.person}'`);
  const roles = [...new Set(ch.roles)].sort();
  return { ...r, head, approvers: r.approvers.map((a) => (a.person === ch.person ? { ...a, roles } : a)) };
}

export interface ReplayResult {
  readonly registry: Registry;
  /** Registry state after each record (index i: after record i), for checking changes signed in the past. */
  readonly history: readonly Registry[];
  /** Set when a stored record does not verify: the chain is cut there and later records are ignored. */
  readonly problem: string | null;
}

/** Replays stored records from genesis, re-verifying each (signatures, quorum, binding to the previous record). */
export function replayRegistry(records: readonly unknown[]): ReplayResult {
  let r = EMPTY_REGISTRY;
  const history: Registry[] = [];
  for (const [i, raw] of records.entries()) {
    const parsed = SignedAdminChange.safeParse(raw);
    if (!parsed.success) return { registry: r, history, problem: `registry record ${i + 1} is malformed` };
    try {
      if (parsed.data.payload.registryHead !== r.head) throw new TesseraError('TESSERA_ERR_APPROVAL', 'it is not bound to the record before it (records removed, reordered or inserted)');
      r = applyChange(r, parsed.data);
    } catch (e) {
      return { registry: r, history, problem: `registry record ${i + 1} (${parsed.data.payload.change.op}) does not verify: ${e instanceof Error ? e.message : String(e)}` };
    }
    history.push(r);
  }
  return { registry: r, history, problem: null };
}

/** A founding admin for `init`. */
export function founder(name: string, publicKey: Uint8Array, roles: readonly string[] = [], person?: string): z.infer<typeof Person> {
  return { person: person ?? personIdOf(name), name, publicKey: toBase64(publicKey), roles: [...new Set([ADMIN_ROLE, ...roles])].sort() };
}
