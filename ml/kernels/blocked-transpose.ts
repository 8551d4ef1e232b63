/**
 * Matrix transposes on the wasm backend in two cache-friendly passes, and sums over outer axes on top of them.
 *
 * Why: tfjs-backend-wasm 4.22's Transpose runs a 2-D transpose [r, c] → [c, r] as one loop that reads the input
 * in order and writes the output with a stride of r floats (transpose_impl.cc, transpose_2d). When r is a
 * multiple of 64 (a stride of 256 bytes or more that is a power-of-two multiple), consecutive writes fall in the
 * same few cache sets and evict each other. Measured (one thread, SIMD, min of 30): 256×784 → 0.74 ms,
 * 1024×784 → 6.0 ms, against 0.05 ms for 784×128 (stride 784 floats, no aliasing). Training transposes exactly
 * such matrices every step: the batch xᵀ for the first layer's weight gradient (rows = batch size), the
 * activations hᵀ for the next layer's, and Sum over axis 0 (the bias gradients), which the backend runs as a
 * Transpose followed by a row sum.
 *
 * What: the rows are cut into blocks of B = 32 (r = r₁·B), so x is [r₁, B, c], and the backend's own Transpose
 * runs twice: [r₁, B, c] → [r₁, c, B] (r₁ independent B×c transposes writing with a stride of B floats, 128 bytes:
 * no aliasing) and then [r₁, c, B] → [c, r₁, B] (moves contiguous runs of B floats). The result [c, r₁·B] is xᵀ.
 * It is the same data movement, so the output is identical element for element (ml/kernels/blocked-transpose
 * tests compare it with the cpu backend). Leading batch dimensions that the permutation keeps ([..., r, c] →
 * [..., c, r]) are carried along. Every other transpose, and matrices whose rows do not alias, go to the
 * backend's kernel unchanged.
 *
 * Sum: the override transposes the reduced axes innermost with the Transpose above (the permutation tfjs-core's
 * backend_util.getAxesPermutation gives, the one the backend's Sum would apply) and then calls the backend's Sum
 * on the contiguous rows. The backend sums each output's elements in order either way, so the values are the same
 * bits as the backend's own Sum.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelBackend, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import { TesseraError } from '../../protocol/errors.ts';

/** Rows per block: a 32-float write stride (128 bytes) does not alias, and a 32×c slab of a batch fits in L2. */
export const TRANSPOSE_BLOCK = 32;
/** Rows whose count is a multiple of this alias in the backend's loop (measured at 128, 256, 1024; not at 784 or 100). */
const ALIASING_ROWS = 64;
/** Columns below this are too few for two passes to pay off (256×10: 0.007 ms either way). */
const MIN_COLUMNS = 16;

/** The backend's kernels, captured before our overrides replace them. */
const originals = new Map<string, KernelConfig>();

function original(name: string): KernelConfig {
  let k = originals.get(name);
  if (k === undefined) {
    k = tf.getKernel(name, 'wasm');
    if (k === undefined) throw new TesseraError('TESSERA_ERR_INTERNAL', `the wasm backend registered no '${name}' kernel (tfjs-backend-wasm not imported?)`);
    originals.set(name, k);
  }
  return k;
}

function single(out: TensorInfo | TensorInfo[], name: string): TensorInfo {
  if (Array.isArray(out)) throw new TesseraError('TESSERA_ERR_INTERNAL', `${name} (wasm) returned several tensors`);
  return out;
}

function wasmBackend(untyped: unknown, name: string): KernelBackend {
  // KernelFunc types its backend as {}; the engine passes the wasm backend, a KernelBackend.
  if (!(untyped instanceof tf.KernelBackend)) throw new TesseraError('TESSERA_ERR_INTERNAL', `${name} (wasm) was called without a backend`);
  return untyped;
}

/** The backend's own Transpose of `x` (viewed with `shape`, same element count) by `perm`. */
function backendTranspose(x: TensorInfo, shape: number[], perm: number[], backend: KernelBackend): TensorInfo {
  return single(original('Transpose').kernelFunc({ inputs: { x: { dataId: x.dataId, shape, dtype: x.dtype } }, backend, attrs: { perm } }), 'Transpose');
}

/**
 * When `perm` on `shape` swaps the last two non-unit axes and keeps the others in place, the batch size and the
 * matrix [rows, cols] being transposed; otherwise undefined.
 */
