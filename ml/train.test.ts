import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend.ts';
import { buildModel } from './model.ts';
import { evaluate, predictProba, trainLocal } from './train.ts';
import { getFlatWeights, setFlatWeights } from './weights.ts';
import { ModelSpec } from '../protocol/job/model.ts';
import type { Examples } from '../datasets/types.ts';
import { selectRows } from '../datasets/types.ts';
import { loadMnist } from '../datasets/mnist.ts';
import { seededRandom } from '../privacy/random.ts';
import { TesseraError } from '../protocol/errors.ts';

/** Gaussian features; label = [w·x > 0] for a fixed random w, rows within 0.2 of the boundary dropped. */
function separable(n: number, d: number, seed: string): Examples {
  const gaussian = (rng: ReturnType<typeof seededRandom>) => (): number => Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
  // The separating direction depends on d only, so a train and a test set drawn with other seeds share it.
  const w = Array.from({ length: d }, gaussian(seededRandom(`direction-${d}`)));
  const gauss = gaussian(seededRandom(seed));
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; ) {
    const row = Array.from({ length: d }, gauss);
    const score = row.reduce((s, v, j) => s + v * (w[j] ?? 0), 0) / Math.sqrt(d);
    if (Math.abs(score) < 0.2) continue;
    x.set(row, i * d);
    y[i] = score > 0 ? 1 : 0;
    i++;
  }
  return { x, y, n, featureShape: [d], classes: 2, classNames: ['neg', 'pos'], sensitive: {} };
}

/** size×size images holding one horizontal (class 0) or vertical (class 1) bar, plus uniform noise. */
function bars(n: number, size: number, seed: string): Examples {
  const rng = seededRandom(seed);
  const d = size * size;
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = rng.nextUint32() % 2;
    const at = rng.nextUint32() % size;
    y[i] = c;
    for (let k = 0; k < d; k++) x[i * d + k] = 0.3 * rng.nextFloat();
    for (let k = 0; k < size; k++) x[i * d + (c === 0 ? at * size + k : k * size + at)] = 1;
  }
  return { x, y, n, featureShape: [size, size, 1], classes: 2, classNames: ['horizontal', 'vertical'], sensitive: {} };
}

const LOGISTIC = ModelSpec.parse({ kind: 'logistic', inputs: 10, classes: 2 });
const SMALL_CNN = ModelSpec.parse({ kind: 'cnn', inputShape: [12, 12, 1], filters: [4], dense: [8], classes: 2 });

beforeAll(async () => {
  await initBackend('wasm');
});

