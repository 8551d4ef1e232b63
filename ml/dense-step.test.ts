/**
 * The tape-free Dense step (ml/dense-step.ts) against tfjs's autodiff step on the same models, data and batch
 * order: random Dense stacks (depths 1–3, every activation our models use, with and without biases), ragged last
 * batches, sample weights, L2, FedProx μ > 0, sgd and adam. The bar is 1e-5 relative on the loss and every
 * weight; on wasm the two are in fact bit-identical (asserted too, since it is what keeps the quick start's
 * figures unchanged). The clip's zero gradient outside [ε, 1 − ε] is checked on saturated softmax outputs.
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend.ts';
import { readDenseStack } from './dense-step.ts';
import { buildModel } from './model.ts';
import { overrideTrainingPath, trainingPath, trainLocal } from './train.ts';
import type { TrainingPath, TrainOptions } from './train.ts';
import { getFlatWeights, setFlatWeights } from './weights.ts';
import { ModelSpec } from '../protocol/job/model.ts';
import type { Examples } from '../datasets/types.ts';
import { seededRandom } from '../privacy/random.ts';

type Activation = 'linear' | 'relu' | 'tanh' | 'sigmoid' | 'softmax';

/** A `layers` model spec (the topology tfjs writes) of Dense layers, the last one softmax. */
function denseStackSpec(inputs: number, hidden: readonly { units: number; activation: Activation; useBias: boolean }[], classes: number): ModelSpec {
  const m = tf.sequential();
  hidden.forEach((h, i) => m.add(tf.layers.dense({ ...h, ...(i === 0 ? { inputShape: [inputs] } : {}) })));
  m.add(tf.layers.dense({ units: classes, activation: 'softmax', ...(hidden.length === 0 ? { inputShape: [inputs] } : {}) }));
  const topology = m.toJSON(null, false) as unknown as Record<string, unknown>;
  m.dispose();
  return ModelSpec.parse({ kind: 'layers', topology, classes });
}

function examples(n: number, d: number, classes: number, seed: string, weighted: boolean, scale = 2): Examples {
  const rng = seededRandom(seed);
  return {
    x: Float32Array.from({ length: n * d }, () => (rng.nextFloat() * 2 - 1) * scale),
    y: Int32Array.from({ length: n }, () => rng.nextUint32() % classes),
    n,
    featureShape: [d],
    classes,
    classNames: Array.from({ length: classes }, (_, i) => `c${i}`),
    sensitive: {},
    ...(weighted ? { weights: Float32Array.from({ length: n }, (_, i) => (i % 7 === 0 ? 0 : rng.nextFloat() * 3)) } : {}),
  };
}

interface Outcome {
  readonly loss: number;
  readonly weights: Float32Array;
  readonly path: TrainingPath;
}

async function trainOn(spec: ModelSpec, start: Float32Array, data: Examples, opts: TrainOptions, path: TrainingPath): Promise<Outcome> {
  const model = buildModel(spec, { seed: 1 });
  setFlatWeights(model, start);
  overrideTrainingPath(path === 'autodiff' ? 'autodiff' : undefined);
  const taken = trainingPath(model);
  const { loss } = await trainLocal(model, data, opts);
  overrideTrainingPath(undefined);
  const weights = getFlatWeights(model);
  model.dispose();
  return { loss, weights, path: taken };
}

/** Largest |a − b| / max(|b|, 1e-3) over the weights (relative, with a floor for weights near 0). */
function maxRelative(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  a.forEach((v, i) => {
    const ref = b[i] ?? Number.NaN;
    worst = Math.max(worst, Math.abs(v - ref) / Math.max(Math.abs(ref), 1e-3));
  });
  return worst;
}

async function compare(spec: ModelSpec, data: Examples, opts: TrainOptions, start?: Float32Array): Promise<{ dense: Outcome; tape: Outcome }> {
  const initial = start ?? getFlatWeights(buildModel(spec, { seed: 1 }));
  const tape = await trainOn(spec, initial, data, opts, 'autodiff');
  const dense = await trainOn(spec, initial, data, opts, 'dense');
  expect(tape.path).toBe('autodiff');
  expect(dense.path).toBe('dense');
  expect(Number.isFinite(dense.loss)).toBe(true);
  expect(Math.abs(dense.loss - tape.loss) / Math.abs(tape.loss)).toBeLessThanOrEqual(1e-5);
  expect(maxRelative(dense.weights, tape.weights)).toBeLessThanOrEqual(1e-5);
  // Training moved the weights, so the comparison above could fail.
  expect(maxRelative(dense.weights, initial)).toBeGreaterThan(1e-3);
  return { dense, tape };
}

