/**
 * The filter gradient of a 2-D convolution for the wasm backend, which ships no `Conv2DBackpropFilter`
 * kernel (tfjs-backend-wasm 4.22), so `model.fit` of any CNN fails there without it.
 *
 * Method. For a convolution y[b,oh,ow,o] = Σ_{i,j,c} xpad[b, oh·sh+i, ow·sw+j, c] · w[i,j,c,o]
 * (dilation 1), the filter gradient is
 *   dW[i,j,c,o] = Σ_{b,oh,ow} xpad[b, oh·sh+i, ow·sw+j, c] · dy[b,oh,ow,o],
 * i.e. one matrix product Pᵀ·DY where row (b,oh,ow) of P holds the fh·fw·inC input values under the filter
 * at that output position and DY is dy flattened to [N, outC] (im2col: Chellapilla, Puri & Simard, "High
 * Performance Convolutional Neural Networks for Document Processing", 2006). The same sum, renamed, is a
 * forward convolution: with X′[c, h, w, b] = xpad[b, h, w, c] (channels as the batch, the batch as input channels) and the filter
 * F′[oh, ow, b, o] = dy[b, oh, ow, o],
 *   dW[i,j,c,o] = Σ_{oh,ow,b} X′[c, i + oh·sh, j + ow·sw, b] · F′[oh, ow, b, o],
 * which is conv2d(X′, F′) with stride 1, 'valid' padding and dilation (sh, sw): the filter gradient of a
 * convolution is a convolution of its input with its output gradient, strides becoming dilations (the
 * arithmetic is in Dumoulin & Visin, "A guide to convolution arithmetic for deep learning", 2016). XNNPACK runs it as one implicit GEMM; around it are two transposes and a pad, each
 * one memory pass. (The earlier form — fh·fw strided slices, a concat and a transposed matMul — spent ~23 of
 * conv1's 25.6 ms per batch copying; a GatherV2 im2col measured 12.7 ms: wasm's gather costs ~56 ns/element.)
 */
import * as tf from '@tensorflow/tfjs';
import type { Conv2DBackpropFilterAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { TesseraError } from '../../protocol/errors.ts';

export const CONV2D_BACKPROP_FILTER = 'Conv2DBackpropFilter';

/** The engine hands a registered kernel the op's own input tensors; anything else is a caller we do not know. */
function asTensor4D(info: TensorInfo | undefined, name: string): tf.Tensor4D {
  if (!(info instanceof tf.Tensor) || info.rank !== 4) {
    throw new TesseraError('TESSERA_ERR_INTERNAL', `Conv2DBackpropFilter (wasm): input ${name} must be a rank-4 tensor`);
  }
  return info as tf.Tensor4D;
}

function pair(v: number | [number, number]): [number, number] {
  return typeof v === 'number' ? [v, v] : v;
}

/**
 * dW for NHWC (or NCHW, transposed to NHWC first), any stride, padding 'same' / 'valid' / explicit, dilation 1
 * (tfjs's conv2d gradient refuses dilations > 1, so this kernel never sees them).
 */
export function conv2dBackpropFilterAsConvolution(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  attrs: Pick<Conv2DBackpropFilterAttrs, 'strides' | 'pad' | 'dataFormat' | 'dimRoundingMode' | 'filterShape'>,
): tf.Tensor4D {
  return tf.tidy(() => {
    const nchw = attrs.dataFormat === 'NCHW';
    const xs = nchw ? tf.transpose(x, [0, 2, 3, 1]) : x;
    const dys = nchw ? tf.transpose(dy, [0, 2, 3, 1]) : dy;
    const [fh, fw, inC, outC] = attrs.filterShape;
    const [sh, sw] = pair(attrs.strides);
    const [batch, inH, inW] = xs.shape;
    const info = tf.backend_util.computeConv2DInfo(xs.shape, attrs.filterShape, [sh, sw], 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
    const { outHeight: outH, outWidth: outW, padInfo } = info;
    if (dys.shape[0] !== batch || dys.shape[1] !== outH || dys.shape[2] !== outW || dys.shape[3] !== outC) {
      throw new TesseraError('TESSERA_ERR_INTERNAL', `Conv2DBackpropFilter (wasm): dy shape ${dys.shape.join('×')} does not match the convolution output ${batch}×${outH}×${outW}×${outC}`);
    }
    // The last tap reads row (outH-1)·sh + fh - 1 of the padded input; rounding modes can ask for one more row
    // than the declared padding gives, and the cpu kernel treats such rows as zeros, so pad them with zeros.
    const padBottom = Math.max(padInfo.bottom, (outH - 1) * sh + fh - inH - padInfo.top);
    const padRight = Math.max(padInfo.right, (outW - 1) * sw + fw - inW - padInfo.left);
    const padded = padInfo.top > 0 || padInfo.left > 0 || padBottom > 0 || padRight > 0;
    const xp = padded ? tf.pad(xs, [[0, 0], [padInfo.top, padBottom], [padInfo.left, padRight], [0, 0]]) : xs;
    // The same sum as a forward convolution (see the header): channels become the batch, the batch becomes the
    // input channels, dy becomes an outH×outW filter dilated by the stride. XNNPACK runs it as one GEMM.
    const xT = tf.transpose(xp, [3, 1, 2, 0]);
    const dyT = tf.transpose(dys, [1, 2, 0, 3]);
    const full = tf.conv2d(xT, dyT, 1, 'valid', 'NHWC', [sh, sw]);
    // Rows/columns past fh/fw exist when the padded input is longer than the last tap reads (e.g. odd sizes
    // with stride 2); the cpu kernel never sums them, so they are cut off.
    const y = full.shape[1] === fh && full.shape[2] === fw ? full : tf.slice(full, [0, 0, 0, 0], [inC, fh, fw, outC]);
    return tf.transpose(y, [1, 2, 0, 3]);
  });
}

const kernelFunc: KernelFunc = ({ inputs, attrs }) => {
  const x = asTensor4D(inputs['x'], 'x');
  const dy = asTensor4D(inputs['dy'], 'dy');
  // Attributes come from tfjs-core's own conv2DBackpropFilter op, which fills every field of this interface.
  return conv2dBackpropFilterAsConvolution(x, dy, attrs as unknown as Conv2DBackpropFilterAttrs);
};

export const conv2dBackpropFilterWasmConfig: KernelConfig = { kernelName: CONV2D_BACKPROP_FILTER, backendName: 'wasm', kernelFunc };
