/**
 * The wasm Conv2DBackpropFilter kernel (im2col + matMul) against tfjs's cpu backend, whose kernel is the
 * direct triple loop over output positions and is the reference here. Both through `tf.grad` of a conv loss
 * (the path model.fit takes) and by invoking the kernel with attributes the op never sends (explicit pads,
 * NCHW, ceil rounding).
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend.ts';
import { registerWasmTrainingKernels } from './register-wasm.ts';
import { seededRandom } from '../../privacy/random.ts';

type Shape4 = [number, number, number, number];
type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

function values(size: number, seed: string): Float32Array {
  const rng = seededRandom(seed);
  return Float32Array.from({ length: size }, () => rng.nextFloat() * 2 - 1);
}

function maxRelativeError(actual: Float32Array, expected: Float32Array): number {
  let err = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    err = Math.max(err, Math.abs((actual[i] ?? Number.NaN) - (expected[i] ?? 0)));
    scale = Math.max(scale, Math.abs(expected[i] ?? 0));
  }
  return err / scale;
}

/** d/dW of Σ (conv2d(x, W) ⊙ R): a loss with a random cotangent, so every dy entry differs. */
async function filterGradient(backend: 'cpu' | 'wasm', xShape: Shape4, wShape: Shape4, stride: number | [number, number], pad: Pad): Promise<Float32Array> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor4d(values(xShape.reduce((a, b) => a * b), 'x'), xShape);
    const w = tf.tensor4d(values(wShape.reduce((a, b) => a * b), 'w'), wShape);
    const y = tf.conv2d(x, w, stride, pad);
    const r = tf.tensor(values(y.size, 'r'), y.shape);
    const g = tf.grad((filter: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, filter as tf.Tensor4D, stride, pad), r)))(w);
    expect(g.shape).toEqual(wShape);
    return g.dataSync() as Float32Array;
  });
}

const CASES: Array<{ x: Shape4; w: Shape4; stride: number | [number, number]; pad: Pad }> = [
  { x: [2, 8, 8, 1], w: [3, 3, 1, 4], stride: 1, pad: 'same' },
  { x: [3, 9, 7, 3], w: [3, 3, 3, 5], stride: 1, pad: 'valid' },
  { x: [3, 9, 7, 3], w: [3, 3, 3, 5], stride: 2, pad: 'same' },
  { x: [3, 9, 7, 3], w: [3, 3, 3, 5], stride: 2, pad: 'valid' },
  { x: [2, 11, 10, 2], w: [5, 3, 2, 3], stride: [3, 2], pad: 'same' },
  { x: [1, 6, 6, 4], w: [1, 1, 4, 6], stride: 1, pad: 'valid' },
  { x: [2, 10, 9, 2], w: [2, 4, 2, 3], stride: [2, 3], pad: [[0, 0], [1, 2], [0, 3], [0, 0]] },
  { x: [16, 14, 14, 8], w: [3, 3, 8, 16], stride: 1, pad: 'same' }, // the second block of the default CNN
];

describe('Conv2DBackpropFilter on wasm', () => {
  it('is registered and the backend is wasm with SIMD', async () => {
    await initBackend('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    expect(tf.getBackend()).toBe('wasm');
    // initBackend registered it already; a second registration is a no-op rather than tfjs's overwrite warning.
    expect(registerWasmTrainingKernels()).toEqual([]);
  });

  it.each(CASES)('tf.grad matches cpu for x=$x w=$w stride=$stride pad=$pad', async ({ x, w, stride, pad }) => {
    await initBackend('wasm');
    const expected = await filterGradient('cpu', x, w, stride, pad);
    const actual = await filterGradient('wasm', x, w, stride, pad);
    expect(maxRelativeError(actual, expected)).toBeLessThan(1e-4);
  });

  it.each([
    { dataFormat: 'NHWC' as const, pad: 1, dimRoundingMode: 'ceil' as const },
    { dataFormat: 'NHWC' as const, pad: 2, dimRoundingMode: 'floor' as const },
    { dataFormat: 'NCHW' as const, pad: 'same' as const, dimRoundingMode: undefined },
  ])('the kernel matches cpu for dataFormat=$dataFormat pad=$pad rounding=$dimRoundingMode', async ({ dataFormat, pad, dimRoundingMode }) => {
    await initBackend('wasm');
    const filterShape: Shape4 = [3, 3, 2, 4];
    const strides: [number, number] = [2, 2];
    const xShape: Shape4 = dataFormat === 'NHWC' ? [2, 8, 9, 2] : [2, 2, 8, 9];
    const nhwc: Shape4 = [2, 8, 9, 2];
    const info = tf.backend_util.computeConv2DInfo(nhwc, filterShape, strides, 1, pad, dimRoundingMode);
    const dyShape: Shape4 = dataFormat === 'NHWC' ? [2, info.outHeight, info.outWidth, 4] : [2, 4, info.outHeight, info.outWidth];
    const attrs = { strides, pad, dataFormat, filterShape, ...(dimRoundingMode ? { dimRoundingMode } : {}) };
    const run = async (backend: 'cpu' | 'wasm'): Promise<Float32Array> => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor4d(values(xShape.reduce((a, b) => a * b), 'kx'), xShape);
        const dy = tf.tensor4d(values(dyShape.reduce((a, b) => a * b), 'kdy'), dyShape);
        const out = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, attrs);
        return (out as tf.Tensor).dataSync() as Float32Array;
      });
    };
    const expected = await run('cpu');
    const actual = await run('wasm');
    expect(actual.length).toBe(filterShape.reduce((a, b) => a * b));
    expect(maxRelativeError(actual, expected)).toBeLessThan(1e-4);
  });

  it('leaves no tensors behind', async () => {
    await initBackend('wasm');
    const before = tf.memory().numTensors;
    await filterGradient('wasm', [2, 8, 8, 3], [3, 3, 3, 4], 2, 'same');
    expect(tf.memory().numTensors).toBe(before);
  });
});