beforeAll(async () => {
  await initBackend('wasm');
});

afterEach(() => overrideTrainingPath(undefined));

describe('the dense step equals the autodiff step', () => {
  it('on random Dense stacks: depths 1–3, every activation, biases on and off, ragged batches, weights, L2-free, sgd and adam', async () => {
    const rng = seededRandom('stacks');
    const activations: Activation[] = ['linear', 'relu', 'tanh', 'sigmoid', 'softmax'];
    for (let c = 0; c < 12; c++) {
      const depth = c % 3;
      const inputs = 3 + (rng.nextUint32() % 20);
      const classes = 2 + (rng.nextUint32() % 4);
      const hidden = Array.from({ length: depth }, (_, i) => ({
        units: 2 + (rng.nextUint32() % 12),
        activation: activations[(c + i) % activations.length] as Activation,
        useBias: (c + i) % 4 !== 3,
      }));
      const n = 40 + (rng.nextUint32() % 60); // batch sizes below do not divide n: the last batch is ragged
      const data = examples(n, inputs, classes, `stack-${c}`, c % 2 === 1);
      const opts: TrainOptions = { epochs: 2, batchSize: [7, 16, 32][c % 3] as number, learningRate: 0.05, optimizer: c % 4 < 2 ? 'sgd' : 'adam', shuffleSeed: c, proximalMu: c % 5 === 4 ? 0.3 : 0 };
      const { dense, tape } = await compare(denseStackSpec(inputs, hidden, classes), data, opts);
      expect(dense.weights).toEqual(tape.weights); // bit for bit on wasm
      expect(dense.loss).toBe(tape.loss);
    }
  });

  it('with L2 and FedProx together (the gradient terms are added in the tape’s order), sgd and adam, mlp and logistic', async () => {
    const cases: { spec: ModelSpec; optimizer: 'sgd' | 'adam'; weighted: boolean }[] = [
      { spec: ModelSpec.parse({ kind: 'mlp', inputs: 12, hidden: [16, 8], classes: 3, l2: 0.01 }), optimizer: 'sgd', weighted: true },
      { spec: ModelSpec.parse({ kind: 'mlp', inputs: 12, hidden: [10], classes: 4, activation: 'tanh', l2: 0.05 }), optimizer: 'adam', weighted: false },
      { spec: ModelSpec.parse({ kind: 'logistic', inputs: 12, classes: 2, l2: 0.1 }), optimizer: 'adam', weighted: true },
    ];
    for (const [i, c] of cases.entries()) {
      const data = examples(75, 12, c.spec.classes, `l2-${i}`, c.weighted);
      const { dense, tape } = await compare(c.spec, data, { epochs: 3, batchSize: 16, learningRate: 0.05, optimizer: c.optimizer, shuffleSeed: i, proximalMu: 0.2 });
      expect(dense.weights).toEqual(tape.weights);
      expect(dense.loss).toBe(tape.loss);
    }
  });

  it('on the quick start model (MLP 784-128-10, sgd, lr 0.1, batch 32)', async () => {
    const spec = ModelSpec.parse({ kind: 'mlp', inputs: 784, hidden: [128], classes: 10 });
    const data = examples(200, 784, 10, 'mnist-shaped', false, 1);
    const { dense, tape } = await compare(spec, data, { epochs: 1, batchSize: 32, learningRate: 0.1, optimizer: 'sgd', shuffleSeed: 42 });
    expect(dense.weights).toEqual(tape.weights);
  });
});

