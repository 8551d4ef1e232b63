/**
 * The central evaluation after each round of a parallel simulation, on the training pool's workers instead of the
 * main thread (issue 18: run serially it took about 0.3 s per MNIST round while both workers sat idle, the largest
 * serial part of the quick start after loading the data).
 *
 * The test rows are cut into one contiguous slice per worker, at multiples of ml/train.ts's PREDICT_BATCH, so each
 * worker runs exactly the forward passes the main thread's `evaluate` would have run on those rows; the
 * probabilities come back in row order and ml/train.ts's `scoreProbabilities` adds them up with evaluate's own
 * arithmetic, row by row in the same order. The figures are therefore the same bits as the sequential run's, and
 * so are the round records that hold them. The test set lives on shared memory, so a slice is a view, not a copy.
 */
import type { Examples } from '../datasets/types.ts';
import { featureSize } from '../datasets/types.ts';
import { PREDICT_BATCH, scoreProbabilities, type EvalResult } from '../ml/train.ts';
import type { ModelSpec } from '../protocol/job/model.ts';
import type { TrainingPool } from './training-pool.ts';

/** Row ranges [start, end) for `parts` workers: whole PREDICT_BATCH batches, as even as they divide. */
export function predictionSlices(rows: number, parts: number): Array<{ readonly start: number; readonly end: number }> {
  const batches = Math.ceil(rows / PREDICT_BATCH);
  const count = Math.max(1, Math.min(parts, batches));
  return Array.from({ length: count }, (_, i) => ({
    start: Math.floor((i * batches) / count) * PREDICT_BATCH,
    end: Math.min(rows, Math.floor(((i + 1) * batches) / count) * PREDICT_BATCH),
  }));
}

export async function evaluateOnPool(pool: TrainingPool, model: { readonly spec: ModelSpec; readonly seed: string | number }, weights: Float32Array, test: Examples): Promise<EvalResult> {
  const d = featureSize(test);
  const slices = predictionSlices(test.n, pool.alive);
  const parts = await Promise.all(slices.map(({ start, end }) => pool.predict({ model: model.spec, modelSeed: model.seed, weights, x: test.x.subarray(start * d, end * d), n: end - start })));
  const probs = new Float32Array(test.n * test.classes);
  parts.forEach((p, i) => probs.set(p, (slices[i]?.start ?? 0) * test.classes));
  return scoreProbabilities(test, probs);
}
