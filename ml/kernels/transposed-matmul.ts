/**
 * Matrix products with a transposed operand on the wasm backend, at the speed of the plain product.
 *
 * Why: tfjs-backend-wasm 4.22 hands `transposeA`/`transposeB` to its C++ BatchMatMul, which runs XNNPACK's
 * fully-connected operator only for the plain layout and falls back to a scalar loop otherwise. Measured on
 * 256×784 · 784×128 (one thread, SIMD): 1.78 ms plain, 24.95 ms with transposeA, 22.81 ms with transposeB.
 * Every dense layer's backward pass uses those layouts (tfjs-core's matMul gradient: dA = dY·Bᵀ, dB = Aᵀ·dY),
 * so training ran at a fraction of the backend's speed.
 *
 * What: the wrapper moves the transposition out of the product. (AB)ᵢⱼ = Σₖ AᵢₖBₖⱼ does not care where Aᵀ
 * came from, so Aᵀ is materialised by the backend's own Transpose kernel (one memory pass, O(mk) against the
 * product's O(mkn)) and the plain kernel is called with both flags off. The sums are the same sums in the same
 * order as XNNPACK's plain product of the transposed copy, which is what the equality tests check against cpu.
 * It wraps the kernels the backend registered (BatchMatMul and _FusedMatMul, the dense layer's forward op),
 * keeping their setup functions, so the backend's own code does every product.
 */
import * as tf from '@tensorflow/tfjs';
import type { KernelBackend, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs';
import { TesseraError } from '../../protocol/errors.ts';

export const TRANSPOSED_MATMUL_KERNELS = ['BatchMatMul', '_FusedMatMul'] as const;

/** The wasm kernels as the backend registered them, captured before the first override replaces them. */
const originals = new Map<string, KernelConfig>();

function kernelOf(name: string): KernelConfig {
  const k = tf.getKernel(name, 'wasm');
  if (k === undefined) throw new TesseraError('TESSERA_ERR_INTERNAL', `the wasm backend registered no '${name}' kernel (tfjs-backend-wasm not imported?)`);
  return k;
}

/** The backend's Transpose kernel on the last two axes: [..., r, c] → [..., c, r]. */
function swapLastTwo(x: TensorInfo, backend: KernelBackend): TensorInfo {
  const rank = x.shape.length;
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  const out = kernelOf('Transpose').kernelFunc({ inputs: { x }, backend, attrs: { perm } });
  if (Array.isArray(out)) throw new TesseraError('TESSERA_ERR_INTERNAL', 'Transpose (wasm) returned several tensors');
  return out;
}

function untransposing(original: KernelFunc): KernelFunc {
  return ({ inputs, backend: untyped, attrs }) => {
    // KernelFunc types its backend as {}; the engine passes the wasm backend, a KernelBackend.
    if (!(untyped instanceof tf.KernelBackend)) throw new TesseraError('TESSERA_ERR_INTERNAL', 'matMul (wasm) was called without a backend');
    const backend = untyped;
    const a = inputs['a'];
    const b = inputs['b'];
    const flags = (attrs ?? {}) as NamedAttrMap;
    const ta = flags['transposeA'] === true;
    const tb = flags['transposeB'] === true;
    if (a === undefined || b === undefined || (!ta && !tb)) return original({ inputs, backend, attrs });
    const temporaries: TensorInfo[] = [];
    try {
      const aPlain = ta ? swapLastTwo(a, backend) : a;
      if (ta) temporaries.push(aPlain);
      const bPlain = tb ? swapLastTwo(b, backend) : b;
      if (tb) temporaries.push(bPlain);
      return original({ inputs: { ...inputs, a: aPlain, b: bPlain }, backend, attrs: { ...flags, transposeA: false, transposeB: false } });
    } finally {
      // The copies are this kernel's own scratch: the engine never saw them, so it would never free them.
      for (const t of temporaries) backend.disposeData(t.dataId);
    }
  };
}

/**
 * The wrapped configs for BatchMatMul and _FusedMatMul. Call before the wasm backend initialises (so the
 * originals' setup functions run once through the wrapper configs) or after (they already ran).
 */
export function transposedMatMulWasmConfigs(): KernelConfig[] {
  return TRANSPOSED_MATMUL_KERNELS.map((name) => {
    let original = originals.get(name);
    if (original === undefined) {
      original = kernelOf(name);
      originals.set(name, original);
    }
    return { ...original, kernelFunc: untransposing(original.kernelFunc) };
  });
}

/** The backend's own configs (the baseline the training bench compares against); only after an override. */
export function originalMatMulWasmConfigs(): KernelConfig[] {
  return TRANSPOSED_MATMUL_KERNELS.map((name) => originals.get(name) ?? kernelOf(name));
}
