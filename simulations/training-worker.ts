/**
 * One training worker thread of a parallel simulation (simulations/training-pool.ts). It initialises its own
 * TensorFlow.js backend — the one the simulation uses — and then trains on request: set the global weights,
 * run ml/train.ts's trainLocal with the request's options (the batch order comes from the request's seed), and
 * send back the new weights. A model is kept per (spec, seed) and its weights are overwritten on every request,
 * and trainLocal makes a fresh optimizer per call, so the answer depends only on the request: the same bits as
 * the main thread's in-process trainer (client/local-trainer.ts) computes on the same backend.
 *
 * No randomness is drawn here beyond the seeded batch order; DP noise and secure aggregation stay with the node.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import type * as tf from '@tensorflow/tfjs';
import { initBackend } from '../ml/backend.ts';
import { buildModel } from '../ml/model.ts';
import { trainLocal } from '../ml/train.ts';
import { getFlatWeights, setFlatWeights } from '../ml/weights.ts';
import { describeZodIssues, TesseraError } from '../protocol/errors.ts';
import type { ModelSpec } from '../protocol/job/model.ts';
import { TrainRequest, WorkerSetup, type WorkerReply } from './training-messages.ts';

const port = parentPort;
if (!port) throw new TesseraError('TESSERA_ERR_INTERNAL', 'simulations/training-worker.ts runs only as a worker thread');

const setup = WorkerSetup.parse(workerData);
const info = await initBackend(setup.backend === 'tensorflow' ? 'node' : setup.backend);
const send = (reply: WorkerReply, transfer: ArrayBuffer[] = []): void => port.postMessage(reply, transfer);
// A worker's clock starts with the thread: this counts loading TensorFlow.js's modules (Node lexes its large
// CommonJS files for their exports, in every thread) as well as initialising the backend.
send({ type: 'ready', initMs: performance.now(), backend: info.name, ...(info.simd !== undefined ? { simd: info.simd } : {}), ...(info.threads !== undefined ? { threads: info.threads } : {}) });

const models = new Map<string, tf.LayersModel>();
function modelFor(spec: ModelSpec, seed: string | number): tf.LayersModel {
  const key = JSON.stringify([spec, seed]);
  let m = models.get(key);
  if (!m) {
    m = buildModel(spec, { seed });
    models.set(key, m);
  }
  return m;
}

// One request at a time: the pool gives a worker its next task only after the previous reply.
port.on('message', (raw: unknown) => {
  const parsed = TrainRequest.safeParse(raw);
  if (!parsed.success) {
    const id = typeof raw === 'object' && raw !== null && 'id' in raw && typeof raw.id === 'number' ? raw.id : 0;
    send({ type: 'failed', id, code: 'TESSERA_ERR_MESSAGE_INVALID', message: `training request refused: ${describeZodIssues(parsed.error.issues)}` });
    return;
  }
  const req = parsed.data;
  void (async () => {
    try {
      const model = modelFor(req.model, req.modelSeed);
      setFlatWeights(model, req.global);
      const result = await trainLocal(model, { ...req.examples, classNames: [], sensitive: {} }, req.options);
      const weights = getFlatWeights(model);
      send({ type: 'trained', id: req.id, weights, result: { loss: result.loss, examples: result.examples, steps: result.steps, millis: result.millis } }, [weights.buffer as ArrayBuffer]);
    } catch (e) {
      const err = e instanceof TesseraError ? e : new TesseraError('TESSERA_ERR_INTERNAL', e instanceof Error ? e.message : String(e), { cause: e });
      send({ type: 'failed', id: req.id, code: err.code, message: err.message });
    }
  })();
});
