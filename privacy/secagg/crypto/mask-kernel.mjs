// The mask-accumulation kernel, in plain JavaScript so that the same code runs on the main thread (imported by
// prg.ts through mask-kernel.d.mts) and in mask-worker.mjs (a worker thread loads .mjs under tsx and vitest
// alike). It only uses node:crypto and WebAssembly.
//
// What it computes: acc ← acc + Σ sign·PRG(key) mod 2^32, where PRG(key) is the AES-256-CTR keystream (NIST SP
// 800-38A §6.5; zero IV, counter from zero) read as little-endian 32-bit words — see prg.ts for why one key is
// used for exactly one stream. Adding in two's complement on 32-bit lanes is exactly arithmetic in Z_(2^32).
//
// Why it is shaped like this (measured on the project's 2-core machine, see the report of issue 10):
// - AES-256-CTR in node:crypto costs ≈ 1.5 ns per word; a JS typed-array add loop cost ≈ 2 ns more. The add is
//   done here by a 4-lane WebAssembly SIMD loop (i32x4.add / i32x4.sub) over the keystream copied into the
//   module's memory (a memcpy), which costs a small fraction of that.
// - Keystream is produced 64 KiB at a time for every mask of a batch (chunk-major), so the accumulator chunk
//   stays in cache and node:crypto's output buffers stay below the allocator's mmap threshold.
/* global WebAssembly */
import { Buffer } from 'node:buffer';
import { createCipheriv } from 'node:crypto';

export const CHUNK_WORDS = 16_384;
const CHUNK_BYTES = CHUNK_WORDS * 4;
const ZERO_IV = Buffer.alloc(16);
const ZERO_CHUNK = Buffer.alloc(CHUNK_BYTES);
const PAGE = 65_536;

/** unsigned LEB128 (WebAssembly core spec §5.2.2), for the section and body sizes below. */
function leb(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}
const section = (id, body) => [id, ...leb(body.length), ...body];
const ascii = (s) => [...leb(s.length), ...Buffer.from(s, 'ascii')];

/**
 * Body of `(func (param $acc i32) (param $src i32) (param $bytes i32))`: for each 16-byte lane group,
 * acc[i] ← acc[i] op src[i] with op = i32x4.add (SIMD opcode 0xae) or i32x4.sub (0xb1) (WebAssembly SIMD
 * proposal, merged in core spec 2.0 §5.4.8). `bytes` must be a multiple of 16; the callers pad to it.
 *   local $end = $acc + $bytes
 *   block  (br_if 0 if $acc >= $end)
 *     loop  v128.store($acc, op(v128.load($acc), v128.load($src))); $acc += 16; $src += 16; br_if 0 ($acc < $end)
 */
function laneLoop(opcode) {
  const get = (i) => [0x20, i];
  const set = (i) => [0x21, i];
  const plus16 = (i) => [...get(i), 0x41, 0x10, 0x6a, ...set(i)]; // local.get i; i32.const 16; i32.add; local.set i
  const code = [
    ...get(0), ...get(2), 0x6a, ...set(3), // $end = $acc + $bytes
    0x02, 0x40, // block (no result)
    ...get(0), ...get(3), 0x4f, 0x0d, 0x00, // i32.ge_u; br_if 0
    0x03, 0x40, // loop (no result)
    ...get(0), // address for the store
    ...get(0), 0xfd, 0x00, 0x00, 0x00, // v128.load align=1 offset=0
    ...get(1), 0xfd, 0x00, 0x00, 0x00, // v128.load align=1 offset=0
    0xfd, ...leb(opcode), // i32x4.add | i32x4.sub
    0xfd, 0x0b, 0x00, 0x00, // v128.store align=1 offset=0
    ...plus16(0), ...plus16(1),
    ...get(0), ...get(3), 0x49, 0x0d, 0x00, // i32.lt_u; br_if 0 (loop)
    0x0b, // end loop
    0x0b, // end block
    0x0b, // end func
  ];
  const body = [0x01, 0x01, 0x7f, ...code]; // one local group: 1 × i32 ($end)
  return [...leb(body.length), ...body];
}

