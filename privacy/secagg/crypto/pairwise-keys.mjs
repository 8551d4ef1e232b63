// The one definition of X25519 key handling and of the pairwise mask key, in plain JavaScript so that the
// same code runs on the main thread (x25519.ts and prg.ts wrap it, with typed errors) and in the mask worker
// threads (mask-plan.mjs), which derive the pairwise mask keys of their own batches: the ≈ 22,500 agreed
// secrets of a large unmasking never cross threads, and each is wiped right after its key is derived.
//
// X25519 (RFC 7748) through node:crypto in tweetnacl's raw formats: a 32-byte private scalar (clamped by
// OpenSSL, as nacl.scalarMult does) and a 32-byte public u-coordinate. Raw keys enter node:crypto as JWK
// (RFC 8037 §2): measured 10–20× faster here than the DER route, whose OpenSSL 3 decoder costs about 1 ms per
// private key. For a private JWK node requires `x` but derives the public key from `d` alone, so a placeholder
// is passed and the real public key read back (x25519.test.ts pins this against RFC 7748, Wycheproof and
// tweetnacl).
//
// Pairwise mask key (Bonawitz et al., CCS 2017, §4 "PRG(s_u,v)"): HKDF-SHA256 (RFC 5869) of the full 32-byte
// agreed secret, empty salt, info = the transcript encoding (bytes.ts Transcript: every field a 4-byte
// big-endian length then its bytes) of [label, roundId, min(u, v), max(u, v)], so the key is symmetric in the
// pair and useless in another round or for another pair.
import { Buffer } from 'node:buffer';
import { createPrivateKey, createPublicKey, diffieHellman, hkdfSync } from 'node:crypto';

const PLACEHOLDER_X = Buffer.alloc(32).toString('base64url');
const b64url = (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');

export const PAIRWISE_MASK_LABEL = 'tessera-secagg/v1/pairwise-mask';
export const MASK_KEY_BYTES = 32;
const EMPTY = new Uint8Array(0);

/** node:crypto's private key object for a raw 32-byte X25519 scalar (the caller checked the length). */
export function importX25519Private(secretKey) {
  return createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64url(secretKey), x: PLACEHOLDER_X }, format: 'jwk' });
}

/** node:crypto's public key object for a raw 32-byte u-coordinate (the caller checked the length). */
export function importX25519Public(publicKey) {
  return createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64url(publicKey) }, format: 'jwk' });
}

/**
 * X25519(sk, pk) as a fresh Uint8Array, or null when there is no usable secret: OpenSSL refuses the all-zero
 * result of a low-order point, and an all-zero result is refused here too (RFC 7748 §6.1 "check"), since a
 * forced known secret would make a mask or share key public.
 */
export function x25519Agree(privateKey, publicKey) {
  let out;
  try {
    out = diffieHellman({ privateKey, publicKey });
  } catch {
    return null;
  }
  const secret = new Uint8Array(out);
  out.fill(0);
  let any = 0;
  for (let i = 0; i < secret.length; i++) any |= secret[i];
  return any === 0 ? null : secret;
}

/** The transcript encoding of [PAIRWISE_MASK_LABEL, roundId]: the round-bound prefix of every pair's info. */
export function pairwiseInfoPrefix(roundId) {
  const label = Buffer.from(PAIRWISE_MASK_LABEL, 'utf8');
  const round = Buffer.from(roundId, 'utf8');
  const out = Buffer.alloc(8 + label.length + round.length);
  out.writeUInt32BE(label.length, 0);
  label.copy(out, 4);
  out.writeUInt32BE(round.length, 4 + label.length);
  round.copy(out, 8 + label.length);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** A reusable info buffer for one round: the prefix, then u32(4) ‖ u32(min) ‖ u32(4) ‖ u32(max) per pair. */
export function pairwiseInfoBuffer(prefix) {
  const info = new Uint8Array(prefix.length + 16);
  info.set(prefix, 0);
  return info;
}

/**
 * The pairwise mask key of clients a and b from their agreed secret, written into `out` (32 bytes).
 * `info` is a pairwiseInfoBuffer of the round; its last 16 bytes are overwritten with the pair.
 */
export function pairwiseMaskKeyInto(agreed, info, a, b, out) {
  const view = new DataView(info.buffer, info.byteOffset + info.length - 16, 16);
  view.setUint32(0, 4, false);
  view.setUint32(4, Math.min(a, b), false);
  view.setUint32(8, 4, false);
  view.setUint32(12, Math.max(a, b), false);
  const key = new Uint8Array(hkdfSync('sha256', agreed, EMPTY, info, MASK_KEY_BYTES));
  out.set(key);
  key.fill(0);
}