describe("the clip's zero gradient outside [ε, 1 − ε]", () => {
  // Two-class logistic regression with kernel [[a, −a], [0, 0]] and zero bias: a row (s, 0) has logits (as, −as),
  // so p = softmax = (1/(1 + e^(−2as)), …). With 2as = ±18…±22 one probability rounds to 1 in float32 (above
  // 1 − ε) and the other is 1.5e-8…2.8e-10, not 0 but below ε: every row is clipped, whether its label is the
  // predicted class or not, and the clipped loss is flat there. Without the clip's mask the label-below-ε rows
  // would contribute (p − y)-like gradients of size ~0.1/rows, so "unchanged" is a claim that can fail.
  const spec = ModelSpec.parse({ kind: 'logistic', inputs: 2, classes: 2 });
  const a = 3;
  const start = Float32Array.from([a, -a, 0, 0, 0, 0]);
  const rows = (margins: readonly number[], labels: readonly number[]): Examples => ({
    x: Float32Array.from(margins.flatMap((m) => [m / (2 * a), 0])),
    y: Int32Array.from(labels),
    n: margins.length,
    featureShape: [2],
    classes: 2,
    classNames: ['a', 'b'],
    sensitive: {},
  });
  const saturatedMargins = [18, -18, 20, -20, 22, -22, 19, -21];
  // Labels: the predicted class (p_label rounds to 1) for the first half, the other class (p_label < ε) after.
  const saturatedLabels = saturatedMargins.map((m, i) => (i < 4 ? (m > 0 ? 0 : 1) : m > 0 ? 1 : 0));

  it('a batch of saturated rows leaves the weights exactly unchanged, on both paths', async () => {
    const data = rows(saturatedMargins, saturatedLabels);
    for (const path of ['dense', 'autodiff'] as const) {
      const out = await trainOn(spec, start, data, { epochs: 2, batchSize: 8, learningRate: 0.5, optimizer: 'sgd', shuffleSeed: 1 }, path);
      expect(out.path).toBe(path);
      expect(out.weights).toEqual(start);
      expect(out.loss).toBeGreaterThan(7); // the loss is not flat at 0: the four wrong rows cost −log ε ≈ 16.1 each
    }
  });

  it('saturated and unsaturated rows together: the same step on both paths, moved only by the unsaturated rows', async () => {
    const data = rows([...saturatedMargins, 0.5, -1, 2], [...saturatedLabels, 1, 0, 1]);
    const { dense } = await compare(spec, data, { epochs: 1, batchSize: 11, learningRate: 0.5, optimizer: 'sgd', shuffleSeed: 3 }, start);
    expect(dense.path).toBe('dense');
  });
});

describe('trainingPath', () => {
  it('takes the dense step exactly for Sequential Dense stacks ending in softmax', () => {
    const dense = [
      ModelSpec.parse({ kind: 'logistic', inputs: 5, classes: 2 }),
      ModelSpec.parse({ kind: 'mlp', inputs: 5, hidden: [4, 3], classes: 2, activation: 'sigmoid', l2: 0.1 }),
      denseStackSpec(5, [{ units: 3, activation: 'linear', useBias: false }], 2),
    ];
    for (const s of dense) expect(trainingPath(buildModel(s, { seed: 1 }))).toBe('dense');
    expect(trainingPath(buildModel(ModelSpec.parse({ kind: 'cnn', inputShape: [8, 8, 1], filters: [2], dense: [4], classes: 2 }), { seed: 1 }))).toBe('autodiff');
    // Dense layers the step does not reproduce: an L1 term, a constraint, a frozen layer, a non-softmax output.
    const l1 = tf.sequential({ layers: [tf.layers.dense({ units: 2, activation: 'softmax', inputShape: [4], kernelRegularizer: tf.regularizers.l1l2({ l1: 0.1, l2: 0 }) })] });
    const constrained = tf.sequential({ layers: [tf.layers.dense({ units: 2, activation: 'softmax', inputShape: [4], kernelConstraint: tf.constraints.maxNorm({ maxValue: 1 }) })] });
    const frozen = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [4], trainable: false }), tf.layers.dense({ units: 2, activation: 'softmax' })] });
    const sigmoidOut = tf.sequential({ layers: [tf.layers.dense({ units: 2, activation: 'sigmoid', inputShape: [4] })] });
    for (const m of [l1, constrained, frozen, sigmoidOut]) {
      expect(readDenseStack(m)).toBeUndefined();
      expect(trainingPath(m)).toBe('autodiff');
    }
    overrideTrainingPath('autodiff');
    expect(trainingPath(buildModel(dense[0] as ModelSpec, { seed: 1 }))).toBe('autodiff');
  });

  it('leaks no tensors', async () => {
    const spec = ModelSpec.parse({ kind: 'mlp', inputs: 8, hidden: [6], classes: 3, l2: 0.01 });
    const model = buildModel(spec, { seed: 2 });
    const data = examples(50, 8, 3, 'leak', true);
    const opts: TrainOptions = { epochs: 2, batchSize: 16, learningRate: 0.05, optimizer: 'adam', shuffleSeed: 1, proximalMu: 0.1 };
    await trainLocal(model, data, opts);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) await trainLocal(model, data, opts);
    expect(tf.memory().numTensors).toBe(before);
  });
});
