/**
 * Signed consent (issue 12 §6): an organisation states its consent terms and signs them with the same
 * Ed25519 key its client proves in the connection handshake (the consortium roster's key). The signature
 * covers the UTF-8 bytes of the RFC 8785 canonical JSON of the payload (lib/canonical-json.ts), as approvals
 * do (governance/approvals/record.ts), so an operator cannot write or widen a consent the organisation never
 * gave: the coordinator verifies it against the roster, where the key's organisation must be the one named.
 *
 * Replay: each record carries `issuedAt` and a random `nonce`; the store refuses a record that is not newer
 * than the organisation's latest recorded grant or withdrawal for that data set (store.ts), so an old grant
 * cannot be recorded again after it was withdrawn or superseded, and an expired one is refused outright.
 * Pure: building, signing and verifying need no storage.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { canonicalHash, canonicalJson } from '../../lib/canonical-json.ts';
import { TesseraError } from '../../protocol/errors.ts';
import { signDetached, toBase64, verifyDetached, type Ed25519KeyPair } from '../identity/ed25519.ts';
import type { ClientRoster } from '../identity/client-roster.ts';

export const CONSENT_TYPE = 'tessera.consent/v1';

/** UTC instants only (`…Z`), compared as instants (the lesson of issue 13 §5 for approvals). */
const Instant = z.iso.datetime({ offset: false });
const Id = z.string().min(1).max(128).regex(/^[A-Za-z0-9._:-]+$/, 'letters, digits, dot, underscore, colon and hyphen');

export const ConsentPayload = z
  .object({
    type: z.literal(CONSENT_TYPE),
    organisation: Id,
    dataset: z.string().min(1).max(128),
    purposes: z.array(z.string().min(1).max(128)).min(1).max(64),
    expiresAt: Instant,
    maxEpsilon: z.number().positive(),
    retentionDays: z.number().int().min(0),
    /** The roster entry whose key signs: its organisation must be `organisation`. */
    signer: z.object({ clientId: Id }).strict(),
    issuedAt: Instant,
    /** 16 random bytes, hex: two grants with the same terms and second are still distinct records. */
    nonce: z.string().regex(/^[0-9a-f]{32}$/),
  })
  .strict();
export type ConsentPayload = z.infer<typeof ConsentPayload>;

export const SignedConsent = z
  .object({
    payload: ConsentPayload,
    /** Ed25519 over the UTF-8 bytes of canonicalJson(payload), base64. */
    signature: z.string().max(200),
  })
  .strict();
export type SignedConsent = z.infer<typeof SignedConsent>;

export interface ConsentTermsInput {
  readonly organisation: string;
  readonly clientId: string;
  readonly dataset: string;
  readonly purposes: readonly string[];
  readonly expiresAt: string;
  readonly maxEpsilon: number;
  readonly retentionDays: number;
}

/** The record's id: SHA-256 of its canonical payload (what the signature covers). */
export function consentId(payload: ConsentPayload): string {
  return canonicalHash(payload);
}

/** Builds and signs a consent with the organisation's key (`tessera consent sign`). */
export function signConsent(terms: ConsentTermsInput, key: Ed25519KeyPair, now: Date = new Date()): SignedConsent {
  const expires = new Date(Date.parse(terms.expiresAt));
  if (Number.isNaN(expires.getTime())) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--expires '${terms.expiresAt}' is not a date`);
  const parsed = ConsentPayload.safeParse({
    type: CONSENT_TYPE,
    organisation: terms.organisation,
    dataset: terms.dataset,
    purposes: [...new Set(terms.purposes.map((p) => p.trim()).filter((p) => p !== ''))],
    expiresAt: expires.toISOString(),
    maxEpsilon: terms.maxEpsilon,
    retentionDays: terms.retentionDays,
    signer: { clientId: terms.clientId },
    issuedAt: now.toISOString(),
    nonce: randomBytes(16).toString('hex'),
  });
  if (!parsed.success) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Invalid consent: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return { payload: parsed.data, signature: toBase64(signDetached(canonicalJson(parsed.data), key.seed)) };
}

export type ConsentSignatureCheck =
  | { readonly ok: true; readonly consent: SignedConsent; readonly id: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Verifies a signed consent against the consortium roster: well-formed (strict), the signer a roster entry of
 * the organisation the consent names, and the signature valid under that entry's key over the canonical payload.
 */
export function verifySignedConsent(raw: unknown, roster: ClientRoster): ConsentSignatureCheck {
  const parsed = SignedConsent.safeParse(raw);
  if (!parsed.success) return { ok: false, reason: `not a signed consent record: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` };
  const { payload, signature } = parsed.data;
  const entry = roster.lookup(payload.signer.clientId);
  if (!entry) return { ok: false, reason: `the signer '${payload.signer.clientId}' is not in the consortium roster` };
  if (entry.orgId !== payload.organisation) {
    return { ok: false, reason: `the signer '${payload.signer.clientId}' speaks for organisation '${entry.orgId ?? '(none)'}' in the roster, not '${payload.organisation}'` };
  }
  const sig = new Uint8Array(Buffer.from(signature, 'base64'));
  if (sig.length !== 64 || !verifyDetached(canonicalJson(payload), sig, entry.publicKey)) {
    return { ok: false, reason: `the signature does not verify under ${payload.organisation}'s roster key (${payload.signer.clientId}): forged, or the terms were edited after signing` };
  }
  return { ok: true, consent: parsed.data, id: consentId(payload) };
}
