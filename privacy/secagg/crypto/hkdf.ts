/**
 * HKDF-SHA256 (RFC 5869): every key SecAgg uses is derived from a 32-byte X25519 secret or seed through this,
 * with an `info` string that binds the protocol label, the round id and the pair of clients, so that a key
 * from one round or one pair is useless in another.
 */
import { hkdfSync } from 'node:crypto';
import { TesseraError } from '../../../protocol/errors.ts';

/** RFC 5869 §2.3: L ≤ 255·HashLen. */
export const HKDF_SHA256_MAX_LENGTH = 255 * 32;

export function hkdfSha256(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 1 || length > HKDF_SHA256_MAX_LENGTH) {
    throw new TesseraError('TESSERA_ERR_SECAGG_CRYPTO', `HKDF-SHA256 output length must be in [1, ${HKDF_SHA256_MAX_LENGTH}], got ${length}`);
  }
  return new Uint8Array(hkdfSync('sha256', ikm, salt, info, length));
}
