/**
 * Local training and evaluation on one client's examples. Training is a plain mini-batch loop
 * (optimizer.minimize per batch) rather than `model.fit`, for two reasons: tfjs-layers' `fit` does not
 * implement per-example sample weights (needed for fairness reweighing, Kamiran & Calders 2012), and the
 * batch order must come from an injected seed, not from tfjs's internal Math.random shuffle.
 */
import * as tf from '@tensorflow/tfjs';
import type { Examples } from '../datasets/types.ts';
import { featureSize } from '../datasets/types.ts';
import { TesseraError } from '../protocol/errors.ts';
import { cryptoRandom, seededRandom, shuffleInPlace } from '../privacy/random.ts';
import type { RandomSource } from '../privacy/random.ts';
import { checkExamplesFit, gatherBatch, modelIO, sliceFeatures } from './batches.ts';
import { autodiffStep, EPSILON, forward } from './autodiff-step.ts';
import type { Proximal, TrainStep } from './autodiff-step.ts';
import { denseStep, readDenseStack } from './dense-step.ts';

/** Which training step runs: see trainingPath. */
export type TrainingPath = 'dense' | 'autodiff';

export interface TrainOptions {
  readonly epochs: number;
  readonly batchSize: number;
  readonly learningRate: number;
  readonly optimizer: 'sgd' | 'adam';
  /** Seed for the batch order (reproducible simulations); without it the order comes from the OS CSPRNG. */
  readonly shuffleSeed?: string | number;
  /**
   * μ of FedProx (Li, Sahu, Zaheer, Sanjabi, Talwalkar & Smith 2020, "Federated Optimization in Heterogeneous
   * Networks", MLSys, Algorithm 2): the local objective becomes F_k(w) + μ/2·‖w − w^t‖², w^t the weights the model
   * holds when training starts (the round's global model). 0 or absent: FedAvg's objective.
   */
  readonly proximalMu?: number;
}

export interface TrainResult {
  /** Mean training objective over the last epoch: weighted cross-entropy plus any L2 penalty (and FedProx's proximal term). */
  readonly loss: number;
  /** Local examples (n), the weight FedAvg gives this client's update. */
  readonly examples: number;
  /** Optimizer steps taken (epochs × ceil(n / batchSize)). */
  readonly steps: number;
  readonly millis: number;
}

export interface EvalResult {
  /** Mean cross-entropy (natural log) over the examples, without regularisation penalties. */
  readonly loss: number;
  readonly accuracy: number;
  /**
   * Σ over examples of the multi-class Brier score Σ_c (p_c − 1[c = y])² (Brier 1950, Monthly Weather Review
   * 78(1); range [0, 2] per example): a sum, so federated evaluation can add it across clients like the loss.
   */
  readonly brierSum: number;
  /** Examples per true label (index = class): what the majority-class baseline is computed from. */
  readonly labelCounts: readonly number[];
}

/** Hand the event loop back this often, so a client's socket heartbeats survive a long local epoch. */
const YIELD_EVERY_MS = 50;

function checkTrainOptions(o: TrainOptions): void {
  const bad = (what: string): never => {
    throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `training option ${what}`);
  };
  if (!Number.isInteger(o.epochs) || o.epochs < 1) bad(`epochs must be a positive integer, got ${o.epochs}`);
  if (!Number.isInteger(o.batchSize) || o.batchSize < 1) bad(`batchSize must be a positive integer, got ${o.batchSize}`);
  if (!Number.isFinite(o.learningRate) || o.learningRate <= 0) bad(`learningRate must be a positive number, got ${o.learningRate}`);
  if (o.optimizer !== 'sgd' && o.optimizer !== 'adam') bad(`optimizer must be sgd or adam, got ${String(o.optimizer)}`);
  if (o.proximalMu !== undefined && !(Number.isFinite(o.proximalMu) && o.proximalMu >= 0)) bad(`proximalMu must be a number ≥ 0, got ${o.proximalMu}`);
}

function trainableVariables(model: tf.LayersModel): tf.Variable[] {
  // LayerVariable.read() returns the backing tf.Variable; the optimizer needs exactly those.
  return model.trainableWeights.map((w) => {
    const v = w.read();
    if (!(v instanceof tf.Variable)) throw new TesseraError('TESSERA_ERR_INTERNAL', `weight ${w.name} is not backed by a variable`);
    return v;
  });
}

let override: TrainingPath | undefined;

/**
 * Benchmarks and tests only: makes every later trainLocal call in this thread take `path` ('dense' only where
 * it applies), until called again with undefined. The training bench uses it to run the quick start as it ran
 * before the dense step existed; the tests to compare the two paths on one model.
 */
