/**
 * The training pool against the in-process trainer on real MNIST rows: the same request gives the same weights
 * to the bit on a worker thread as on this thread (the premise of the parallel simulation's bit-identity), with
 * the examples on shared memory and with per-row weights; a task the worker cannot train fails with the
 * worker's own code and the pool goes on; a closed pool refuses work with TESSERA_ERR_WORKER_FAILED. Tasks that
 * arrive together go out longest first, small ones in batches (one message for many tasks), each task's bits
 * still its own, and a task that fails inside a batch fails alone. The central evaluation split across the
 * workers (simulations/pool-evaluation.ts) gives evaluate's figures on this thread to the bit, and a prediction
 * the worker cannot make fails with its code while the pool goes on.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { inProcessTrainer, type LocalTrainingTask } from '../client/local-trainer.ts';
import { loadDataset } from '../datasets/index.ts';
import { selectRows } from '../datasets/types.ts';
import { silentLogger } from '../lib/logger.ts';
import { initBackend } from '../ml/backend.ts';
import { buildModel } from '../ml/model.ts';
import { evaluate, PREDICT_BATCH } from '../ml/train.ts';
import { getFlatWeights, setFlatWeights } from '../ml/weights.ts';
import { SHARED_DATA_DIR } from '../test/paths.ts';
import { shareExamples, TrainingPool } from './training-pool.ts';
import { takeBatch, type Schedulable } from './training-schedule.ts';
import { evaluateOnPool, predictionSlices } from './pool-evaluation.ts';

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

  it('tasks arriving together are batched: 24 tasks in fewer messages, each to the bits of this thread, a bad one failing alone', async () => {
    const local = inProcessTrainer();
    const tasks = Array.from({ length: 24 }, (_, k) => task(Array.from({ length: 10 + k }, (_, i) => 20 * k + i)));
    const bad = { ...task([0, 1, 2]), examples: { ...task([0, 1, 2]).examples, featureShape: [28, 28, 1] } };
    const before = { batches: pool.batches, trained: pool.trained };
    const settled = await Promise.allSettled([...tasks.map((t) => pool.train(t)), pool.train(bad)]);
    // 25 tasks, 2 workers: a batch holds about 1/8 of the work still queued, so fewer messages than tasks.
    expect(pool.batches - before.batches).toBeLessThan(25);
    expect(pool.trained - before.trained).toBe(24);
    expect(settled[24]).toMatchObject({ status: 'rejected', reason: { code: 'TESSERA_ERR_MODEL_SPEC' } });
    for (const [k, t] of tasks.entries()) {
      const s = settled[k];
      if (s?.status !== 'fulfilled') throw new Error(`task ${k} failed: ${String(s?.status === 'rejected' ? s.reason : s)}`);
      expect(bits(s.value.weights).equals(bits((await local.train(t)).weights))).toBe(true);
    }
    local.close();
  }, 60_000);

  it('the schedule: longest first, equal work in arrival order; a batch holds about 1/(4 × workers) of the work', () => {
    // A Dirichlet-like split: one client four times the others. It goes first, alone.
    const uneven: Schedulable[] = [10, 40, 10, 10, 10, 10, 10, 10, 10, 10].map((cost, order) => ({ order, cost }));
    expect(takeBatch(uneven, 2)).toBe(1);
    expect(uneven.map((p) => p.order)).toEqual([1, 0, 2, 3, 4, 5, 6, 7, 8, 9]);
    // 100 equal tasks on 2 workers: the first batch 13 (reaching 1/8 of the work), then smaller as the queue drains.
    const even: Schedulable[] = Array.from({ length: 100 }, (_, order) => ({ order: 99 - order, cost: 320 }));
    expect(takeBatch(even, 2)).toBe(13);
    expect(even.slice(0, 3).map((p) => p.order)).toEqual([0, 1, 2]);
    let batches = 0;
    while (even.length > 0) {
      even.splice(0, takeBatch(even, 2));
      batches++;
    }
    expect(batches).toBe(24);
    expect(takeBatch([{ order: 0, cost: 5 }], 8)).toBe(1);
  });

  it("the central evaluation on the workers gives this thread's evaluate to the bit; a bad prediction fails alone", async () => {
    // 1,100 test rows: three batches of 512 rows or fewer, cut at a batch boundary into one slice per worker.
    const { test } = loadDataset('mnist', { dataDir: SHARED_DATA_DIR, trainLimit: 10, testLimit: 1100 });
    const flatTest = shareExamples({ ...test, featureShape: [784] });
    expect(predictionSlices(1100, 2)).toEqual([{ start: 0, end: 512 }, { start: 512, end: 1100 }]);
    const trained = (await pool.train(task(Array.from({ length: 200 }, (_, i) => i)))).weights;
    const here = buildModel(model, { seed: 3 });
    setFlatWeights(here, trained);
    const expected = evaluate(here, flatTest);
    here.dispose();
    const onWorkers = await evaluateOnPool(pool, { spec: model, seed: 3 }, trained, flatTest);
    expect(onWorkers).toEqual(expected);
    expect(Object.is(onWorkers.loss, expected.loss) && Object.is(onWorkers.brierSum, expected.brierSum)).toBe(true);
    expect(expected.accuracy).toBeGreaterThan(0.3);
    // Features that do not make the rows asked for: the worker's own code, and the pool goes on.
    await expect(pool.predict({ model, modelSeed: 3, weights: trained, x: flatTest.x.subarray(0, 784 * 3), n: 4 })).rejects.toMatchObject({ code: 'TESSERA_ERR_MODEL_SPEC' });
    expect(pool.alive).toBe(2);
    expect(await evaluateOnPool(pool, { spec: model, seed: 3 }, trained, flatTest)).toEqual(expected);
    // Every worker has answered by now: each says how much CPU its thread used.
    for (const a of pool.activity()) expect(a.cpuMs).toBeGreaterThan(0);
  }, 60_000);

  it('prediction slices: whole batches, contiguous, covering every row, at most one per worker', () => {
    for (const [rows, parts] of [[1, 2], [512, 2], [513, 2], [10_000, 2], [10_000, 3], [16_281, 8], [2000, 1]] as const) {
      const slices = predictionSlices(rows, parts);
      expect(slices.length).toBe(Math.min(parts, Math.ceil(rows / PREDICT_BATCH)));
      expect(slices[0]?.start).toBe(0);
      expect(slices.at(-1)?.end).toBe(rows);
      slices.forEach((s, i) => {
        expect(s.start % PREDICT_BATCH).toBe(0);
        expect(s.end).toBeGreaterThan(s.start);
        if (i > 0) expect(s.start).toBe(slices[i - 1]?.end);
      });
    }
  });

  it('a closed pool refuses work with TESSERA_ERR_WORKER_FAILED', async () => {
    const other = new TrainingPool(1, { backend: backend.name, logger: silentLogger() });
    const queued = other.train(task([0, 1, 2, 3]));
    other.close();
    await expect(queued).rejects.toMatchObject({ code: 'TESSERA_ERR_WORKER_FAILED' });
    await expect(other.train(task([0]))).rejects.toMatchObject({ code: 'TESSERA_ERR_WORKER_FAILED' });
  }, 30_000);
});
