/**
 * The mask PRG: AES-256-CTR keystream from node:crypto (NIST SP 800-38A §6.5), read as little-endian Uint32
 * words. Each mask key is HKDF-SHA256 of the full 32-byte agreed secret (pairwise masks, Bonawitz et al. 2017
 * §4 "PRG(s_u,v)") or of the self-mask seed b_u, with `info` binding the round and the pair, and the counter
 * starts at zero: every key is used for exactly one stream, so a fixed IV never repeats a keystream.
 *
 * Masks are accumulated by mask-kernel.mjs (keystream 64 KiB at a time, added with a WebAssembly SIMD loop) and,
 * for large jobs, split across worker threads (mask-threads.ts). The result is bit-exact mod 2^32 whatever
 * the split: Z_(2^32) addition is associative and commutative.
 */
import { hkdfSha256 } from './hkdf.ts';
import { Transcript, wipe } from './bytes.ts';
import { accumulateHere, accumulateParallel, defaultMaskWorkers } from './mask-threads.ts';

export const MASK_KEY_BYTES = 32;
/**
 * Below this many mask words (masks × length) the work stays on the calling thread: waking workers costs
 * about a millisecond, and starting them the first time tens of milliseconds.
 */
export const PARALLEL_MIN_WORDS = 1 << 24;

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

export interface ApplyMasksOptions {
  /** Worker threads besides the caller's; default: cores − 1 (capped) when the job is ≥ PARALLEL_MIN_WORDS, else 0. */
  readonly workers?: number;
}

/** acc ← acc + Σ sign·PRG(key) mod 2^32, in place. The caller still owns (and wipes) the keys. */
export function applyMasks(acc: Uint32Array, masks: ReadonlyArray<MaskSpec>, options: ApplyMasksOptions = {}): void {
  if (masks.length === 0 || acc.length === 0) return;
  const keys = new Uint8Array(MASK_KEY_BYTES * masks.length);
  const signs = new Int8Array(masks.length);
  masks.forEach((m, i) => {
    keys.set(m.key, MASK_KEY_BYTES * i);
    signs[i] = m.sign;
  });
  const workers = options.workers ?? (masks.length * acc.length >= PARALLEL_MIN_WORDS ? defaultMaskWorkers() : 0);
  try {
    if (workers > 0 && masks.length > 1) accumulateParallel(acc, keys, signs, workers);
    else accumulateHere(acc, keys, signs);
  } finally {
    wipe(keys);
  }
}

/** The first `length` words of PRG(key) (for tests and for callers that need the mask itself). */
export function prgWords(key: Uint8Array, length: number): Uint32Array {
  const out = new Uint32Array(length);
  applyMasks(out, [{ key, sign: 1 }]);
  return out;
}