export function overrideTrainingPath(path: TrainingPath | undefined): void {
  override = path;
}

/**
 * How a model trains: 'dense', the tape-free step of ml/dense-step.ts, for stacks of Dense layers ending in a
 * softmax (logistic, mlp, Dense-only `layers` models); 'autodiff', tfjs's tape, for everything else (and for
 * every model while overrideTrainingPath('autodiff') holds). The two give the same numbers where both apply
 * (ml/dense-step.test.ts).
 */
export function trainingPath(model: tf.LayersModel): TrainingPath {
  return override !== 'autodiff' && readDenseStack(model) !== undefined ? 'dense' : 'autodiff';
}

function makeStep(model: tf.LayersModel, path: TrainingPath, variables: tf.Variable[], optimizer: tf.Optimizer, prox: Proximal | undefined): TrainStep {
  const stack = path === 'dense' ? readDenseStack(model) : undefined;
  return stack ? denseStep(stack, variables, optimizer, prox) : autodiffStep(model, variables, optimizer, prox);
}

/** Σ_b loss_b · rows_b over one epoch's batch losses, read back from the backend in one transfer. */
function epochLossSum(losses: tf.Scalar[], rows: number[]): number {
  // Not `tf.tidy(() => stack.dataSync())`: a tidy that returns a Float32Array walks every element looking for
  // tensors to keep (tfjs walkTensorContainer), and its numbers — Smis and heap numbers in turn — deoptimised that
  // function on nearly every call: 256 TurboFan recompilations and 0.9 s of background compile CPU in an 18-run
  // sweep (`node --trace-opt --trace-deopt`).
  const stacked = tf.stack(losses);
  let values: Float32Array;
  try {
    values = stacked.dataSync() as Float32Array;
  } finally {
    stacked.dispose();
  }
  let sum = 0;
  rows.forEach((r, b) => (sum += (values[b] ?? Number.NaN) * r));
  return sum;
}

/**
 * Trains `model` in place on `examples`. A fresh optimizer per call (its moments are discarded at the end),
 * because each round starts from the global weights and Adam's state would otherwise leak across rounds.
 * Loss per batch: Σ_i w_i · CE_i / rows (Keras's sample-weight convention), plus the model's L2 penalties.
 * The batch losses stay on the backend until the epoch ends (one read-back per epoch, not per batch).
 * The call yields to the event loop between batches; never run two calls on one model at the same time.
 */
export async function trainLocal(model: tf.LayersModel, examples: Examples, opts: TrainOptions): Promise<TrainResult> {
  checkTrainOptions(opts);
  checkExamplesFit(model, examples);
  if (examples.n === 0) throw new TesseraError('TESSERA_ERR_DATA_EMPTY', 'no local examples to train on');
  const started = performance.now();
  const rng: RandomSource = opts.shuffleSeed === undefined ? cryptoRandom() : seededRandom(opts.shuffleSeed);
  const optimizer = opts.optimizer === 'adam' ? tf.train.adam(opts.learningRate) : tf.train.sgd(opts.learningRate);
  const variables = trainableVariables(model);
  const mu = opts.proximalMu ?? 0;
  // FedProx's anchor w^t: a copy of the starting weights, outside any tidy scope (disposed in `finally`).
  const prox: Proximal | undefined = mu > 0 ? { mu, anchors: variables.map((v) => tf.clone(v)) } : undefined;
  const step = makeStep(model, trainingPath(model), variables, optimizer, prox);
  // One object shape for every call: examples come from many construction sites (data sets, held-out splits,
  // reweighing, a worker's message), and each new shape seen by gatherBatch's optimised code deoptimised it —
  // about ten recompilations of it per isolate in the quick start (`node --trace-opt --trace-deopt`).
  const rowsIn: Examples = { x: examples.x, y: examples.y, n: examples.n, featureShape: examples.featureShape, classes: examples.classes, classNames: examples.classNames, sensitive: examples.sensitive, weights: examples.weights };
  const order = Array.from({ length: examples.n }, (_, i) => i);
  const stepsPerEpoch = Math.ceil(examples.n / opts.batchSize);
  let steps = 0;
  let lastEpochLoss = 0;
  let lastYield = performance.now();
  const losses: tf.Scalar[] = [];
  const batchRows: number[] = [];
  try {
    for (let epoch = 0; epoch < opts.epochs; epoch++) {
      shuffleInPlace(rng, order);
      for (let s = 0; s < stepsPerEpoch; s++) {
        const rows = order.slice(s * opts.batchSize, Math.min((s + 1) * opts.batchSize, examples.n));
        losses.push(tf.tidy(() => step(gatherBatch(rowsIn, rows))));
        batchRows.push(rows.length);
        steps++;
        if (performance.now() - lastYield > YIELD_EVERY_MS) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          lastYield = performance.now();
        }
      }
      lastEpochLoss = epochLossSum(losses, batchRows) / examples.n;
      tf.dispose(losses);
      losses.length = 0;
      batchRows.length = 0;
    }
  } finally {
    tf.dispose(losses);
    optimizer.dispose();
    if (prox) tf.dispose([...prox.anchors]);
  }
  return { loss: lastEpochLoss, examples: examples.n, steps, millis: performance.now() - started };
}