describe('trainLocal', () => {
  it('fits a linearly separable problem with logistic regression (> 0.95 held-out accuracy)', async () => {
    const train = separable(800, 10, 'train');
    const test = separable(400, 10, 'test');
    const model = buildModel(LOGISTIC, { seed: 1 });
    const before = evaluate(model, test);
    const result = await trainLocal(model, train, { epochs: 10, batchSize: 32, learningRate: 0.05, optimizer: 'adam', shuffleSeed: 1 });
    const after = evaluate(model, test);
    expect(result).toMatchObject({ examples: 800, steps: 10 * 25 });
    expect(result.millis).toBeGreaterThan(0);
    expect(after.accuracy).toBeGreaterThan(0.95);
    expect(after.loss).toBeLessThan(before.loss);
    expect(result.loss).toBeLessThan(0.3);
  });

  it('is reproducible from the shuffle seed, and the seed changes the batch order', async () => {
    const data = separable(300, 10, 'repro');
    const run = async (shuffleSeed: string): Promise<Float32Array> => {
      const model = buildModel(LOGISTIC, { seed: 3 });
      await trainLocal(model, data, { epochs: 2, batchSize: 16, learningRate: 0.1, optimizer: 'sgd', shuffleSeed });
      return getFlatWeights(model);
    };
    const a = await run('s1');
    expect(await run('s1')).toEqual(a);
    expect(await run('s2')).not.toEqual(a);
  });

  it('scales the loss by sample weights: weight 2 with SGD equals twice the learning rate', async () => {
    const data = separable(200, 10, 'weights');
    const doubled: Examples = { ...data, weights: new Float32Array(data.n).fill(2) };
    const run = async (examples: Examples, learningRate: number): Promise<Float32Array> => {
      const model = buildModel(LOGISTIC, { seed: 4 });
      await trainLocal(model, examples, { epochs: 1, batchSize: 20, learningRate, optimizer: 'sgd', shuffleSeed: 'w' });
      return getFlatWeights(model);
    };
    const weighted = await run(doubled, 0.05);
    const plain = await run(data, 0.1);
    weighted.forEach((v, i) => expect(v).toBeCloseTo(plain[i] ?? Number.NaN, 5));
  });

  it('ignores rows of weight 0: flipping their labels changes nothing', async () => {
    const data = separable(400, 10, 'zero');
    const weights = Float32Array.from({ length: data.n }, (_, i) => (i % 3 === 0 ? 0 : 1));
    const flipped = Int32Array.from(data.y, (label, i) => (i % 3 === 0 ? 1 - label : label));
    const run = async (y: Int32Array): Promise<Float32Array> => {
      const model = buildModel(LOGISTIC, { seed: 5 });
      await trainLocal(model, { ...data, y, weights }, { epochs: 3, batchSize: 32, learningRate: 0.05, optimizer: 'adam', shuffleSeed: 1 });
      return getFlatWeights(model);
    };
    const original = await run(data.y);
    expect(await run(flipped)).toEqual(original);
    // Without the weights the flipped labels do change the result, so the comparison above can fail.
    const unweighted = buildModel(LOGISTIC, { seed: 5 });
    await trainLocal(unweighted, { ...data, y: flipped }, { epochs: 3, batchSize: 32, learningRate: 0.05, optimizer: 'adam', shuffleSeed: 1 });
    expect(getFlatWeights(unweighted)).not.toEqual(original);
  });

  it('trains a CNN on wasm (Conv2DBackpropFilter registered by ml/kernels): loss falls, bars are told apart', async () => {
    const data = bars(256, 12, 'bars');
    const model = buildModel(SMALL_CNN, { seed: 7 });
    const before = evaluate(model, data);
    const losses: number[] = [];
    for (let epoch = 0; epoch < 4; epoch++) {
      losses.push((await trainLocal(model, data, { epochs: 1, batchSize: 32, learningRate: 0.01, optimizer: 'adam', shuffleSeed: epoch })).loss);
    }
    expect(tf.getBackend()).toBe('wasm');
    expect(losses[3]).toBeLessThan((losses[0] ?? 0) * 0.5);
    expect(evaluate(model, data).loss).toBeLessThan(before.loss * 0.5);
    expect(evaluate(model, bars(200, 12, 'bars-test')).accuracy).toBeGreaterThan(0.9);
  });

  it('takes the same CNN step on wasm as on cpu (same seed, same batches)', async () => {
    const data = bars(64, 12, 'step');
    const opts = { epochs: 1, batchSize: 16, learningRate: 0.05, optimizer: 'sgd' as const, shuffleSeed: 'step' };
    const onWasm = buildModel(SMALL_CNN, { seed: 8 });
    const wasmLoss = (await trainLocal(onWasm, data, opts)).loss;
    const wasmWeights = getFlatWeights(onWasm);
    await initBackend('cpu');
    const onCpu = buildModel(SMALL_CNN, { seed: 8 });
    const cpuLoss = (await trainLocal(onCpu, data, opts)).loss;
    const cpuWeights = getFlatWeights(onCpu);
    await initBackend('wasm');
    expect(wasmLoss).toBeCloseTo(cpuLoss, 4);
    let maxDiff = 0;
    cpuWeights.forEach((v, i) => (maxDiff = Math.max(maxDiff, Math.abs(v - (wasmWeights[i] ?? 0)))));
    expect(maxDiff).toBeLessThan(1e-4);
  });

  it('learns real MNIST digits with the default CNN on wasm (LeCun et al.; 1,000 training images)', async () => {
    const { train, test } = loadMnist({ trainLimit: 1000, testLimit: 500 });
    const model = buildModel(ModelSpec.parse({ kind: 'cnn', classes: 10 }), { seed: 1 });
    const result = await trainLocal(model, train, { epochs: 2, batchSize: 32, learningRate: 0.002, optimizer: 'adam', shuffleSeed: 1 });
    expect(result.steps).toBe(2 * 32);
    // Chance is 0.1; a small CNN on 1,000 images for 2 epochs is well above it.
    expect(evaluate(model, test).accuracy).toBeGreaterThan(0.7);
  });

  it('refuses examples that do not fit the model, and bad options', async () => {
    const model = buildModel(LOGISTIC, { seed: 1 });
    const data = separable(10, 10, 'x');
    const opts = { epochs: 1, batchSize: 4, learningRate: 0.1, optimizer: 'sgd' as const };
    const code = (p: Promise<unknown>): Promise<unknown> => p.then(() => 'resolved', (e: unknown) => (e instanceof TesseraError ? e.code : e));
    expect(await code(trainLocal(model, separable(10, 9, 'y'), opts))).toBe('TESSERA_ERR_MODEL_SPEC');
    expect(await code(trainLocal(model, { ...data, y: data.y.map(() => 2) }, opts))).toBe('TESSERA_ERR_DATA_MALFORMED');
    expect(await code(trainLocal(model, selectRows(data, []), opts))).toBe('TESSERA_ERR_DATA_EMPTY');
    expect(await code(trainLocal(model, { ...data, weights: new Float32Array(data.n).fill(-1) }, opts))).toBe('TESSERA_ERR_DATA_MALFORMED');
    expect(await code(trainLocal(model, data, { ...opts, batchSize: 0 }))).toBe('TESSERA_ERR_INVALID_ARGUMENT');
    expect(await code(trainLocal(model, data, { ...opts, learningRate: Number.NaN }))).toBe('TESSERA_ERR_INVALID_ARGUMENT');
    expect(() => predictProba(model, data.x, 11)).toThrow(TesseraError);
  });
});

