/**
 * A user's own TensorFlow.js layers model (job spec `model.kind: "layers"`, issue 15 §4): the `modelTopology`
 * of a tfjs `model.json` (Keras JSON, as `model.toJSON()` or `tf.io` writes it), read into a typed list of the
 * layers this build trains on the wasm backend — Dense, Conv2D, MaxPooling2D, Flatten (and an InputLayer that
 * only names the input shape). Everything else is refused with TESSERA_ERR_MODEL_LAYER_UNSUPPORTED naming the
 * layer and the option: an option we would silently ignore is a model other than the one its author meant.
 *
 * Weights in the model.json are never used: every participant builds the layers here and draws the initial
 * weights from the job's seed (ml/model.ts), so all agree without shipping weights, and initial weights, being
 * public, cost no privacy. The initializers named in the topology are therefore ignored (documented), while
 * regularizers, constraints, dilations, channels_first and frozen layers — which would change training — are
 * refused. Pure: no tfjs import, so the coordinator's preflight and the docs can use it.
 */
import { TesseraError } from '../errors.ts';

export type UserActivation = 'linear' | 'relu' | 'tanh' | 'sigmoid' | 'softmax';

export type UserLayer =
  | { readonly type: 'dense'; readonly units: number; readonly activation: UserActivation; readonly useBias: boolean }
  | { readonly type: 'conv2d'; readonly filters: number; readonly kernelSize: readonly [number, number]; readonly strides: readonly [number, number]; readonly padding: 'valid' | 'same'; readonly activation: UserActivation; readonly useBias: boolean }
  | { readonly type: 'maxPooling2d'; readonly poolSize: readonly [number, number]; readonly strides: readonly [number, number]; readonly padding: 'valid' | 'same' }
  | { readonly type: 'flatten' };

export interface UserModel {
  /** One example's shape (without the batch dimension), from the first layer's batch_input_shape. */
  readonly inputShape: readonly number[];
  readonly layers: readonly UserLayer[];
}

export const SUPPORTED_LAYERS = ['Dense', 'Conv2D', 'MaxPooling2D', 'Flatten', 'InputLayer'] as const;
const ACTIVATIONS: readonly string[] = ['linear', 'relu', 'tanh', 'sigmoid', 'softmax'];
/** Bounds that keep a user model within what a round can ship (the flat weight vector travels every round). */
export const MAX_USER_LAYERS = 64;
export const MAX_USER_PARAMETERS = 10_000_000;

/** Keys every layer config may carry, with the values that change nothing. */
const COMMON = new Set(['name', 'trainable', 'dtype', 'batch_input_shape', 'batch_size', 'input_dtype']);
/** Initializers are replaced by the seeded ones (see above); these may hold anything. */
const IGNORED = new Set(['kernel_initializer', 'bias_initializer']);
/** Options that must be null: each would change training if set. */
const MUST_BE_NULL = new Set(['kernel_regularizer', 'bias_regularizer', 'activity_regularizer', 'kernel_constraint', 'bias_constraint', 'noise_shape']);

type Json = Record<string, unknown>;

