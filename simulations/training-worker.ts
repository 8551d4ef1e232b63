/**
 * One training worker thread of a parallel simulation (simulations/training-pool.ts). It initialises its own
 * TensorFlow.js backend — the one the simulation uses — and then trains on request: for each task of a batch,
 * set the global weights, run ml/train.ts's trainLocal with the task's options (the batch order comes from the
 * task's seed), and keep the new weights; the batch's weights go back in one message. A model is kept per
 * (spec, seed) and its weights are overwritten on every task, and trainLocal makes a fresh optimizer per call, so
 * each answer depends only on its task: the same bits as the main thread's in-process trainer
 * (client/local-trainer.ts) computes on the same backend, whatever else the batch holds.
 *
 * It also predicts on request (ml/train.ts predictProba on a slice of the central test set): the simulation's
 * evaluation after each round, split across the workers (simulations/pool-evaluation.ts).
 *
 * No randomness is drawn here beyond the seeded batch order; DP noise and secure aggregation stay with the node.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type * as tf from '@tensorflow/tfjs';
import { initBackend } from '../ml/backend.ts';
import { buildModel } from '../ml/model.ts';
import { predictProba, trainLocal } from '../ml/train.ts';
import { getFlatWeights, setFlatWeights } from '../ml/weights.ts';
import { describeZodIssues, TesseraError } from '../protocol/errors.ts';
import type { ModelSpec } from '../protocol/job/model.ts';
import { WorkerRequest, WorkerSetup, type PredictRequest, type TaskOutcome, type TrainRequest, type TrainTask, type WorkerReply } from './training-messages.ts';
import { threadCpuMs } from './thread-cpu.ts';

const port = parentPort;
if (!port) throw new TesseraError('TESSERA_ERR_INTERNAL', 'simulations/training-worker.ts runs only as a worker thread');

const setup = WorkerSetup.parse(workerData);
const info = await initBackend(setup.backend === 'tensorflow' ? 'node' : setup.backend);
const send = (reply: WorkerReply, transfer: ArrayBuffer[] = []): void => port.postMessage(reply, transfer);
send({ type: 'ready', backend: info.name, ...(info.simd !== undefined ? { simd: info.simd } : {}), ...(info.threads !== undefined ? { threads: info.threads } : {}) });

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

async function trainOne(task: TrainTask): Promise<TaskOutcome> {
  try {
    const model = modelFor(task.model, task.modelSeed);
    setFlatWeights(model, task.global);
    const result = await trainLocal(model, { ...task.examples, classNames: [], sensitive: {} }, task.options);
    return { ok: true, weights: getFlatWeights(model), result: { loss: result.loss, examples: result.examples, steps: result.steps, millis: result.millis } };
  } catch (e) {
    const err = failure(e);
    return { ok: false, code: err.code, message: err.message };
  }
}

function failure(e: unknown): TesseraError {
  return e instanceof TesseraError ? e : new TesseraError('TESSERA_ERR_INTERNAL', e instanceof Error ? e.message : String(e), { cause: e });
}

async function train(req: TrainRequest): Promise<void> {
  const outcomes: TaskOutcome[] = [];
  for (const task of req.tasks) outcomes.push(await trainOne(task));
  const transfer = outcomes.flatMap((o) => (o.ok ? [o.weights.buffer as ArrayBuffer] : []));
  send({ type: 'trained', id: req.id, outcomes, threadCpuMs: threadCpuMs() }, transfer);
}

function predict(req: PredictRequest): void {
  try {
    const model = modelFor(req.model, req.modelSeed);
    setFlatWeights(model, req.weights);
    const probs = predictProba(model, req.x, req.n);
    send({ type: 'predicted', id: req.id, probs, threadCpuMs: threadCpuMs() }, [probs.buffer as ArrayBuffer]);
  } catch (e) {
    const err = failure(e);
    send({ type: 'refused', id: req.id, code: err.code, message: err.message });
  }
}

// One request at a time: the pool gives a worker its next request only after the previous reply.
port.on('message', (raw: unknown) => {
  const parsed = WorkerRequest.safeParse(raw);
  if (!parsed.success) {
    const id = typeof raw === 'object' && raw !== null && 'id' in raw && typeof raw.id === 'number' ? raw.id : 0;
    send({ type: 'refused', id, code: 'TESSERA_ERR_MESSAGE_INVALID', message: `worker request refused: ${describeZodIssues(parsed.error.issues)}` });
    return;
  }
  const req = parsed.data;
  if (req.type === 'predict') predict(req);
  else void train(req);
});
