/**
 * gatherBatch writes a batch's features straight into the wasm heap (malloc'd, not zeroed) and into a fresh array
 * elsewhere: on both backends the batch must hold exactly the chosen rows, in order, with their one-hot labels and
 * weights, and leave no buffers behind.
 */
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend.ts';
import { gatherBatch } from './batches.ts';
import type { Examples } from '../datasets/types.ts';
import { seededRandom } from '../privacy/random.ts';

function examples(n: number, featureShape: number[], classes: number): Examples {
  const rng = seededRandom('batches');
  const d = featureShape.reduce((a, b) => a * b, 1);
  return {
    x: Float32Array.from({ length: n * d }, () => rng.nextFloat() * 2 - 1),
    y: Int32Array.from({ length: n }, () => rng.nextUint32() % classes),
    n,
    featureShape,
    classes,
    classNames: Array.from({ length: classes }, (_, i) => `c${i}`),
    sensitive: {},
    weights: Float32Array.from({ length: n }, (_, i) => i / 4),
  };
}

beforeAll(async () => {
  await initBackend('wasm');
});

afterAll(async () => {
  await tf.setBackend('wasm');
});

describe('gatherBatch', () => {
  const data = examples(300, [6, 5], 4);
  // Repeated and out-of-order rows, and more rows than a previous batch: a stale or unwritten heap region would show.
  const rows = [299, 0, 17, 17, 150, 3, ...Array.from({ length: 40 }, (_, i) => (i * 37) % 300)];

  for (const backend of ['wasm', 'cpu'] as const) {
    it(`on ${backend}: exactly the chosen rows, in order, with one-hot labels and weights`, async () => {
      await tf.setBackend(backend);
      // A batch allocated and freed first leaves non-zero bytes in the memory the next one may reuse.
      tf.dispose(Object.values(gatherBatch(data, rows.slice(0, 10))).filter((t): t is tf.Tensor => t instanceof tf.Tensor));
      const b = gatherBatch(data, rows);
      const d = 30;
      expect(b.rows).toBe(rows.length);
      expect(b.x.shape).toEqual([rows.length, 6, 5]);
      const x = b.x.dataSync();
      const y = b.y.dataSync();
      const w = b.w?.dataSync();
      rows.forEach((r, i) => {
        expect(Array.from(x.subarray(i * d, (i + 1) * d))).toEqual(Array.from(data.x.subarray(r * d, (r + 1) * d)));
        expect(Array.from(y.subarray(i * 4, (i + 1) * 4))).toEqual([0, 1, 2, 3].map((c) => (c === data.y[r] ? 1 : 0)));
        expect(w?.[i]).toBe(data.weights?.[r]);
      });
      tf.dispose([b.x, b.y, ...(b.w ? [b.w] : [])]);
    });
  }

  it('leaves no tensors or wasm buffers behind', async () => {
    await tf.setBackend('wasm');
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    for (let i = 0; i < 5; i++) {
      const b = gatherBatch(data, rows);
      tf.dispose([b.x, b.y, ...(b.w ? [b.w] : [])]);
    }
    tf.tidy(() => {
      gatherBatch(data, rows);
    });
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(dataIds);
  });
});