/** The module's bytes: exports `memory` (1 page, grown by the host), `add` and `sub` (both laneLoop). */
export function simdModuleBytes() {
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
    ...section(1, [0x01, 0x60, 0x03, 0x7f, 0x7f, 0x7f, 0x00]), // type 0: (i32 i32 i32) → ()
    ...section(3, [0x02, 0x00, 0x00]), // two functions of type 0
    ...section(5, [0x01, 0x00, 0x01]), // one memory, min 1 page, no max
    ...section(7, [0x03, ...ascii('memory'), 0x02, 0x00, ...ascii('add'), 0x00, 0x00, ...ascii('sub'), 0x00, 0x01]),
    ...section(10, [0x02, ...laneLoop(0xae), ...laneLoop(0xb1)]),
  ]);
}

let compiled;
/** The compiled module, or null where WebAssembly SIMD is unavailable (then the JS loop is used). */
export function simdModule() {
  if (compiled === undefined) {
    const bytes = simdModuleBytes();
    compiled = typeof WebAssembly === 'object' && WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
  }
  return compiled;
}

/**
 * An accumulator of `words` 32-bit words (the caller's vector, padded to a multiple of 4) plus one keystream
 * chunk of staging space, in one WebAssembly memory (or plain typed arrays without SIMD).
 */
export class MaskAccumulator {
  /** @param {WebAssembly.Module | null} module @param {number} words */
  constructor(module, words) {
    this.words = words;
    this.padded = (words + 3) & ~3;
    this.stageOffset = this.padded * 4;
    const bytes = this.stageOffset + CHUNK_BYTES;
    if (module !== null) {
      const instance = new WebAssembly.Instance(module, {});
      const memory = instance.exports.memory;
      const need = Math.ceil(bytes / PAGE) - memory.buffer.byteLength / PAGE;
      if (need > 0) memory.grow(need);
      this.memory = new Uint8Array(memory.buffer, 0, bytes);
      this.wasmAdd = instance.exports.add;
      this.wasmSub = instance.exports.sub;
    } else {
      this.memory = new Uint8Array(bytes);
    }
    this.acc = new Int32Array(this.memory.buffer, 0, this.padded);
  }

  /** acc[off..off+words) ← that ± src (bytes already in the staging area, `words` a multiple of 4). */
  addStaged(off, words, sign) {
    if (this.wasmAdd !== undefined) {
      (sign === 1 ? this.wasmAdd : this.wasmSub)(off * 4, this.stageOffset, words * 4);
      return;
    }
    const a = this.acc;
    const s = new Int32Array(this.memory.buffer, this.stageOffset, words);
    if (sign === 1) for (let i = 0; i < words; i++) a[off + i] = (a[off + i] + s[i]) | 0;
    else for (let i = 0; i < words; i++) a[off + i] = (a[off + i] - s[i]) | 0;
  }

  /** acc ← acc + v (v: the words of a vector as bytes, e.g. a worker's partial sum), chunk by chunk. */
  addVector(v) {
    for (let off = 0; off < this.padded; off += CHUNK_WORDS) {
      const w = Math.min(CHUNK_WORDS, this.padded - off);
      this.memory.set(v.subarray(off * 4, (off + w) * 4), this.stageOffset);
      this.addStaged(off, w, 1);
    }
  }

  /**
   * acc ← acc + Σ_{m ∈ [from, to)} signs[m]·PRG(key m), key m = keys[32m .. 32m+32).
   * The last chunk asks for keystream up to the padded length: those words land in the padding, never read.
   */
  applyRange(keys, signs, from, to) {
    const streams = [];
    for (let m = from; m < to; m++) streams.push(createCipheriv('aes-256-ctr', keys.subarray(32 * m, 32 * m + 32), ZERO_IV));
    for (let off = 0; off < this.padded; off += CHUNK_WORDS) {
      const w = Math.min(CHUNK_WORDS, this.padded - off);
      const zero = w === CHUNK_WORDS ? ZERO_CHUNK : ZERO_CHUNK.subarray(0, w * 4);
      for (let m = from; m < to; m++) {
        this.memory.set(streams[m - from].update(zero), this.stageOffset);
        this.addStaged(off, w, signs[m]);
      }
    }
  }

  /** Zeroes the accumulator and the staging area (keystream is mask material). */
  wipe() {
    this.memory.fill(0);
  }
}
