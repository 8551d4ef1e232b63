/**
 * X25519 key agreement (RFC 7748) through node:crypto, in tweetnacl's raw formats: a 32-byte private scalar
 * (clamped by the function, as nacl.scalarMult does) and a 32-byte public u-coordinate. The key import and the
 * agreement itself are defined once in pairwise-keys.mjs (plain JavaScript, so the mask worker threads run the
 * same code); this module adds the length checks and typed errors.
 */
import type { KeyObject } from 'node:crypto';
import { TesseraError } from '../../../protocol/errors.ts';
import type { RandomSource } from '../../random.ts';
import { importX25519Private, importX25519Public, x25519Agree } from './pairwise-keys.mjs';

export interface X25519KeyPair {
  /** The 32-byte private scalar (nacl.box.keyPair().secretKey format). */
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
  /** node:crypto's handle on the private key, kept so that each agreement does not re-import it. */
  readonly keyObject: KeyObject;
}

function checkLength(b: Uint8Array, what: string): void {
  if (!(b instanceof Uint8Array) || b.length !== 32) {
    throw new TesseraError('TESSERA_ERR_SECAGG_CRYPTO', `${what} must be 32 bytes, got ${b instanceof Uint8Array ? b.length : typeof b}`);
  }
}

export function x25519PrivateKeyObject(secretKey: Uint8Array): KeyObject {
  checkLength(secretKey, 'X25519 private key');
  return importX25519Private(secretKey);
}

export function x25519PublicKeyObject(publicKey: Uint8Array): KeyObject {
  checkLength(publicKey, 'X25519 public key');
  return importX25519Public(publicKey);
}

/** The public key of a private key object (node derives it from the scalar). */
export function x25519PublicOf(privateKey: KeyObject): Uint8Array {
  const x = privateKey.export({ format: 'jwk' }).x;
  if (typeof x !== 'string') throw new TesseraError('TESSERA_ERR_INTERNAL', 'X25519 key export lacks x');
  return new Uint8Array(Buffer.from(x, 'base64url'));
}

/** The key pair whose private scalar is `secretKey` (same result as nacl.box.keyPair.fromSecretKey). */
export function x25519KeyPairFromSecret(secretKey: Uint8Array): X25519KeyPair {
  const keyObject = x25519PrivateKeyObject(secretKey);
  return { secretKey: new Uint8Array(secretKey), publicKey: x25519PublicOf(keyObject), keyObject };
}

/** A fresh key pair from the injected random source (deterministic only when the source is seeded). */
export function generateX25519(rng: RandomSource): X25519KeyPair {
  const sk = new Uint8Array(32);
  rng.fillBytes(sk);
  return x25519KeyPairFromSecret(sk);
}

/**
 * The shared secret X25519(sk, pk). Refuses an all-zero result (RFC 7748 §6.1 "check"): a low-order public
 * key would otherwise force a known secret, hence a known mask or encryption key.
 */
export function x25519(privateKey: KeyObject | Uint8Array, publicKey: KeyObject | Uint8Array): Uint8Array {
  const priv = privateKey instanceof Uint8Array ? x25519PrivateKeyObject(privateKey) : privateKey;
  const pub = publicKey instanceof Uint8Array ? x25519PublicKeyObject(publicKey) : publicKey;
  const secret = x25519Agree(priv, pub);
  // OpenSSL refuses the all-zero shared secret of a low-order point; x25519Agree refuses it too.
  if (secret === null) throw new TesseraError('TESSERA_ERR_SECAGG_CRYPTO', 'X25519 agreement failed: low-order public key (all-zero shared secret)');
  return secret;
}
