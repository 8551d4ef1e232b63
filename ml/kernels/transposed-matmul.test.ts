/**
 * The wasm matMul override (transposes materialised, then the plain XNNPACK product) against tfjs's cpu
 * backend, whose kernel is a direct blocked loop and is the reference: every transpose combination, plain and
 * batched and broadcast shapes, the fused dense op with bias and activation, and the gradients of dense layers
 * (the products with transposed operands that made this override necessary).
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../backend.ts';
import { seededRandom } from '../../privacy/random.ts';
import { originalMatMulWasmConfigs } from './transposed-matmul.ts';

function values(size: number, seed: string): Float32Array {
  const rng = seededRandom(seed);
  return Float32Array.from({ length: size }, () => rng.nextFloat() * 2 - 1);
}

function maxRelativeError(actual: Float32Array, expected: Float32Array): number {
  expect(actual.length).toBe(expected.length);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    err = Math.max(err, Math.abs((actual[i] ?? Number.NaN) - (expected[i] ?? 0)));
    scale = Math.max(scale, Math.abs(expected[i] ?? 0));
  }
  return err / scale;
}

async function onBoth(fn: () => tf.Tensor): Promise<{ cpu: Float32Array; wasm: Float32Array }> {
  await initBackend('wasm');
  await tf.setBackend('cpu');
  const cpu = tf.tidy(() => fn().dataSync() as Float32Array);
  await tf.setBackend('wasm');
  const wasm = tf.tidy(() => fn().dataSync() as Float32Array);
  return { cpu, wasm };
}

/** Operand shapes for C = op(A)·op(B) with C of [..., m, n] and inner size k. */
function operand(batch: number[], rows: number, cols: number, transposed: boolean): number[] {
  return transposed ? [...batch, cols, rows] : [...batch, rows, cols];
}

const SHAPES: Array<{ name: string; batchA: number[]; batchB: number[]; m: number; k: number; n: number }> = [
  { name: 'dense backward at batch 256', batchA: [], batchB: [], m: 256, k: 784, n: 128 },
  { name: 'small odd sizes', batchA: [], batchB: [], m: 7, k: 5, n: 3 },
  { name: 'vector times matrix', batchA: [], batchB: [], m: 1, k: 33, n: 17 },
  { name: 'batched', batchA: [3], batchB: [3], m: 9, k: 11, n: 6 },
  { name: 'broadcast batch of A', batchA: [1], batchB: [4], m: 5, k: 8, n: 7 },
  { name: 'rank 4 batched', batchA: [2, 3], batchB: [2, 3], m: 4, k: 6, n: 5 },
];
const FLAGS = [
  { ta: false, tb: false },
  { ta: true, tb: false },
  { ta: false, tb: true },
  { ta: true, tb: true },
];

describe('transposed matMul on wasm', () => {
  it('replaces the backend BatchMatMul and _FusedMatMul kernels', async () => {
    await initBackend('wasm');
    for (const original of originalMatMulWasmConfigs()) {
      const registered = tf.getKernel(original.kernelName, 'wasm');
      expect(registered?.kernelFunc).toBeDefined();
      expect(registered?.kernelFunc).not.toBe(original.kernelFunc);
      expect(registered?.setupFunc).toBe(original.setupFunc);
    }
  });

  for (const s of SHAPES) {
    it.each(FLAGS)(`${s.name}: transposeA=$ta transposeB=$tb equals cpu`, async ({ ta, tb }) => {
      const aShape = operand(s.batchA, s.m, s.k, ta);
      const bShape = operand(s.batchB, s.k, s.n, tb);
      const a = values(aShape.reduce((x, y) => x * y, 1), `a${s.name}`);
      const b = values(bShape.reduce((x, y) => x * y, 1), `b${s.name}`);
      const { cpu, wasm } = await onBoth(() => tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), ta, tb));
      expect(maxRelativeError(wasm, cpu)).toBeLessThan(1e-4);
    });
  }

  it.each(FLAGS)('fused matMul with bias and relu, transposeA=$ta transposeB=$tb, equals cpu', async ({ ta, tb }) => {
    const [m, k, n] = [13, 21, 9];
    const aShape = operand([], m, k, ta);
    const bShape = operand([], k, n, tb);
    const a = values(m * k, 'fa');
    const b = values(k * n, 'fb');
    const bias = values(n, 'fbias');
    const { cpu, wasm } = await onBoth(() =>
      tf.fused.matMul({ a: tf.tensor2d(a, aShape as [number, number]), b: tf.tensor2d(b, bShape as [number, number]), transposeA: ta, transposeB: tb, bias: tf.tensor1d(bias), activation: 'relu' }),
    );
    expect(maxRelativeError(wasm, cpu)).toBeLessThan(1e-4);
    expect(wasm.some((v) => v === 0)).toBe(true); // relu did clip something, so the activation was applied
  });

  it('gradients of a two-layer dense network equal cpu (every weight and bias)', async () => {
    const [batch, inputs, hidden, classes] = [64, 784, 128, 10];
    const x = values(batch * inputs, 'gx');
    const y = Int32Array.from({ length: batch }, (_, i) => i % classes);
    const w1 = values(inputs * hidden, 'gw1').map((v) => v * 0.05);
    const b1 = values(hidden, 'gb1');
    const w2 = values(hidden * classes, 'gw2').map((v) => v * 0.1);
    const b2 = values(classes, 'gb2');
    for (const part of [0, 1, 2, 3]) {
      const { cpu, wasm } = await onBoth(() => {
        const vars = [tf.tensor2d(w1, [inputs, hidden]), tf.tensor1d(b1), tf.tensor2d(w2, [hidden, classes]), tf.tensor1d(b2)];
        const xs = tf.tensor2d(x, [batch, inputs]);
        const labels = tf.oneHot(tf.tensor1d(y, 'int32'), classes);
        // The dense layer's own forward op (tfjs-layers' Dense calls fused matMul with bias and activation).
        const loss = (w1t: tf.Tensor, b1t: tf.Tensor, w2t: tf.Tensor, b2t: tf.Tensor): tf.Scalar => {
          const h = tf.fused.matMul({ a: xs, b: w1t as tf.Tensor2D, bias: b1t, activation: 'relu' });
          const logits = tf.fused.matMul({ a: h, b: w2t as tf.Tensor2D, bias: b2t });
          return tf.losses.softmaxCrossEntropy(labels, logits);
        };
        const grads = tf.grads((a, b, c, d) => loss(a as tf.Tensor, b as tf.Tensor, c as tf.Tensor, d as tf.Tensor))(vars);
        return grads[part] as tf.Tensor;
      });
      expect(maxRelativeError(wasm, cpu)).toBeLessThan(1e-4);
    }
  });

  it('leaves no tensors or backend buffers behind', async () => {
    await initBackend('wasm');
    const a = tf.tensor2d(values(40 * 30, 'la'), [40, 30]);
    const b = tf.tensor2d(values(40 * 20, 'lb'), [40, 20]);
    const c = tf.tensor2d(values(25 * 30, 'lc'), [25, 30]);
    const d = tf.tensor2d(values(25 * 40, 'ld'), [25, 40]);
    const before = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    tf.matMul(a, b, true, false).dispose();
    tf.matMul(a, c, false, true).dispose();
    tf.matMul(a, d, true, true).dispose();
    // A shape error raised by the wrapped kernel after its transposed copy exists must free the copy too.
    expect(() => tf.matMul(a, c, true, true)).toThrow(/inner shapes/);
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.engine().backend.numDataIds()).toBe(dataIds);
    tf.dispose([a, b, c, d]);
  });
});
