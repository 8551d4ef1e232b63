import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './backend.ts';
import { buildModel, countParameters, inputShape, weightShapes } from './model.ts';
import { getFlatWeights, modelWeightCount, modelWeightShapes, setFlatWeights } from './weights.ts';
import { ModelSpec } from '../protocol/job/model.ts';
import type { ModelSpecInput } from '../protocol/job/model.ts';
import { TesseraError } from '../protocol/errors.ts';

const SPECS: ModelSpecInput[] = [
  { kind: 'logistic', inputs: 100, classes: 2, l2: 0.01 },
  { kind: 'mlp', inputs: 100, hidden: [32, 16], classes: 2 },
  { kind: 'cnn', classes: 10 },
  { kind: 'cnn', inputShape: [13, 11, 3], filters: [4, 6, 8], dense: [], classes: 3 },
];

beforeAll(async () => {
  await initBackend('wasm');
});

describe('buildModel', () => {
  it.each(SPECS)('parameter count and weight shapes of $kind come from the spec alone', (input) => {
    const spec = ModelSpec.parse(input);
    const model = buildModel(spec, { seed: 1 });
    expect(modelWeightShapes(model)).toEqual(weightShapes(spec));
    expect(model.countParams()).toBe(countParameters(spec));
    expect(modelWeightCount(model)).toBe(countParameters(spec));
    expect(model.inputs[0]?.shape.slice(1)).toEqual(inputShape(spec));
    model.dispose();
  });

  it('counts the default MNIST CNN by hand', () => {
    // conv 3·3·1·8+8 = 80; conv 3·3·8·16+16 = 1168; 28→14→7 so flatten 7·7·16 = 784; dense 784·64+64 = 50240;
    // output 64·10+10 = 650. Total 52138.
    expect(countParameters(ModelSpec.parse({ kind: 'cnn', classes: 10 }))).toBe(52138);
  });

  it('builds identical initial weights from the same seed, and different ones from another seed', () => {
    for (const input of SPECS) {
      const spec = ModelSpec.parse(input);
      const a = buildModel(spec, { seed: 'job-42' });
      const b = buildModel(spec, { seed: 'job-42' });
      const c = buildModel(spec, { seed: 'job-43' });
      const wa = getFlatWeights(a);
      expect(getFlatWeights(b)).toEqual(wa);
      expect(getFlatWeights(c)).not.toEqual(wa);
      for (const m of [a, b, c]) m.dispose();
    }
  });

  it('gives each layer its own seed (two same-shaped kernels differ)', () => {
    const model = buildModel(ModelSpec.parse({ kind: 'mlp', inputs: 8, hidden: [8, 8], classes: 2 }), { seed: 5 });
    const [k1, , k2] = model.getWeights();
    expect(k1?.shape).toEqual([8, 8]);
    expect(k2?.shape).toEqual([8, 8]);
    expect(Array.from(k1?.dataSync() ?? [])).not.toEqual(Array.from(k2?.dataSync() ?? []));
    model.dispose();
  });

  it('seeds the same weights on the cpu backend as on wasm (initial values are drawn in JavaScript)', async () => {
    const spec = ModelSpec.parse({ kind: 'mlp', inputs: 20, hidden: [8], classes: 3 });
    const onWasm = getFlatWeights(buildModel(spec, { seed: 9 }));
    await initBackend('cpu');
    const onCpu = getFlatWeights(buildModel(spec, { seed: 9 }));
    await initBackend('wasm');
    expect(onCpu).toEqual(onWasm);
  });

  it('refuses a CNN deeper than its input allows', () => {
    const spec = ModelSpec.parse({ kind: 'cnn', inputShape: [4, 4, 1], filters: [2, 2, 2], classes: 2 });
    expect(() => buildModel(spec)).toThrow(TesseraError);
    expect(() => countParameters(spec)).toThrow(/too small for 3 conv\/pool blocks/);
  });
});

describe('flat weights', () => {
  it('round-trip exactly through setFlatWeights into another model', () => {
    const spec = ModelSpec.parse({ kind: 'cnn', inputShape: [8, 8, 1], filters: [3], dense: [5], classes: 2 });
    const source = buildModel(spec, { seed: 1 });
    const target = buildModel(spec, { seed: 2 });
    const flat = getFlatWeights(source);
    // Values that float32 represents exactly but that initialisers never produce.
    flat[0] = 1e-38;
    flat[flat.length - 1] = -3.4028234663852886e38;
    setFlatWeights(target, flat);
    expect(getFlatWeights(target)).toEqual(flat);
    // The copy is independent: changing the vector afterwards does not change the model.
    flat[1] = 123;
    expect(getFlatWeights(target)[1]).not.toBe(123);
  });

  it('refuses a vector of the wrong length with TESSERA_ERR_MODEL_SPEC', () => {
    const spec = ModelSpec.parse({ kind: 'logistic', inputs: 4, classes: 2 });
    const model = buildModel(spec, { seed: 1 });
    const before = getFlatWeights(model);
    try {
      setFlatWeights(model, new Float32Array(countParameters(spec) + 1));
      expect.unreachable('setFlatWeights accepted a vector of the wrong length');
    } catch (err) {
      expect(err).toBeInstanceOf(TesseraError);
      expect((err as TesseraError).code).toBe('TESSERA_ERR_MODEL_SPEC');
      expect((err as TesseraError).details).toEqual({ expected: 10, actual: 11 });
    }
    expect(getFlatWeights(model)).toEqual(before);
  });

  it('does not leak tensors', () => {
    const model = buildModel(ModelSpec.parse({ kind: 'mlp', inputs: 10, hidden: [4], classes: 2 }), { seed: 1 });
    const flat = getFlatWeights(model);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) setFlatWeights(model, getFlatWeights(model));
    expect(tf.memory().numTensors).toBe(before);
    expect(getFlatWeights(model)).toEqual(flat);
  });
});
