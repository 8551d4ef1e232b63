/**
 * Builds the TensorFlow.js model for a model spec (protocol/job/model.ts). Every participant builds the same
 * architecture from the job spec, and with the same `seed` the same initial weights: each layer's
 * initializer gets its own seed derived from the job seed, and tfjs draws seeded initial values in JavaScript
 * (alea PRNG), independently of the backend, so a client on wasm and a coordinator on tfjs-node agree.
 * Initial weights are public (the coordinator broadcasts them), so a seeded, predictable initialisation
 * costs no privacy.
 */
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '../protocol/job/model.ts';
import { deriveSeed, seededRandom } from '../privacy/random.ts';
import { readUserModel, type UserLayer } from '../protocol/job/layers-topology.ts';
import { cnnFeatureMap } from './model-shapes.ts';

export { countParameters, weightShapes } from './model-shapes.ts';

export interface BuildOptions {
  /** Seed for the initial weights; without it tfjs draws them nondeterministically. */
  readonly seed?: string | number;
}

/** The shape of one input example. */
export function inputShape(spec: ModelSpec): number[] {
  if (spec.kind === 'layers') return [...readUserModel(spec.topology, spec.classes).inputShape];
  return spec.kind === 'cnn' ? [...spec.inputShape] : [spec.inputs];
}

/** One 32-bit seed per layer, derived from the job seed and the layer's name. */
function layerSeed(seed: string | number | undefined, layer: string): number | undefined {
  return seed === undefined ? undefined : seededRandom(deriveSeed(seed, 'init', layer)).nextUint32();
}

/** Keras defaults (Glorot-uniform kernels, zero biases), seeded per layer. */
function denseLayer(name: string, units: number, activation: 'relu' | 'tanh' | 'sigmoid' | 'softmax', l2: number, seed: string | number | undefined, inputs?: number): tf.layers.Layer {
  const layerSeedValue = layerSeed(seed, name);
  return tf.layers.dense({
    name,
    units,
    activation,
    kernelInitializer: tf.initializers.glorotUniform(layerSeedValue === undefined ? {} : { seed: layerSeedValue }),
    biasInitializer: 'zeros',
    ...(l2 > 0 ? { kernelRegularizer: tf.regularizers.l2({ l2 }) } : {}),
    ...(inputs !== undefined ? { inputShape: [inputs] } : {}),
  });
}

/**
 * logistic: one dense softmax layer (multinomial logistic regression), optional L2 on the kernel.
 * mlp: hidden dense layers with the spec's activation, then softmax.
 * cnn: blocks of 3×3 'same' conv + ReLU + 2×2 max-pool, flatten, dense ReLU layers, softmax.
 */
export function buildModel(spec: ModelSpec, options: BuildOptions = {}): tf.Sequential {
  const { seed } = options;
  const model = tf.sequential({ name: `tessera_${spec.kind}` });
  switch (spec.kind) {
    case 'logistic':
      model.add(denseLayer('output', spec.classes, 'softmax', spec.l2, seed, spec.inputs));
      break;
    case 'mlp':
      spec.hidden.forEach((units, i) => model.add(denseLayer(`hidden${i + 1}`, units, spec.activation, spec.l2, seed, i === 0 ? spec.inputs : undefined)));
      model.add(denseLayer('output', spec.classes, 'softmax', spec.l2, seed));
      break;
    case 'cnn': {
      cnnFeatureMap(spec); // validates the depth against the input size before any layer is made
      spec.filters.forEach((filters, i) => {
        const name = `conv${i + 1}`;
        const s = layerSeed(seed, name);
        model.add(
          tf.layers.conv2d({
            name,
            filters,
            kernelSize: 3,
            padding: 'same',
            activation: 'relu',
            kernelInitializer: tf.initializers.glorotUniform(s === undefined ? {} : { seed: s }),
            biasInitializer: 'zeros',
            ...(i === 0 ? { inputShape: [...spec.inputShape] } : {}),
          }),
        );
        model.add(tf.layers.maxPooling2d({ name: `pool${i + 1}`, poolSize: 2, strides: 2, padding: 'valid' }));
      });
      model.add(tf.layers.flatten({ name: 'flatten' }));
      spec.dense.forEach((units, i) => model.add(denseLayer(`dense${i + 1}`, units, 'relu', 0, seed)));
      model.add(denseLayer('output', spec.classes, 'softmax', 0, seed));
      break;
    }
    case 'layers': {
      const user = readUserModel(spec.topology, spec.classes);
      user.layers.forEach((l, i) => model.add(userLayer(l, `layer${i + 1}`, seed, i === 0 ? user.inputShape : undefined)));
      break;
    }
  }
  return model;
}

/**
 * One layer of a user model (protocol/job/layers-topology.ts), with the same seeded Keras-default initializers
 * as the built-in kinds (Glorot-uniform kernels, zero biases): the topology's own initializers are not used, so
 * every participant draws the same initial weights from the job seed.
 */
function userLayer(l: UserLayer, name: string, seed: string | number | undefined, input: readonly number[] | undefined): tf.layers.Layer {
  const s = layerSeed(seed, name);
  const init = { kernelInitializer: tf.initializers.glorotUniform(s === undefined ? {} : { seed: s }), biasInitializer: 'zeros' as const };
  const first = input !== undefined ? { inputShape: [...input] } : {};
  switch (l.type) {
    case 'dense':
      return tf.layers.dense({ name, units: l.units, activation: l.activation, useBias: l.useBias, ...init, ...first });
    case 'conv2d':
      return tf.layers.conv2d({ name, filters: l.filters, kernelSize: [...l.kernelSize], strides: [...l.strides], padding: l.padding, activation: l.activation, useBias: l.useBias, ...init, ...first });
    case 'maxPooling2d':
      return tf.layers.maxPooling2d({ name, poolSize: [...l.poolSize], strides: [...l.strides], padding: l.padding, ...first });
    case 'flatten':
      return tf.layers.flatten({ name, ...first });
  }
}
