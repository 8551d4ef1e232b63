/**
 * Ed25519 signatures (RFC 8032) for approvals and audit checkpoints, through node:crypto (15–70× faster than
 * tweetnacl here, DESIGN.md) but keyed exactly as tweetnacl is: a 32-byte seed gives the same key pair as
 * `nacl.sign.keyPair.fromSeed(seed)` (RFC 8032 §5.1.5 derives the key from the seed alone), and signatures
 * are deterministic (§5.1.6), so both libraries produce identical bytes. Pure: no files, no database.
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { sha256Hex } from '../../lib/hash.ts';
import { TesseraError } from '../../protocol/errors.ts';

export const SEED_BYTES = 32;
export const PUBLIC_KEY_BYTES = 32;
export const SIGNATURE_BYTES = 64;

// DER prefixes of an Ed25519 PKCS#8 private key and SPKI public key (RFC 8410 §7 and §4): the raw 32-byte
// seed or public key follows each prefix.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export interface Ed25519KeyPair {
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
  /** Short identifier of the public key (see keyIdOf). */
  readonly keyId: string;
}

/**
 * Key id: the first 128 bits of SHA-256 over the raw 32-byte public key, in hex. Collisions would need
 * about 2^64 keys, and the id is always checked against the stored full public key anyway.
 */
export function keyIdOf(publicKey: Uint8Array): string {
  if (publicKey.length !== PUBLIC_KEY_BYTES) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `An Ed25519 public key has ${PUBLIC_KEY_BYTES} bytes, got ${publicKey.length}`);
  return sha256Hex(publicKey).slice(0, 32);
}

function privateKeyObject(seed: Uint8Array): KeyObject {
  if (seed.length !== SEED_BYTES) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `An Ed25519 seed has ${SEED_BYTES} bytes, got ${seed.length}`);
  return createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, seed]), format: 'der', type: 'pkcs8' });
}

/** The key pair of a 32-byte seed (same as tweetnacl's `sign.keyPair.fromSeed`). */
export function keyPairFromSeed(seed: Uint8Array): Ed25519KeyPair {
  const spki = createPublicKey(privateKeyObject(seed)).export({ format: 'der', type: 'spki' });
  const publicKey = new Uint8Array(spki.subarray(SPKI_PREFIX.length));
  return { seed: new Uint8Array(seed), publicKey, keyId: keyIdOf(publicKey) };
}

/** A detached 64-byte signature of `message` (RFC 8032 §5.1.6). */
export function signDetached(message: Uint8Array | string, seed: Uint8Array): Uint8Array {
  const data = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  return new Uint8Array(nodeSign(null, data, privateKeyObject(seed)));
}

/**
 * Verifies a detached signature (RFC 8032 §5.1.7, as OpenSSL implements it: S must be canonical, S < L).
 * Returns false, never throws, for malformed keys or signatures.
 */
export function verifyDetached(message: Uint8Array | string, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_BYTES || publicKey.length !== PUBLIC_KEY_BYTES) return false;
  const data = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  try {
    const key = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' });
    return nodeVerify(null, data, key, signature);
  } catch {
    return false;
  }
}

/** Decodes base64 (standard or URL-safe) or hex text of an exact byte length, or returns undefined. */
export function decodeKeyText(text: string, bytes: number): Uint8Array | undefined {
  const t = text.trim();
  if (new RegExp(`^[0-9a-fA-F]{${bytes * 2}}$`).test(t)) return new Uint8Array(Buffer.from(t, 'hex'));
  if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) {
    const b = Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (b.length === bytes) return new Uint8Array(b);
  }
  return undefined;
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}
