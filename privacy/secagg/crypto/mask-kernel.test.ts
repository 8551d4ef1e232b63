import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CHUNK_WORDS, MaskAccumulator, simdModule } from './mask-kernel.mjs';
import { applyMasks, type MaskSpec } from './prg.ts';

/** The straightforward definition: acc[i] + Σ sign·LE32(AES-256-CTR(key, IV 0)[4i..4i+4)) mod 2^32. */
function reference(start: Uint32Array, masks: ReadonlyArray<MaskSpec>): Uint32Array {
  const out = start.slice();
  for (const m of masks) {
    const ks = createCipheriv('aes-256-ctr', m.key, Buffer.alloc(16)).update(Buffer.alloc(out.length * 4));
    for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) + m.sign * ks.readUInt32LE(4 * i);
  }
  return out;
}

function randomMasks(count: number): MaskSpec[] {
  const signs = randomBytes(count);
  return Array.from({ length: count }, (_, i) => ({ key: new Uint8Array(randomBytes(32)), sign: ((signs[i] as number) & 1) === 1 ? 1 : -1 }));
}

function randomVector(length: number): Uint32Array {
  const b = randomBytes(length * 4);
  return new Uint32Array(b.buffer, b.byteOffset, length).slice();
}

const same = (a: Uint32Array, b: Uint32Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

// Lengths around the SIMD width (4 words) and the keystream chunk (CHUNK_WORDS), and not multiples of either.
const LENGTHS = [1, 3, 4, 5, 7, 64, 1001, CHUNK_WORDS - 1, CHUNK_WORDS, CHUNK_WORDS + 3, 2 * CHUNK_WORDS + 6, 40_001];

describe('mask accumulation fast path (WebAssembly SIMD kernel, worker threads)', () => {
  it('the hand-assembled SIMD module validates and is used on this runtime', () => {
    expect(simdModule()).not.toBeNull();
  });

  it.each(LENGTHS)('single thread equals the reference for length %i (random masks, signs ±1, random start)', (length) => {
    const masks = randomMasks(37); // more than two batches of 16, the last one partial
    const start = randomVector(length);
    const acc = start.slice();
    applyMasks(acc, masks, { workers: 0 });
    expect(same(acc, reference(start, masks))).toBe(true);
  });

  it.each([5, CHUNK_WORDS + 3, 40_001])('worker threads give the bit-exact reference for length %i', (length) => {
    const masks = randomMasks(53);
    const start = randomVector(length);
    const acc = start.slice();
    applyMasks(acc, masks, { workers: 2 });
    expect(same(acc, reference(start, masks))).toBe(true);
  });

  it('works on a view into a larger buffer and leaves the words around it alone', () => {
    const backing = randomVector(1000);
    const before = backing.slice();
    const view = backing.subarray(13, 13 + 971);
    const masks = randomMasks(20);
    const want = reference(view.slice(), masks);
    applyMasks(view, masks, { workers: 1 });
    expect(same(view, want)).toBe(true);
    expect(same(backing.subarray(0, 13), before.subarray(0, 13))).toBe(true);
    expect(same(backing.subarray(984), before.subarray(984))).toBe(true);
  });

  it('the SIMD loop and the plain JavaScript fallback agree word for word', () => {
    const keys = new Uint8Array(randomBytes(32 * 9));
    const signs = Int8Array.from([1, -1, -1, 1, 1, -1, 1, -1, -1]);
    for (const words of [3, 8, CHUNK_WORDS + 1]) {
      const simd = new MaskAccumulator(simdModule(), words);
      const js = new MaskAccumulator(null, words);
      simd.applyRange(keys, signs, 0, 9);
      js.applyRange(keys, signs, 0, 9);
      expect(Buffer.from(simd.memory.subarray(0, words * 4)).equals(Buffer.from(js.memory.subarray(0, words * 4)))).toBe(true);
      simd.wipe();
      expect(simd.memory.every((x) => x === 0)).toBe(true);
    }
  });

  it('leaves the caller\'s keys intact (the caller wipes them) and handles no masks', () => {
    const masks = randomMasks(3);
    const copies = masks.map((m) => m.key.slice());
    const acc = randomVector(10);
    const start = acc.slice();
    applyMasks(acc, [], { workers: 2 });
    expect(same(acc, start)).toBe(true);
    applyMasks(acc, masks, { workers: 2 });
    masks.forEach((m, i) => expect(Buffer.from(m.key).equals(Buffer.from(copies[i] as Uint8Array))).toBe(true));
  });
});
