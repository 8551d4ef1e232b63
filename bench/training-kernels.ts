/**
 * The training bench's `kernels` figures: the products, transposes and sums one dense training step uses, and the
 * CNN's filter gradients, at training's shapes, under the kernels as they were before issue 16 and under Tessera's
 * (bench/baseline-kernels.ts): the fastest of 30 calls (10 for the convolutions) after one warm-up, each result read
 * back — the minimum, not the median, because on a shared machine every disturbance only adds time.
 */
import * as tf from '@tensorflow/tfjs';
import { seededRandom } from '../privacy/random.ts';
import { BACKEND_LABEL, useKernels } from './baseline-kernels.ts';

const REPS = 30;

function round(v: number, digits: number): number {
  return Number(v.toFixed(digits));
}

/** Minimum milliseconds of `fn` (its result read back) over `reps` calls after one warm-up. */
function minMillis(fn: () => tf.Tensor, reps: number): number {
  const times: number[] = [];
  for (let i = 0; i <= reps; i++) {
    const t0 = performance.now();
    const out = fn();
    out.dataSync();
    if (i > 0) times.push(performance.now() - t0);
    out.dispose();
  }
  return round(Math.min(...times), 3);
}

/** Like minMillis, with a fresh input from `prepare` per call, made before the timing and disposed after the call. */
function minMillisEach(prepare: () => tf.Tensor, fn: (input: tf.Tensor) => tf.Tensor, reps: number): number {
  const times: number[] = [];
  for (let i = 0; i <= reps; i++) {
    const input = prepare();
    const t0 = performance.now();
    const out = fn(input);
    out.dataSync();
    if (i > 0) times.push(performance.now() - t0);
    tf.dispose([out, input]);
  }
  return round(Math.min(...times), 3);
}

/** The kernels the issue named, at the shapes training uses, under both sets. */
export function kernelTimes(): object {
  const rng = seededRandom('kernels');
  const t = (shape: number[]): tf.Tensor => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.nextFloat()), shape);
  return tf.tidy(() => {
    const x = t([256, 784]);
    const w = t([784, 128]);
    const dy = t([256, 128]);
    const conv = [
      { layer: 'conv1 (batch 32, 28×28×1 → 8)', x: t([32, 28, 28, 1]), dy: t([32, 28, 28, 8]), filterShape: [3, 3, 1, 8] },
      { layer: 'conv2 (batch 32, 14×14×8 → 16)', x: t([32, 14, 14, 8]), dy: t([32, 14, 14, 16]), filterShape: [3, 3, 8, 16] },
    ];
    const out: Record<string, Record<string, number>> = {};
    for (const set of ['baseline', 'tessera'] as const) {
      useKernels(set);
      const label = BACKEND_LABEL[set];
      const row: Record<string, number> = {
        'matMul 256×784·784×128 plain ms': minMillis(() => tf.matMul(x, w), REPS),
        'matMul transposeA (dW = xᵀ·dy, 784×256·256×128) ms': minMillis(() => tf.matMul(x, dy, true, false), REPS),
        'matMul transposeB (dx = dy·wᵀ, 256×128·128×784) ms': minMillis(() => tf.matMul(dy, w, false, true), REPS),
        'transpose 256×784 (xᵀ for dW = xᵀ·dy) ms': minMillis(() => tf.transpose(x), REPS),
        'sum over axis 0 of 256×128 (a bias gradient) ms': minMillis(() => tf.sum(dy, 0), REPS),
      };
      // A training step's weights are new tensors every step, and XNNPACK packs a product's right operand once per
      // tensor (tfjs-backend-wasm caches the packed operator on the tensor's id): the plain row above reuses w, as
      // the peak does; this one gives every call a new copy of w, made before the timing and freed after the call,
      // as training frees the previous step's weights (the allocator then reuses the memory, as it does there).
      row['matMul 256×784·784×128, w new each call (packed each call, as in training) ms'] = minMillisEach(
        () => tf.add(w, 0),
        (copy) => tf.matMul(x, copy),
        REPS,
      );
      for (const c of conv) {
        row[`Conv2DBackpropFilter ${c.layer} ms`] = minMillis(() => tf.engine().runKernel('Conv2DBackpropFilter', { x: c.x, dy: c.dy }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: c.filterShape }) as tf.Tensor, 10);
      }
      out[label] = row;
    }
    useKernels('tessera');
    return out;
  });
}
