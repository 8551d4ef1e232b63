/**
 * The wasm training kernels as they were before issue 16, for the training bench's same-run baseline only:
 * tfjs-backend-wasm's own BatchMatMul/_FusedMatMul (a scalar loop for transposed operands), its own Transpose and
 * Sum (a single-pass transpose that aliases in cache on batches of 256), and the
 * Conv2DBackpropFilter of commit 41745a4 (fh·fw strided slices, a concat, a transposeA matMul). Production code
 * never registers these; `useKernels('baseline')` swaps them in, `useKernels('tessera')` swaps ours back.
 */
import * as tf from '@tensorflow/tfjs';
import type { Conv2DBackpropFilterAttrs, KernelConfig, KernelFunc } from '@tensorflow/tfjs';
import { blockedTransposeWasmConfigs, originalTransposeWasmConfigs } from '../ml/kernels/blocked-transpose.ts';
import { conv2dBackpropFilterWasmConfig } from '../ml/kernels/conv2d-backprop-filter.ts';
import { replaceKernel } from '../ml/kernels/register-wasm.ts';
import { originalMatMulWasmConfigs, transposedMatMulWasmConfigs } from '../ml/kernels/transposed-matmul.ts';

export type KernelSet = 'tessera' | 'baseline';

/** How the bench's JSON names each set's backend. */
export const BACKEND_LABEL: Record<KernelSet, string> = { tessera: 'wasm', baseline: 'wasm (tfjs kernels, before issue 16)' };

function pair(v: number | [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

/** The pre-issue-16 filter gradient: im2col by per-tap strided slices and a concat, then Pᵀ·DY. */
function slicedIm2col(x: tf.Tensor4D, dy: tf.Tensor4D, attrs: Conv2DBackpropFilterAttrs): tf.Tensor4D {
  return tf.tidy(() => {
    const [fh, fw, inC, outC] = attrs.filterShape;
    const [sh, sw] = pair(attrs.strides);
    const [batch, inH, inW] = x.shape;
    const info = tf.backend_util.computeConv2DInfo(x.shape, attrs.filterShape, [sh, sw], 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
    const { outHeight: outH, outWidth: outW, padInfo } = info;
    const padBottom = Math.max(padInfo.bottom, (outH - 1) * sh + fh - inH - padInfo.top);
    const padRight = Math.max(padInfo.right, (outW - 1) * sw + fw - inW - padInfo.left);
    const xp = tf.pad(x, [[0, 0], [padInfo.top, padBottom], [padInfo.left, padRight], [0, 0]]);
    const rows = batch * outH * outW;
    const taps: tf.Tensor2D[] = [];
    for (let i = 0; i < fh; i++) {
      for (let j = 0; j < fw; j++) {
        const tap = tf.stridedSlice(xp, [0, i, j, 0], [batch, i + (outH - 1) * sh + 1, j + (outW - 1) * sw + 1, inC], [1, sh, sw, 1]);
        taps.push(tf.reshape(tap, [rows, inC]));
      }
    }
    const patches = tf.concat2d(taps, 1);
    return tf.reshape(tf.matMul(patches, tf.reshape(dy, [rows, outC]), true, false), [fh, fw, inC, outC]);
  });
}

const slicedKernel: KernelFunc = ({ inputs, attrs }) => slicedIm2col(inputs['x'] as tf.Tensor4D, inputs['dy'] as tf.Tensor4D, attrs as unknown as Conv2DBackpropFilterAttrs);
const BASELINE_CONV: KernelConfig = { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: slicedKernel };

/** Registers one kernel set on the (already initialised) wasm backend; the engine looks kernels up per call. */
export function useKernels(set: KernelSet): void {
  const configs =
    set === 'baseline'
      ? [...originalMatMulWasmConfigs(), ...originalTransposeWasmConfigs(), BASELINE_CONV]
      : [...transposedMatMulWasmConfigs(), ...blockedTransposeWasmConfigs(), conv2dBackpropFilterWasmConfig];
  for (const c of configs) replaceKernel(c);
}
