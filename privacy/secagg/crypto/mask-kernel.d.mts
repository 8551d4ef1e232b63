/** Types of mask-kernel.mjs (plain JavaScript, shared with the worker thread mask-worker.mjs). */
export declare const CHUNK_WORDS: number;
/** A compiled WebAssembly.Module (opaque here: the project's lib settings carry no WebAssembly types). */
export type SimdModule = object;
export declare function simdModuleBytes(): Uint8Array;
export declare function simdModule(): SimdModule | null;
export declare class MaskAccumulator {
  constructor(module: SimdModule | null, words: number);
  readonly words: number;
  /** words rounded up to a multiple of 4 (one SIMD lane group). */
  readonly padded: number;
  readonly memory: Uint8Array;
  readonly acc: Int32Array;
  addVector(v: Uint8Array): void;
  applyRange(keys: Uint8Array, signs: Int8Array, from: number, to: number): void;
  wipe(): void;
}