function fail(where: string, message: string): never {
  throw new TesseraError('TESSERA_ERR_MODEL_LAYER_UNSUPPORTED', `model.topology ${where}: ${message}`, { details: { where } });
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function positiveInt(where: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(where, `expected a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** Keras writes sizes either as one integer or as [h, w]. */
function pair(where: string, v: unknown): [number, number] {
  if (Array.isArray(v) && v.length === 2) return [positiveInt(where, v[0]), positiveInt(where, v[1])];
  const n = positiveInt(where, v);
  return [n, n];
}

function activation(where: string, v: unknown): UserActivation {
  const a = v ?? 'linear';
  if (typeof a !== 'string' || !ACTIVATIONS.includes(a)) fail(where, `activation ${JSON.stringify(v)} is not one of ${ACTIVATIONS.join(', ')}`);
  return a as UserActivation;
}

function padding(where: string, v: unknown): 'valid' | 'same' {
  const p = v ?? 'valid';
  if (p !== 'valid' && p !== 'same') fail(where, `padding ${JSON.stringify(v)} is not "valid" or "same"`);
  return p;
}

/** Refuses any config key the layer type does not list, and options that would change training. */
function checkKeys(where: string, config: Json, allowed: readonly string[]): void {
  for (const [k, v] of Object.entries(config)) {
    if (COMMON.has(k) || IGNORED.has(k) || allowed.includes(k)) continue;
    if (MUST_BE_NULL.has(k)) {
      if (v !== null) fail(where, `option "${k}" is not supported (only null); remove it from the layer`);
      continue;
    }
    fail(where, `unknown option "${k}" (this build reads ${[...allowed].join(', ')})`);
  }
  if (config['trainable'] === false) fail(where, 'frozen layers (trainable: false) are not supported: every weight travels and is trained');
  if (config['dtype'] !== undefined && config['dtype'] !== 'float32') fail(where, `dtype ${JSON.stringify(config['dtype'])} is not float32`);
  if (config['data_format'] !== undefined && config['data_format'] !== null && config['data_format'] !== 'channels_last') fail(where, 'data_format must be channels_last (the wasm backend trains NHWC)');
  const dilation = config['dilation_rate'];
  if (dilation !== undefined && !(dilation === 1 || (Array.isArray(dilation) && dilation.every((d) => d === 1)))) fail(where, 'dilated convolutions are not supported (dilation_rate must be 1)');
}

function readLayer(i: number, raw: unknown): UserLayer | { type: 'input' } {
  const where = `layer ${i + 1}`;
  if (!isObject(raw) || typeof raw['class_name'] !== 'string' || !isObject(raw['config'])) fail(where, 'expected {"class_name", "config"} (a Keras layer as tfjs writes it)');
  const kind = raw['class_name'];
  const c = raw['config'];
  const at = `${where} (${kind})`;
  switch (kind) {
    case 'Dense':
      checkKeys(at, c, ['units', 'activation', 'use_bias']);
      return { type: 'dense', units: positiveInt(`${at} units`, c['units']), activation: activation(at, c['activation']), useBias: c['use_bias'] !== false };
    case 'Conv2D':
      checkKeys(at, c, ['filters', 'kernel_size', 'strides', 'padding', 'activation', 'use_bias', 'data_format', 'dilation_rate']);
      return {
        type: 'conv2d',
        filters: positiveInt(`${at} filters`, c['filters']),
        kernelSize: pair(`${at} kernel_size`, c['kernel_size']),
        strides: pair(`${at} strides`, c['strides'] ?? 1),
        padding: padding(at, c['padding']),
        activation: activation(at, c['activation']),
        useBias: c['use_bias'] !== false,
      };
    case 'MaxPooling2D': {
      checkKeys(at, c, ['pool_size', 'strides', 'padding', 'data_format']);
      const poolSize = pair(`${at} pool_size`, c['pool_size'] ?? 2);
      return { type: 'maxPooling2d', poolSize, strides: c['strides'] === null || c['strides'] === undefined ? poolSize : pair(`${at} strides`, c['strides']), padding: padding(at, c['padding']) };
    }
    case 'Flatten':
      checkKeys(at, c, ['data_format']);
      return { type: 'flatten' };
    case 'InputLayer':
      checkKeys(at, c, ['sparse', 'ragged']);
      if (c['sparse'] === true || c['ragged'] === true) fail(at, 'sparse and ragged inputs are not supported');
      if (i !== 0) fail(at, 'an InputLayer may only come first');
      return { type: 'input' };
    default:
      return fail(at, `not a layer this build trains on the wasm backend; supported: ${SUPPORTED_LAYERS.join(', ')}`);
  }
}

/** Output shape of each layer, for the flatten/dense fan-in and the parameter count. */
function outputShape(where: string, l: UserLayer, shape: readonly number[]): number[] {
  const spatial = (size: number, window: number, stride: number, pad: 'valid' | 'same'): number => (pad === 'same' ? Math.ceil(size / stride) : Math.floor((size - window) / stride) + 1);
  switch (l.type) {
    case 'dense':
      if (shape.length !== 1) fail(where, `Dense needs a flat input, got shape [${shape.join(',')}] (add a Flatten layer before it)`);
      return [l.units];
    case 'flatten':
      return [shape.reduce((a, b) => a * b, 1)];
    case 'conv2d':
    case 'maxPooling2d': {
      if (shape.length !== 3) fail(where, `needs an input of shape [height, width, channels], got [${shape.join(',')}]`);
      const [h, w, ch] = shape as [number, number, number];
      const win = l.type === 'conv2d' ? l.kernelSize : l.poolSize;
      const out = [spatial(h, win[0], l.strides[0], l.padding), spatial(w, win[1], l.strides[1], l.padding), l.type === 'conv2d' ? l.filters : ch];
      if (out[0] !== undefined && out[1] !== undefined && (out[0] < 1 || out[1] < 1)) fail(where, `the input [${shape.join(',')}] is too small for this window`);
      return out;
    }
  }
}

/**
 * Reads a topology into the layers Tessera builds, checking the whole model: a Sequential with an input shape,
 * only supported layers and options, shapes that connect, at most MAX_USER_LAYERS layers and MAX_USER_PARAMETERS
 * parameters, and a last layer Dense + softmax over exactly `classes` outputs (every Tessera model ends so).
 */
export function readUserModel(topology: unknown, classes: number): UserModel & { weightShapes: number[][] } {
  if (!isObject(topology)) fail('(root)', 'expected the modelTopology object of a tfjs model.json');
  // Accept a whole model.json too: its topology sits under "modelTopology" (weights are never read).
  const t = isObject(topology['modelTopology']) ? topology['modelTopology'] : topology;
  if (t['class_name'] !== 'Sequential') fail('(root)', `only Sequential models are supported, got ${JSON.stringify(t['class_name'])}`);
  const config = t['config'];
  const rawLayers = isObject(config) ? config['layers'] : Array.isArray(config) ? config : undefined;
  if (!Array.isArray(rawLayers) || rawLayers.length === 0) fail('(root)', 'config.layers must list the layers');
  if (rawLayers.length > MAX_USER_LAYERS) fail('(root)', `${rawLayers.length} layers; at most ${MAX_USER_LAYERS}`);
  const first = rawLayers[0];
  const batchShape = isObject(first) && isObject(first['config']) ? first['config']['batch_input_shape'] : undefined;
  if (!Array.isArray(batchShape) || batchShape.length < 2 || batchShape[0] !== null) fail('layer 1', 'the first layer must declare its input (batch_input_shape [null, …], i.e. inputShape when the model was built)');
  const inputShape = batchShape.slice(1).map((d, i) => positiveInt(`layer 1 batch_input_shape[${i + 1}]`, d));
  const layers: UserLayer[] = [];
  for (const [i, raw] of rawLayers.entries()) {
    const l = readLayer(i, raw);
    if (l.type !== 'input') layers.push(l);
  }
  let shape: number[] = inputShape;
  const weightShapes: number[][] = [];
  for (const [i, l] of layers.entries()) {
    const where = `layer ${i + 1 + (rawLayers.length - layers.length)} (${l.type})`;
    if (l.type === 'dense') weightShapes.push([shape[0] ?? 0, l.units], ...(l.useBias ? [[l.units]] : []));
    if (l.type === 'conv2d') weightShapes.push([l.kernelSize[0], l.kernelSize[1], shape[2] ?? 0, l.filters], ...(l.useBias ? [[l.filters]] : []));
    shape = outputShape(where, l, shape);
  }
  const last = layers[layers.length - 1];
  if (last?.type !== 'dense' || last.activation !== 'softmax' || last.units !== classes) {
    fail('last layer', `must be Dense with activation "softmax" and ${classes} units (model.classes): every Tessera model ends in a softmax over the classes`);
  }
  const parameters = weightShapes.reduce((s, w) => s + w.reduce((a, b) => a * b, 1), 0);
  if (parameters > MAX_USER_PARAMETERS) fail('(root)', `${parameters} parameters; at most ${MAX_USER_PARAMETERS} travel in a round`);
  return { inputShape, layers, weightShapes };
}

/** A one-line description for the model card: input shape, then each layer. */
export function describeUserLayers(topology: unknown, classes: number): string {
  const m = readUserModel(topology, classes);
  const layer = (l: UserLayer): string => {
    switch (l.type) {
      case 'dense':
        return `dense ${l.units} (${l.activation})`;
      case 'conv2d':
        return `conv ${l.kernelSize.join('×')}×${l.filters} (${l.activation})`;
      case 'maxPooling2d':
        return `max-pool ${l.poolSize.join('×')}`;
      case 'flatten':
        return 'flatten';
    }
  };
  return `input ${m.inputShape.join('×')} → ${m.layers.slice(0, -1).map(layer).join(' → ') || 'no hidden layers'}`;
}
