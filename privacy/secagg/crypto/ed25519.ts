/**
 * Ed25519 signatures (RFC 8032) through node:crypto, in tweetnacl's raw formats: 32-byte seed, 32-byte public
 * key, 64-byte detached signature (nacl.sign.keyPair.fromSeed / nacl.sign.detached give identical bytes; the
 * crypto tests prove it). The long-term identity of a SecAgg client is one of these key pairs.
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { TesseraError } from '../../../protocol/errors.ts';
import type { RandomSource } from '../../random.ts';

// Raw keys enter node:crypto as JWK (RFC 8037 §2), 10–20× faster here than DER (see x25519.ts); node derives
// the public key of a private JWK from `d` alone, so `x` is a placeholder there.
const PLACEHOLDER_X = Buffer.alloc(32).toString('base64url');
const b64url = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');

export interface Ed25519Identity {
  readonly publicKey: Uint8Array;
  /** Detached signature over `message`. */
  sign(message: Uint8Array): Uint8Array;
}

/** The identity of a 32-byte seed; the seed stays inside the node:crypto key object. */
export function ed25519FromSeed(seed: Uint8Array): Ed25519Identity {
  if (!(seed instanceof Uint8Array) || seed.length !== 32) throw new TesseraError('TESSERA_ERR_SECAGG_CRYPTO', 'Ed25519 seed must be 32 bytes');
  const key = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: PLACEHOLDER_X }, format: 'jwk' });
  const x = key.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new TesseraError('TESSERA_ERR_INTERNAL', 'Ed25519 key export lacks x');
  const publicKey = new Uint8Array(Buffer.from(x, 'base64url'));
  return {
    publicKey,
    sign: (message) => new Uint8Array(nodeSign(null, message, key)),
  };
}

export function generateEd25519(rng: RandomSource): Ed25519Identity {
  const seed = new Uint8Array(32);
  rng.fillBytes(seed);
  const id = ed25519FromSeed(seed);
  seed.fill(0);
  return id;
}

/** Imported public keys are cached: importing costs more than verifying. */
const publicKeyCache = new Map<string, KeyObject>();
const CACHE_LIMIT = 10_000;

function publicKeyObject(publicKey: Uint8Array): KeyObject | undefined {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) return undefined;
  const id = Buffer.from(publicKey).toString('hex');
  let key = publicKeyCache.get(id);
  if (key === undefined) {
    try {
      key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(publicKey) }, format: 'jwk' });
    } catch {
      return undefined;
    }
    if (publicKeyCache.size >= CACHE_LIMIT) publicKeyCache.clear();
    publicKeyCache.set(id, key);
  }
  return key;
}

/**
 * True iff `signature` is a valid RFC 8032 signature of `message` under `publicKey`. Malformed keys and
 * signatures of the wrong length verify as false rather than throwing (OpenSSL's strict checks: S < L,
 * canonical encodings — the Wycheproof tests pin this behaviour down).
 */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(signature instanceof Uint8Array) || signature.length !== 64) return false;
  const key = publicKeyObject(publicKey);
  if (key === undefined) return false;
  try {
    return nodeVerify(null, message, key, signature);
  } catch {
    return false;
  }
}
