/**
 * The injected source of randomness (house rule 5). Production code takes a `RandomSource`; the default is
 * the operating system's CSPRNG through node:crypto. A seeded generator exists only for simulations that ask
 * for determinism, and it carries `isPrivate: false` so that every result computed with it can be marked
 * "not private".
 */
import { randomFillSync } from 'node:crypto';
import seedrandom from 'seedrandom';

export interface RandomSource {
  /** False for seeded generators: anything computed with it must be reported as not private. */
  readonly isPrivate: boolean;
  /** Fills the array with uniformly random bytes. */
  fillBytes(out: Uint8Array): void;
  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number;
  /** A uniform double in [0, 1) with 53 random bits. */
  nextFloat(): number;
  /**
   * Seeded generators only: an independent stream for these labels, the same whatever was drawn from this one
   * before (so a resumed simulation draws in round r exactly what an uninterrupted one draws). Absent on the
   * CSPRNG, which has no position to reproduce.
   */
  readonly derive?: (...labels: Array<string | number>) => RandomSource;
}

const TWO_POW_32 = 4294967296;
const TWO_POW_53 = 9007199254740992;

/** Buffers the OS CSPRNG so that drawing one number does not cost one system call. */
export function cryptoRandom(bufferBytes = 4096): RandomSource {
  const buf = new Uint8Array(bufferBytes);
  const view = new DataView(buf.buffer);
  let pos = bufferBytes;
  const take4 = (): number => {
    if (pos + 4 > bufferBytes) {
      randomFillSync(buf);
      pos = 0;
    }
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  return {
    isPrivate: true,
    fillBytes(out) {
      randomFillSync(out);
    },
    nextUint32: take4,
    nextFloat() {
      // 53 bits: 27 high + 26 low, the standard construction for a uniform double in [0, 1).
      const hi = take4() >>> 5;
      const lo = take4() >>> 6;
      return (hi * 67108864 + lo) / TWO_POW_53;
    },
  };
}

/**
 * A deterministic generator for reproducible simulations only. NOT PRIVATE: its output is predictable from
 * the seed, so noise or masks drawn from it protect nothing.
 */
export function seededRandom(seed: string | number): RandomSource {
  const rng = seedrandom(String(seed));
  const nextUint32 = (): number => rng.int32() >>> 0;
  return {
    isPrivate: false,
    derive: (...labels) => seededRandom(deriveSeed(seed, ...labels)),
    fillBytes(out) {
      for (let i = 0; i < out.length; i += 4) {
        const v = nextUint32();
        for (let j = 0; j < 4 && i + j < out.length; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
      }
    },
    nextUint32,
    nextFloat() {
      const hi = nextUint32() >>> 5;
      const lo = nextUint32() >>> 6;
      return (hi * 67108864 + lo) / TWO_POW_53;
    },
  };
}

/** Derives an independent seeded stream (for per-client generators in simulations). */
export function deriveSeed(seed: string | number, ...labels: Array<string | number>): string {
  return [String(seed), ...labels.map(String)].join('/');
}

/**
 * The stream a round draws for one purpose (issue 14 §1): for a seeded source a fresh generator keyed by
 * (seed, round, purpose), so the draws of round r do not depend on how many numbers earlier rounds — or an
 * earlier process, before a crash — consumed; the CSPRNG itself otherwise.
 */
export function roundStream(rng: RandomSource, round: number, purpose: string, ...more: Array<string | number>): RandomSource {
  return rng.derive ? rng.derive('round', round, purpose, ...more) : rng;
}

/** Uniform integer in [0, n) without modulo bias (rejection sampling). */
export function uniformInt(rng: RandomSource, n: number): number {
  if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32) throw new RangeError(`uniformInt: n must be an integer in [1, 2^32], got ${n}`);
  const limit = TWO_POW_32 - (TWO_POW_32 % n);
  for (;;) {
    const v = rng.nextUint32();
    if (v < limit) return v % n;
  }
}

/** Fisher–Yates shuffle in place. */
export function shuffleInPlace<T>(rng: RandomSource, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = uniformInt(rng, i + 1);
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}
