/**
 * A user's own tfjs layers model (model.kind "layers", issue 15 §4): the topology tfjs itself writes
 * (`model.toJSON()`) is read, rebuilt with weights drawn from the job seed (the same on every participant, never
 * the file's initializers), and trained on the wasm backend on real MNIST rows — a CNN through Conv2D,
 * MaxPooling2D, Flatten and Dense. Layers and options this build cannot train are refused with
 * TESSERA_ERR_MODEL_LAYER_UNSUPPORTED naming the layer, here and in the coordinator's preflight.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './backend.ts';
import { buildModel, countParameters, inputShape, weightShapes } from './model.ts';
import { evaluate, trainLocal } from './train.ts';
import { getFlatWeights } from './weights.ts';
import { ModelSpec } from '../protocol/job/model.ts';
import { readUserModel } from '../protocol/job/layers-topology.ts';
import { preflight } from '../coordinator/preflight.ts';
import { loadMnist } from '../datasets/mnist.ts';
import type { Examples } from '../datasets/types.ts';

/** A topology exactly as tfjs writes it for a model its author built (weights and initializers ignored). */
function topologyOf(build: (m: tf.Sequential) => void): Record<string, unknown> {
  const m = tf.sequential();
  build(m);
  const json = m.toJSON(null, false) as unknown as Record<string, unknown>;
  m.dispose();
  return json;
}

const DENSE = (): Record<string, unknown> =>
  topologyOf((m) => {
    m.add(tf.layers.dense({ units: 16, activation: 'relu', inputShape: [13], kernelInitializer: 'randomNormal' }));
    m.add(tf.layers.dense({ units: 2, activation: 'softmax' }));
  });