describe('evaluate and predictProba', () => {
  it('agree: rows sum to 1, argmax accuracy and cross-entropy match evaluate', async () => {
    const data = separable(300, 10, 'eval');
    const model = buildModel(LOGISTIC, { seed: 2 });
    await trainLocal(model, data, { epochs: 2, batchSize: 32, learningRate: 0.05, optimizer: 'adam', shuffleSeed: 2 });
    const probs = predictProba(model, data.x, data.n);
    expect(probs.length).toBe(data.n * 2);
    let correct = 0;
    let ce = 0;
    for (let i = 0; i < data.n; i++) {
      const p0 = probs[2 * i] ?? 0;
      const p1 = probs[2 * i + 1] ?? 0;
      expect(p0 + p1).toBeCloseTo(1, 5);
      if ((p1 > p0 ? 1 : 0) === data.y[i]) correct++;
      ce -= Math.log(data.y[i] === 1 ? p1 : p0);
    }
    const result = evaluate(model, data, { batchSize: 7 });
    expect(result.accuracy).toBeCloseTo(correct / data.n, 10);
    expect(result.loss).toBeCloseTo(ce / data.n, 5);
  });

  it('leaks no tensors over many rounds of set weights → train → evaluate → predict', async () => {
    const data = bars(48, 12, 'leak');
    const model = buildModel(SMALL_CNN, { seed: 3 });
    const global = getFlatWeights(model);
    const round = async (optimizer: 'sgd' | 'adam'): Promise<void> => {
      setFlatWeights(model, global);
      await trainLocal(model, { ...data, weights: new Float32Array(data.n).fill(1) }, { epochs: 1, batchSize: 16, learningRate: 0.01, optimizer });
      getFlatWeights(model);
      evaluate(model, data);
      predictProba(model, data.x, data.n);
    };
    await round('adam'); // first call may create lasting state (e.g. tfjs's cached scalars)
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) await round(i % 2 === 0 ? 'sgd' : 'adam');
    expect(tf.memory().numTensors).toBe(before);
  });
});