/** Runs the model over `n` rows of features in batches; `visit` sees each batch's probabilities. */
function predictBatches(model: tf.LayersModel, x: Float32Array, n: number, batchSize: number, visit: (probs: Float32Array, start: number, rows: number) => void): void {
  const { featureShape } = modelIO(model);
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(start + batchSize, n);
    // The tensor leaves the tidy and is read outside it: a tidy that returns the Float32Array itself walks every
    // element looking for tensors to keep (tfjs getTensorsInContainer), about a third of a central evaluation.
    const out = tf.tidy(() => forward(model, sliceFeatures(x, featureShape, start, end), false));
    const probs = out.dataSync() as Float32Array;
    out.dispose();
    visit(probs, start, end - start);
  }
}

/**
 * Rows per forward pass in evaluation and prediction. Row r's probabilities depend only on r's features, but the
 * batches are fixed anyway, so that predictions split across threads at multiples of it (a parallel simulation's
 * central evaluation, simulations/training-pool.ts) run the very same forward passes as one thread does.
 */
export const PREDICT_BATCH = 512;

/** Accumulates evaluate's figures row by row, in row order (so scores from split predictions add up identically). */
function scorer(examples: Examples): { add(probs: Float32Array, start: number, rows: number): void; result(): EvalResult } {
  const k = examples.classes;
  let lossSum = 0;
  let correct = 0;
  let brierSum = 0;
  const labelCounts = new Array<number>(k).fill(0);
  return {
    add(probs, start, rows) {
      for (let i = 0; i < rows; i++) {
        const label = examples.y[start + i] ?? 0;
        let best = 0;
        for (let c = 1; c < k; c++) if ((probs[i * k + c] ?? 0) > (probs[i * k + best] ?? 0)) best = c;
        if (best === label) correct++;
        lossSum -= Math.log(Math.max(probs[i * k + label] ?? 0, EPSILON));
        for (let c = 0; c < k; c++) brierSum += ((probs[i * k + c] ?? 0) - (c === label ? 1 : 0)) ** 2;
        labelCounts[label] = (labelCounts[label] ?? 0) + 1;
      }
    },
    result: () => ({ loss: lossSum / examples.n, accuracy: correct / examples.n, brierSum, labelCounts }),
  };
}

/** Mean cross-entropy and accuracy (argmax; ties go to the lower class index). */
export function evaluate(model: tf.LayersModel, examples: Examples, opts: { batchSize?: number } = {}): EvalResult {
  checkExamplesFit(model, examples);
  if (examples.n === 0) throw new TesseraError('TESSERA_ERR_DATA_EMPTY', 'no examples to evaluate on');
  const score = scorer(examples);
  predictBatches(model, examples.x, examples.n, opts.batchSize ?? PREDICT_BATCH, score.add);
  return score.result();
}

/**
 * evaluate's figures from the model's probabilities for every row (n × classes, row-major; predictProba's output,
 * possibly computed elsewhere): the same arithmetic in the same order, so the same bits as evaluate.
 */
export function scoreProbabilities(examples: Examples, probs: Float32Array): EvalResult {
  if (examples.n === 0) throw new TesseraError('TESSERA_ERR_DATA_EMPTY', 'no examples to evaluate on');
  if (probs.length !== examples.n * examples.classes) throw new TesseraError('TESSERA_ERR_MODEL_SPEC', `${probs.length} probabilities do not make ${examples.n} rows of ${examples.classes} classes`);
  const score = scorer(examples);
  score.add(probs, 0, examples.n);
  return score.result();
}

/** Class probabilities for `n` rows of row-major features: n × classes, row-major. */
export function predictProba(model: tf.LayersModel, x: Float32Array, n: number): Float32Array {
  const { featureShape, classes } = modelIO(model);
  const d = featureSize({ featureShape });
  if (!Number.isInteger(n) || n < 0 || x.length !== n * d) {
    throw new TesseraError('TESSERA_ERR_MODEL_SPEC', `predictProba: ${x.length} feature values do not make ${n} rows of ${d}`);
  }
  const out = new Float32Array(n * classes);
  predictBatches(model, x, n, PREDICT_BATCH, (probs, start) => out.set(probs, start * classes));
  return out;
}