function matrixSwap(shape: readonly number[], perm: readonly number[]): { batch: number; rows: number; cols: number } | undefined {
  const kept = perm.filter((p) => (shape[p] ?? 1) !== 1);
  const dims = kept.map((p) => shape[p] ?? 1);
  const order = [...kept].sort((a, b) => a - b);
  const n = kept.length;
  if (n < 2) return undefined;
  // After dropping unit axes the permutation must be [0, 1, …, n−3, n−1, n−2] on the kept axes in order.
  for (let i = 0; i < n - 2; i++) if (kept[i] !== order[i]) return undefined;
  if (kept[n - 2] !== order[n - 1] || kept[n - 1] !== order[n - 2]) return undefined;
  const cols = dims[n - 2] ?? 1; // the output's second-to-last axis is the input's last
  const rows = dims[n - 1] ?? 1;
  const batch = dims.slice(0, n - 2).reduce((a, b) => a * b, 1);
  return { batch, rows, cols };
}

/** Whether the backend's single-pass loop would alias on this matrix (see the module comment). */
export function aliases(rows: number, cols: number): boolean {
  return rows % ALIASING_ROWS === 0 && rows >= 2 * ALIASING_ROWS && cols >= MIN_COLUMNS;
}

const blockedTranspose: KernelFunc = ({ inputs, backend: untyped, attrs }) => {
  const backend = wasmBackend(untyped, 'Transpose');
  const x = inputs['x'];
  const attr = (attrs as NamedAttrMap | undefined)?.['perm'];
  if (x === undefined || !Array.isArray(attr) || !attr.every((p): p is number => typeof p === 'number')) throw new TesseraError('TESSERA_ERR_INTERNAL', 'Transpose (wasm) was called without x or a numeric perm');
  const perm: number[] = attr;
  const swap = matrixSwap(x.shape, perm);
  if (swap === undefined || !aliases(swap.rows, swap.cols)) return original('Transpose').kernelFunc({ inputs, backend, attrs });
  const { batch, rows, cols } = swap;
  const blocks = rows / TRANSPOSE_BLOCK;
  // Pass 1: [batch·blocks, B, cols] → [batch·blocks, cols, B].
  const slabs = backendTranspose(x, [batch * blocks, TRANSPOSE_BLOCK, cols], [0, 2, 1], backend);
  try {
    // Pass 2: [batch, blocks, cols, B] → [batch, cols, blocks, B] = [batch, cols, rows].
    const out = backendTranspose(slabs, [batch, blocks, cols, TRANSPOSE_BLOCK], [0, 2, 1, 3], backend);
    return { dataId: out.dataId, shape: perm.map((p) => x.shape[p] ?? 1), dtype: out.dtype };
  } finally {
    backend.disposeData(slabs.dataId);
  }
};

const sumOverOuterAxes: KernelFunc = ({ inputs, backend: untyped, attrs }) => {
  const backend = wasmBackend(untyped, 'Sum');
  const x = inputs['x'];
  const flags = (attrs ?? {}) as NamedAttrMap;
  if (x === undefined) throw new TesseraError('TESSERA_ERR_INTERNAL', 'Sum (wasm) was called without x');
  const rank = x.shape.length;
  const axes = tf.util.parseAxisParam(flags['axis'] as number | number[], x.shape);
  const perm = tf.backend_util.getAxesPermutation(axes, rank);
  // Reductions over the innermost axes need no transpose; those over others whose transpose does not alias gain nothing.
  const swap = perm === null ? undefined : matrixSwap(x.shape, perm);
  if (perm === null || swap === undefined || !aliases(swap.rows, swap.cols)) return original('Sum').kernelFunc({ inputs, backend, attrs });
  const transposed = single(blockedTranspose({ inputs: { x }, backend, attrs: { perm } }), 'Transpose');
  try {
    const inner = tf.backend_util.getInnerMostAxes(axes.length, rank);
    const out = single(original('Sum').kernelFunc({ inputs: { x: transposed }, backend, attrs: { axis: inner, keepDims: false } }), 'Sum');
    return flags['keepDims'] === true ? { ...out, shape: tf.backend_util.expandShapeToKeepDim(out.shape, axes) } : out;
  } finally {
    backend.disposeData(transposed.dataId);
  }
};

export const BLOCKED_TRANSPOSE_KERNELS = ['Transpose', 'Sum'] as const;

/** The overriding configs (the backend's setup functions kept). Call after the wasm backend is registered. */
export function blockedTransposeWasmConfigs(): KernelConfig[] {
  return [
    { ...original('Transpose'), kernelFunc: blockedTranspose },
    { ...original('Sum'), kernelFunc: sumOverOuterAxes },
  ];
}

/** The backend's own configs (for the training bench's same-run baseline). */
export function originalTransposeWasmConfigs(): KernelConfig[] {
  return BLOCKED_TRANSPOSE_KERNELS.map((name) => original(name));
}
