/**
 * The training pool against the in-process trainer on real MNIST rows: the same request gives the same weights
 * to the bit on a worker thread as on this thread (the premise of the parallel simulation's bit-identity), with
 * the examples on shared memory and with per-row weights; a task the worker cannot train fails with the
 * worker's own code and the pool goes on; a closed pool refuses work with TESSERA_ERR_WORKER_FAILED.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { inProcessTrainer, type LocalTrainingTask } from '../client/local-trainer.ts';
import { loadDataset } from '../datasets/index.ts';
import { selectRows } from '../datasets/types.ts';
import { silentLogger } from '../lib/logger.ts';
import { initBackend } from '../ml/backend.ts';
import { buildModel } from '../ml/model.ts';
import { getFlatWeights } from '../ml/weights.ts';
import { SHARED_DATA_DIR } from '../test/paths.ts';
import { shareExamples, TrainingPool } from './training-pool.ts';

const backend = await initBackend('wasm');
const mnist = loadDataset('mnist', { dataDir: SHARED_DATA_DIR, trainLimit: 600, testLimit: 10 });
const flat = { ...mnist.train, featureShape: [784] };
const model = { kind: 'mlp' as const, inputs: 784, hidden: [32], classes: 10, activation: 'relu' as const, l2: 0 };
const initial = (() => {
  const m = buildModel(model, { seed: 3 });
  const w = getFlatWeights(m);
  m.dispose();
  return w;
})();
const pool = new TrainingPool(2, { backend: backend.name, logger: silentLogger() });
afterAll(() => pool.close());

function task(rows: number[], extra: Partial<LocalTrainingTask> = {}): LocalTrainingTask {
  return { model, modelSeed: 3, global: initial, examples: selectRows(flat, rows), options: { epochs: 1, batchSize: 32, learningRate: 0.1, optimizer: 'sgd', shuffleSeed: `seed/${rows[0]}` }, ...extra };
}

const bits = (w: Float32Array): Buffer => Buffer.from(w.buffer, w.byteOffset, w.byteLength);

describe('TrainingPool', () => {
  it('trains on worker threads to the same bits as this thread, with shared examples and with row weights', async () => {
    const local = inProcessTrainer();
    const a = task(Array.from({ length: 300 }, (_, i) => i));
    const weighted = task(Array.from({ length: 250 }, (_, i) => 300 + i));
    const withWeights = { ...weighted, examples: { ...weighted.examples, weights: Float32Array.from({ length: 250 }, (_, i) => 0.5 + (i % 3) * 0.5) }, options: { ...weighted.options, optimizer: 'adam' as const } };
    const shared = { ...a, examples: shareExamples(a.examples) };
    expect(shared.examples.x.buffer).toBeInstanceOf(SharedArrayBuffer);
    const [onWorkers, onWorkersWeighted] = await Promise.all([pool.train(shared), pool.train(withWeights)]);
    const here = await local.train(a);
    const hereWeighted = await local.train(withWeights);
    local.close();
    expect(bits(onWorkers.weights).equals(bits(here.weights))).toBe(true);
    expect(bits(onWorkersWeighted.weights).equals(bits(hereWeighted.weights))).toBe(true);
    expect(bits(onWorkers.weights).equals(bits(initial))).toBe(false);
    expect(onWorkers.result).toMatchObject({ examples: 300, steps: 10, loss: here.result.loss });
    expect(pool.trained).toBe(2);
    expect(pool.initMs).toHaveLength(2);
    // The caller's global vector is still whole: the node forms its update from it after training.
    expect(bits(shared.global).equals(bits(initial))).toBe(true);
  }, 60_000);

  it("a task the worker cannot train fails with the worker's code, and the pool goes on", async () => {
    const bad = task([0, 1, 2]);
    const wrongShape = { ...bad, examples: { ...bad.examples, featureShape: [28, 28, 1] } };
    await expect(pool.train(wrongShape)).rejects.toMatchObject({ code: 'TESSERA_ERR_MODEL_SPEC' });
    const ok = await pool.train(task([10, 11, 12, 13]));
    expect(ok.result.examples).toBe(4);
    expect(pool.alive).toBe(2);
  }, 60_000);

  it('a closed pool refuses work with TESSERA_ERR_WORKER_FAILED', async () => {
    const other = new TrainingPool(1, { backend: backend.name, logger: silentLogger() });
    const queued = other.train(task([0, 1, 2, 3]));
    other.close();
    await expect(queued).rejects.toMatchObject({ code: 'TESSERA_ERR_WORKER_FAILED' });
    await expect(other.train(task([0]))).rejects.toMatchObject({ code: 'TESSERA_ERR_WORKER_FAILED' });
  }, 30_000);
});