const CNN = (): Record<string, unknown> =>
  topologyOf((m) => {
    m.add(tf.layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu', padding: 'same', inputShape: [28, 28, 1] }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.flatten());
    m.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
  });

const spec = (topology: Record<string, unknown>, classes: number): ModelSpec => ModelSpec.parse({ kind: 'layers', topology, classes });

let images: { train: Examples; test: Examples };

beforeAll(async () => {
  await initBackend();
  const m = loadMnist({ trainLimit: 600, testLimit: 300 });
  images = { train: { ...m.train, featureShape: [28, 28, 1] }, test: { ...m.test, featureShape: [28, 28, 1] } };
});

describe('model.kind "layers"', () => {
  it("reads tfjs's own topology: shapes and parameter count match the model tfjs builds; the seed, not the file, draws the weights", () => {
    const s = spec(DENSE(), 2);
    expect(inputShape(s)).toEqual([13]);
    expect(weightShapes(s)).toEqual([[13, 16], [16], [16, 2], [2]]);
    expect(countParameters(s)).toBe(13 * 16 + 16 + 16 * 2 + 2);
    const a = buildModel(s, { seed: 'job-seed' });
    const b = buildModel(s, { seed: 'job-seed' });
    const c = buildModel(s, { seed: 'other-seed' });
    expect(a.getWeights().map((w) => w.shape)).toEqual(weightShapes(s));
    expect([...getFlatWeights(a)]).toEqual([...getFlatWeights(b)]);
    expect([...getFlatWeights(a)]).not.toEqual([...getFlatWeights(c)]);
    // Glorot-uniform kernels (bounded by √(6 / (fan_in + fan_out))), not the randomNormal the author named; zero biases.
    const kernel = a.getWeights()[0]?.dataSync() ?? new Float32Array();
    expect(Math.max(...[...kernel].map(Math.abs))).toBeLessThanOrEqual(Math.sqrt(6 / (13 + 16)));
    expect([...(a.getWeights()[1]?.dataSync() ?? [])].every((v) => v === 0)).toBe(true);
    for (const m of [a, b, c]) m.dispose();
  });

  it('trains a user CNN on the wasm backend on real MNIST rows (Conv2D, MaxPooling2D, Flatten, Dense)', async () => {
    expect(tf.getBackend()).toBe('wasm');
    const s = spec(CNN(), 10);
    const model = buildModel(s, { seed: 7 });
    const before = evaluate(model, images.test);
    const r = await trainLocal(model, images.train, { epochs: 2, batchSize: 32, learningRate: 0.1, optimizer: 'sgd', shuffleSeed: 1 });
    const after = evaluate(model, images.test);
    expect(r.examples).toBe(600);
    expect(after.loss).toBeLessThan(before.loss);
    expect(after.accuracy).toBeGreaterThan(0.6);
    model.dispose();
  }, 120_000);

  it('also accepts a whole model.json (its modelTopology; weights never read)', () => {
    const whole = { format: 'layers-model', generatedBy: 'TensorFlow.js', modelTopology: DENSE(), weightsManifest: [] };
    expect(readUserModel(whole, 2).inputShape).toEqual([13]);
  });

  const refusals: Array<[string, () => Record<string, unknown>, number, RegExp]> = [
    ['a Dropout layer', () => topologyOf((m) => { m.add(tf.layers.dense({ units: 8, inputShape: [13] })); m.add(tf.layers.dropout({ rate: 0.5 })); m.add(tf.layers.dense({ units: 2, activation: 'softmax' })); }), 2, /layer 2 \(Dropout\): not a layer this build trains on the wasm backend; supported: Dense, Conv2D, MaxPooling2D, Flatten, InputLayer/],
    ['an LSTM', () => topologyOf((m) => { m.add(tf.layers.lstm({ units: 4, inputShape: [5, 3] })); m.add(tf.layers.dense({ units: 2, activation: 'softmax' })); }), 2, /layer 1 \(LSTM\): not a layer/],
    ['an L2 regularizer', () => topologyOf((m) => { m.add(tf.layers.dense({ units: 2, activation: 'softmax', inputShape: [13], kernelRegularizer: tf.regularizers.l2({ l2: 0.1 }) })); }), 2, /layer 1 \(Dense\): option "kernel_regularizer" is not supported/],
    ['a frozen layer', () => topologyOf((m) => { m.add(tf.layers.dense({ units: 2, activation: 'softmax', inputShape: [13], trainable: false })); }), 2, /frozen layers/],
    ['a last layer without softmax', () => topologyOf((m) => { m.add(tf.layers.dense({ units: 2, activation: 'sigmoid', inputShape: [13] })); }), 2, /last layer: must be Dense with activation "softmax" and 2 units/],
    ['classes that differ from the last layer', DENSE, 3, /and 3 units \(model\.classes\)/],
    ['a model without an input shape', () => ({ class_name: 'Sequential', config: { layers: [{ class_name: 'Dense', config: { units: 2, activation: 'softmax' } }] } }), 2, /layer 1: the first layer must declare its input/],
    ['a functional model', () => ({ class_name: 'Model', config: { layers: [] } }), 2, /only Sequential models are supported, got "Model"/],
    ['a Dense layer on an image without Flatten', () => topologyOf((m) => { m.add(tf.layers.conv2d({ filters: 2, kernelSize: 3, inputShape: [8, 8, 1] })); m.add(tf.layers.dense({ units: 2, activation: 'softmax' })); }), 2, /Dense needs a flat input, got shape \[6,6,2\]/],
  ];

  it.each(refusals)('refuses %s with TESSERA_ERR_MODEL_LAYER_UNSUPPORTED naming it', (_name, topology, classes, message) => {
    const t = topology();
    const s = spec(t, classes);
    expect(() => buildModel(s, { seed: 1 })).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_MODEL_LAYER_UNSUPPORTED', message: expect.stringMatching(message) }));
    expect(() => weightShapes(s)).toThrow(expect.objectContaining({ code: 'TESSERA_ERR_MODEL_LAYER_UNSUPPORTED' }));
  });

  it("the coordinator's preflight (tessera jobs check, submission) reports the refusal as a finding with the code", () => {
    const job = { name: 'byo-refused', model: { kind: 'layers', topology: refusals[0]?.[1](), classes: 2 }, data: { dataset: 'csv' }, rounds: 1, sampling: { mode: 'fixed', clientsPerRound: 1 }, minClients: 1, consent: { required: false } };
    const report = preflight(job);
    expect(report.ok).toBe(false);
    expect(report.findings).toContainEqual(expect.objectContaining({ level: 'error', code: 'TESSERA_ERR_MODEL_LAYER_UNSUPPORTED', where: 'model.topology', message: expect.stringMatching(/Dropout/) }));
    const fine = preflight({ ...job, model: { kind: 'layers', topology: DENSE(), classes: 2 } });
    expect(fine.findings.filter((f) => f.code === 'TESSERA_ERR_MODEL_LAYER_UNSUPPORTED')).toEqual([]);
  });
});
