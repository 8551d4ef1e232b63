/**
 * The mask PRG: AES-256-CTR keystream from node:crypto (NIST SP 800-38A §6.5), read as little-endian Uint32
 * words. Each mask key is HKDF-SHA256 of the full 32-byte agreed secret (pairwise masks, Bonawitz et al. 2017
 * §4 "PRG(s_u,v)") or of the self-mask seed b_u, with `info` binding the round and the pair, and the counter
 * starts at zero: every key is used for exactly one stream, so a fixed IV never repeats a keystream.
 *
 * Masks are applied chunk by chunk (64 KiB of keystream at a time, all masks per chunk) so that the
 * accumulator chunk stays in cache and node:crypto's output buffers stay below the allocator's mmap
 * threshold — measured 3–5× faster than expanding whole 4 MB masks one after the other.
 */
import { createCipheriv, type Cipher } from 'node:crypto';
import { hkdfSha256 } from './hkdf.ts';
import { Transcript } from './bytes.ts';

export const MASK_KEY_BYTES = 32;
const ZERO_IV = Buffer.alloc(16);
const CHUNK_WORDS = 16_384;
const ZERO_CHUNK = Buffer.alloc(CHUNK_WORDS * 4);

/** One mask to add (+1) or subtract (−1) modulo 2^32. */
export interface MaskSpec {
  readonly key: Uint8Array;
  readonly sign: 1 | -1;
}

/** Key of the pairwise mask between clients `a` and `b` (symmetric in a, b). */
export function pairwiseMaskKey(agreedSecret: Uint8Array, roundId: string, a: number, b: number): Uint8Array {
  const info = new Transcript('tessera-secagg/v1/pairwise-mask').string(roundId).u32(Math.min(a, b)).u32(Math.max(a, b)).finish();
  return hkdfSha256(agreedSecret, new Uint8Array(0), info, MASK_KEY_BYTES);
}

/** Key of client `index`'s self mask, from its 32-byte seed b_u. */
export function selfMaskKey(seed: Uint8Array, roundId: string, index: number): Uint8Array {
  const info = new Transcript('tessera-secagg/v1/self-mask').string(roundId).u32(index).finish();
  return hkdfSha256(seed, new Uint8Array(0), info, MASK_KEY_BYTES);
}

function keystream(key: Uint8Array): Cipher {
  return createCipheriv('aes-256-ctr', key, ZERO_IV);
}

function nextWords(c: Cipher, words: number): Uint32Array {
  const ks = c.update(words === CHUNK_WORDS ? ZERO_CHUNK : ZERO_CHUNK.subarray(0, words * 4));
  // Outputs of this size are never pool slices, but stay correct if one ever is.
  return ks.byteOffset % 4 === 0 ? new Uint32Array(ks.buffer, ks.byteOffset, words) : new Uint32Array(new Uint8Array(ks).buffer);
}

/** acc ← acc + Σ sign·PRG(key) mod 2^32, in place. */
export function applyMasks(acc: Uint32Array, masks: ReadonlyArray<MaskSpec>): void {
  const streams = masks.map((m) => keystream(m.key));
  const d = acc.length;
  for (let off = 0; off < d; off += CHUNK_WORDS) {
    const words = Math.min(CHUNK_WORDS, d - off);
    for (let m = 0; m < masks.length; m++) {
      const ks = nextWords(streams[m] as Cipher, words);
      // Uint32Array stores reduce modulo 2^32, which is exactly the arithmetic of Z_(2^32).
      if ((masks[m] as MaskSpec).sign === 1) for (let i = 0; i < words; i++) acc[off + i] = (acc[off + i] as number) + (ks[i] as number);
      else for (let i = 0; i < words; i++) acc[off + i] = (acc[off + i] as number) - (ks[i] as number);
    }
  }
}

/** The first `length` words of PRG(key) (for tests and for callers that need the mask itself). */
export function prgWords(key: Uint8Array, length: number): Uint32Array {
  const out = new Uint32Array(length);
  applyMasks(out, [{ key, sign: 1 }]);
  return out;
}
