/**
 * The wasm Transpose and Sum overrides (two-pass blocked transpose; Sum over outer axes on top of it) against the
 * backend's own kernels, which must give the same elements bit for bit (a transpose moves data; the sum adds the
 * same numbers in the same order), and against the cpu backend: every shape class the override takes (plain,
 * with unit axes, batched) and ones it must leave to the backend (rows that do not alias, other permutations).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../backend.ts';
import { seededRandom } from '../../privacy/random.ts';
import { aliases, blockedTransposeWasmConfigs, originalTransposeWasmConfigs } from './blocked-transpose.ts';
import { replaceKernel } from './register-wasm.ts';

function values(shape: readonly number[], seed: string): Float32Array {
  const rng = seededRandom(seed);
  return Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.nextFloat() * 2 - 1);
}

/**
 * The first index where a and b differ (Object.is: bit-level for these arrays' finite values), or −1. A compact
 * failure: vitest's diff of two 200,000-element arrays takes minutes.
 */
function firstDifference(a: tf.TypedArray, b: tf.TypedArray): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

/** `fn` on the cpu backend, on wasm with the backend's kernels, and on wasm with the overrides. */
async function onAll(fn: () => tf.Tensor): Promise<{ cpu: tf.TypedArray; backend: tf.TypedArray; ours: tf.TypedArray; shape: number[] }> {
  await tf.setBackend('cpu');
  const cpu = tf.tidy(() => fn().dataSync());
  await tf.setBackend('wasm');
  originalTransposeWasmConfigs().forEach(replaceKernel);
  const backend = tf.tidy(() => fn().dataSync());
  blockedTransposeWasmConfigs().forEach(replaceKernel);
  let shape: number[] = [];
  const ours = tf.tidy(() => {
    const t = fn();
    shape = t.shape;
    return t.dataSync();
  });
  return { cpu, backend, ours, shape };
}

beforeAll(async () => {
  await initBackend('wasm');
});

describe('blocked Transpose on wasm', () => {
  it('replaces the backend Transpose and Sum, keeping their setup functions', () => {
    for (const original of originalTransposeWasmConfigs()) {
      const registered = tf.getKernel(original.kernelName, 'wasm');
      expect(registered?.kernelFunc).not.toBe(original.kernelFunc);
      expect(registered?.setupFunc).toBe(original.setupFunc);
    }
  });

  it('takes exactly the matrices whose rows alias', () => {
    expect(aliases(256, 784)).toBe(true); // a batch of 256 (xᵀ for the first layer's weight gradient)
    expect(aliases(128, 256)).toBe(true);
    expect(aliases(784, 128)).toBe(false); // stride 784 floats: the backend's loop is fast
    expect(aliases(64, 784)).toBe(false); // small enough to stay in cache
    expect(aliases(256, 10)).toBe(false); // too few columns to pay for two passes
    expect(aliases(200, 128)).toBe(false);
  });

  const CASES: { name: string; shape: number[]; perm: number[] }[] = [
    { name: 'a batch of 256 MNIST rows', shape: [256, 784], perm: [1, 0] },
    { name: '1024 × 96', shape: [1024, 96], perm: [1, 0] },
    { name: 'with unit axes', shape: [1, 128, 1, 48], perm: [3, 1, 2, 0] },
    { name: 'batched [3, 192, 40] → [3, 40, 192]', shape: [3, 192, 40], perm: [0, 2, 1] },
    { name: 'batched over two axes', shape: [2, 2, 128, 16], perm: [0, 1, 3, 2] },
    { name: 'rows that do not alias (left to the backend)', shape: [200, 784], perm: [1, 0] },
    { name: 'another permutation (left to the backend)', shape: [128, 4, 32], perm: [2, 0, 1] },
  ];
  it.each(CASES)('$name: the same elements as the backend and cpu', async ({ shape, perm }) => {
    const x = values(shape, `t${shape.join('x')}`);
    const { cpu, backend, ours, shape: outShape } = await onAll(() => tf.transpose(tf.tensor(x, shape), perm));
    expect(outShape).toEqual(perm.map((p) => shape[p]));
    expect(firstDifference(ours, backend)).toBe(-1);
    expect(firstDifference(ours, cpu)).toBe(-1);
  });

  it('transposes int32 tensors too', async () => {
    const shape = [256, 64];
    const x = Int32Array.from({ length: 256 * 64 }, (_, i) => i * 7 - 5000);
    const { cpu, ours } = await onAll(() => tf.transpose(tf.tensor(x, shape, 'int32')));
    expect(firstDifference(ours, cpu)).toBe(-1);
  });
});

describe('Sum over outer axes on wasm', () => {
  const CASES: { name: string; shape: number[]; axis: number | number[]; keepDims: boolean }[] = [
    { name: 'a bias gradient: [256, 128] over axis 0', shape: [256, 128], axis: 0, keepDims: false },
    { name: 'keepDims', shape: [256, 128], axis: [0], keepDims: true },
    { name: 'the two outer axes of [4, 64, 32] (left to the backend)', shape: [4, 64, 32], axis: [0, 1], keepDims: true },
    { name: 'a negative axis', shape: [128, 40], axis: -2, keepDims: false },
    { name: 'the inner axis (no transpose)', shape: [256, 128], axis: 1, keepDims: false },
    { name: 'everything', shape: [256, 128], axis: [0, 1], keepDims: false },
    { name: 'rows that do not alias', shape: [100, 128], axis: 0, keepDims: false },
  ];
  // cpu adds in another order: each output sums n values in [−1, 1], so its rounding error is below n·(n − 1)·2⁻²⁴
  // (Higham, Accuracy and Stability of Numerical Algorithms, 2nd ed., eq. (4.4)); 1e-6·n is looser than the
  // typical error yet far below a missing or doubled term (~0.5).
  it.each(CASES)('$name: the backend’s bits, and cpu’s value to 1e-6 per summed term', async ({ shape, axis, keepDims }) => {
    const x = values(shape, `s${shape.join('x')}`);
    const { cpu, backend, ours, shape: outShape } = await onAll(() => tf.sum(tf.tensor(x, shape), axis, keepDims));
    const expectedShape = tf.tidy(() => tf.sum(tf.zeros(shape), axis, keepDims).shape);
    expect(outShape).toEqual(expectedShape);
    expect(firstDifference(ours, backend)).toBe(-1);
    const terms = shape.reduce((a, b) => a * b, 1) / ours.length;
    let worst = 0;
    ours.forEach((v: number, i: number) => (worst = Math.max(worst, Math.abs(v - (cpu[i] ?? Number.NaN)))));
    expect(worst).toBeLessThan(1e-6 * terms);
  });

  it('leaves no tensors or backend buffers behind', async () => {
    const x = tf.tensor(values([256, 128], 'leak'), [256, 128]);
    const before = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    tf.transpose(x).dispose();
    tf.sum(x, 0).dispose();
    tf.sum(x, 0, true).dispose();
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.engine().backend.numDataIds()).toBe(dataIds);
    x.dispose();
  });
});
