/**
 * ChaCha20-Poly1305 (RFC 8439) through node:crypto, for the Shamir shares that travel client → coordinator →
 * client. Output format: ciphertext ‖ 16-byte tag. The associated data binds round, sender, recipient and
 * stage, so a ciphertext moved to another round or pair fails authentication.
 */
import { createCipheriv, createDecipheriv } from 'node:crypto';
import { TesseraError } from '../../../protocol/errors.ts';
import { concatBytes } from './bytes.ts';

export const AEAD_KEY_BYTES = 32;
export const AEAD_NONCE_BYTES = 12;
export const AEAD_TAG_BYTES = 16;

function checkParams(key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== AEAD_KEY_BYTES) throw new TesseraError('TESSERA_ERR_SECAGG_CRYPTO', `ChaCha20-Poly1305 key must be 32 bytes, got ${key.length}`);
  if (nonce.length !== AEAD_NONCE_BYTES) throw new TesseraError('TESSERA_ERR_SECAGG_CRYPTO', `ChaCha20-Poly1305 nonce must be 12 bytes, got ${nonce.length}`);
}

export function aeadSeal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
  checkParams(key, nonce);
  const c = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_BYTES });
  c.setAAD(aad, { plaintextLength: plaintext.length });
  const body = c.update(plaintext);
  c.final();
  return concatBytes(body, c.getAuthTag());
}

/** Opens `ciphertext ‖ tag`; throws TESSERA_ERR_SECAGG_CRYPTO if anything was altered. */
export function aeadOpen(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
  checkParams(key, nonce);
  if (sealed.length < AEAD_TAG_BYTES) throw new TesseraError('TESSERA_ERR_SECAGG_CRYPTO', 'Ciphertext shorter than its tag');
  const body = sealed.subarray(0, sealed.length - AEAD_TAG_BYTES);
  const tag = sealed.subarray(sealed.length - AEAD_TAG_BYTES);
  try {
    const d = createDecipheriv('chacha20-poly1305', key, nonce, { authTagLength: AEAD_TAG_BYTES });
    d.setAAD(aad, { plaintextLength: body.length });
    d.setAuthTag(tag);
    const out = d.update(body);
    d.final();
    return new Uint8Array(out);
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_SECAGG_CRYPTO', 'Ciphertext failed authentication (tampered, or for another round or pair)', { cause });
  }
}
