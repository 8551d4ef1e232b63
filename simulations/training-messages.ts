/**
 * The messages between a simulation and its training worker threads (simulations/training-pool.ts,
 * training-worker.ts): one definition, parsed on arrival on both sides like any other boundary. Typed arrays
 * cross by structured clone: those on a SharedArrayBuffer (the clients' examples) are shared, not copied; the
 * weight vectors are transferred. A request carries a batch of tasks and its reply all of their results, so that
 * many small tasks (Adult with 100 clients: 1,000 tasks of a few hundred rows) cost one message each way per
 * batch, not per task. A predict request asks for the class probabilities of a slice of the central test set (the
 * simulation's evaluation after each round, split across the workers; simulations/pool-evaluation.ts).
 * Each answer carries the worker thread's CPU time so far, so a run can say how busy its workers were.
 */
import { z } from 'zod';
import { ModelSpec } from '../protocol/job/model.ts';

// Typed arrays on either kind of buffer (the examples are on a SharedArrayBuffer, weights on an ArrayBuffer).
const float32 = z.custom<Float32Array>((v) => v instanceof Float32Array, 'expected a Float32Array');
const int32 = z.custom<Int32Array>((v) => v instanceof Int32Array, 'expected an Int32Array');

export const WorkerSetup = z.strictObject({
  /** The simulation's backend: every worker trains on the same one, so a worker's arithmetic is the main thread's. */
  backend: z.enum(['tensorflow', 'wasm', 'cpu']),
});
export type WorkerSetup = z.infer<typeof WorkerSetup>;

/** The examples a worker trains on: what ml/train.ts reads (features, labels, optional per-row weights). */
export const WorkerExamples = z.strictObject({
  x: float32,
  y: int32,
  n: z.number().int().min(0),
  featureShape: z.array(z.number().int().positive()),
  classes: z.number().int().min(2),
  weights: float32.optional(),
});

/** One client's local training: what client/local-trainer.ts's LocalTrainingTask holds. */
export const TrainTask = z.strictObject({
  model: ModelSpec,
  modelSeed: z.union([z.string(), z.number()]),
  global: float32,
  examples: WorkerExamples,
  // Loose: a training option added to ml/train.ts's TrainOptions reaches trainLocal without an edit here; the
  // fields every run uses are checked.
  options: z.looseObject({
    epochs: z.number().int().positive(),
    batchSize: z.number().int().positive(),
    learningRate: z.number().positive(),
    optimizer: z.enum(['sgd', 'adam']),
    shuffleSeed: z.union([z.string(), z.number()]).optional(),
  }),
});
export type TrainTask = z.infer<typeof TrainTask>;

/** A batch of tasks, trained one after another in this order; the reply lists their results in the same order. */
export const TrainRequest = z.strictObject({
  type: z.literal('train'),
  id: z.number().int().min(0),
  tasks: z.array(TrainTask).min(1),
});
export type TrainRequest = z.infer<typeof TrainRequest>;

/** ml/train.ts predictProba of the model with `weights` on `n` rows of features `x` (a view of shared memory). */
export const PredictRequest = z.strictObject({
  type: z.literal('predict'),
  id: z.number().int().min(0),
  model: ModelSpec,
  modelSeed: z.union([z.string(), z.number()]),
  weights: float32,
  x: float32,
  n: z.number().int().min(1),
});
export type PredictRequest = z.infer<typeof PredictRequest>;

export const WorkerRequest = z.discriminatedUnion('type', [TrainRequest, PredictRequest]);
export type WorkerRequest = z.infer<typeof WorkerRequest>;

/** The worker thread's own CPU time so far (ms; Linux /proc/thread-self, null elsewhere). */
const threadCpuMs = z.number().min(0).nullable();

export const TaskOutcome = z.discriminatedUnion('ok', [
  z.strictObject({
    ok: z.literal(true),
    weights: float32,
    result: z.strictObject({ loss: z.union([z.number(), z.nan()]), examples: z.number().int().min(0), steps: z.number().int().min(0), millis: z.number().min(0) }),
  }),
  /** The task failed inside the worker (bad examples, a model error): the code and message of the TesseraError. */
  z.strictObject({ ok: z.literal(false), code: z.string(), message: z.string() }),
]);
export type TaskOutcome = z.infer<typeof TaskOutcome>;

export const WorkerReply = z.discriminatedUnion('type', [
  /** Sent once, when the worker's backend is initialised. */
  z.strictObject({ type: z.literal('ready'), backend: z.string(), simd: z.boolean().optional(), threads: z.number().int().optional() }),
  /** One outcome per task of request `id`, in its order: a failed task does not fail the others. */
  z.strictObject({ type: z.literal('trained'), id: z.number().int().min(0), outcomes: z.array(TaskOutcome), threadCpuMs }),
  /** The probabilities asked for by predict request `id`: n × classes, row-major. */
  z.strictObject({ type: z.literal('predicted'), id: z.number().int().min(0), probs: float32, threadCpuMs }),
  /** The request itself was refused (it did not parse): every task of it fails. */
  z.strictObject({ type: z.literal('refused'), id: z.number().int().min(0), code: z.string(), message: z.string() }),
]);
export type WorkerReply = z.infer<typeof WorkerReply>;
