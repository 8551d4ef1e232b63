/**
 * Checks that examples fit a model and cuts them into batch tensors. Batches are gathered row by row from the
 * row-major Float32Array, so a shuffled epoch needs no permuted copy of the whole data set.
 */
import * as tf from '@tensorflow/tfjs';
// Type only: importing the package registers the wasm backend, which a process that never initialises it (a
// coordinator) must not get as a side effect of gathering a batch — tfjs then refuses every op before tf.ready().
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { Examples } from '../datasets/types.ts';
import { featureSize } from '../datasets/types.ts';
import { TesseraError } from '../protocol/errors.ts';

/** The example shape (without the batch axis) and class count a model expects. */
export function modelIO(model: tf.LayersModel): { featureShape: number[]; classes: number } {
  const input = model.inputs[0]?.shape;
  const output = model.outputs[0]?.shape;
  if (input === undefined || output === undefined || output.length !== 2) {
    throw new TesseraError('TESSERA_ERR_MODEL_SPEC', `model '${model.name}' must have one input and one [batch, classes] output`);
  }
  const dims = input.slice(1);
  const classes = output[1];
  if (dims.some((d) => d === null) || typeof classes !== 'number') {
    throw new TesseraError('TESSERA_ERR_MODEL_SPEC', `model '${model.name}' has unknown input or output dimensions`);
  }
  return { featureShape: dims.filter((d): d is number => d !== null), classes };
}

/** Refuses examples whose shape, class count or labels do not fit the model, naming what differs. */
export function checkExamplesFit(model: tf.LayersModel, examples: Examples): void {
  const { featureShape, classes } = modelIO(model);
  const given = examples.featureShape;
  if (given.length !== featureShape.length || given.some((d, i) => d !== featureShape[i])) {
    throw new TesseraError('TESSERA_ERR_MODEL_SPEC', `examples have shape [${given.join(',')}] but the model expects [${featureShape.join(',')}]`);
  }
  if (examples.classes !== classes) {
    throw new TesseraError('TESSERA_ERR_MODEL_SPEC', `examples have ${examples.classes} classes but the model outputs ${classes}`);
  }
  const d = featureSize(examples);
  if (examples.x.length !== examples.n * d || examples.y.length !== examples.n || (examples.weights !== undefined && examples.weights.length !== examples.n)) {
    throw new TesseraError('TESSERA_ERR_DATA_MALFORMED', `examples hold n=${examples.n} rows but x has ${examples.x.length} values (${d} per row), y ${examples.y.length} labels, weights ${examples.weights?.length ?? 'none'}`);
  }
  for (let i = 0; i < examples.n; i++) {
    const label = examples.y[i] ?? -1;
    if (label < 0 || label >= classes) {
      throw new TesseraError('TESSERA_ERR_DATA_MALFORMED', `row ${i}: label ${label} is outside [0, ${classes})`);
    }
    const weight = examples.weights?.[i] ?? 1;
    if (!Number.isFinite(weight) || weight < 0) {
      throw new TesseraError('TESSERA_ERR_DATA_MALFORMED', `row ${i}: sample weight ${weight} is not a finite non-negative number`);
    }
  }
}

export interface Batch {
  readonly x: tf.Tensor;
  /** One-hot labels, [rows, classes]. */
  readonly y: tf.Tensor2D;
  /** Per-row sample weights, [rows]; absent when the examples carry none. */
  readonly w: tf.Tensor1D | undefined;
  readonly rows: number;
}

/**
 * A float32 tensor of `shape` whose elements `fill` writes — every one of them: on wasm the memory comes from
 * malloc and is not zeroed. On wasm they are written straight into the backend's heap: a batch of 256 MNIST rows
 * is 800 kB, which otherwise is zeroed in a fresh JavaScript array, filled, and copied into the heap (one pass
 * instead of three; 0.1 ms of a 6 ms training step). Elsewhere a fresh array per tensor: the cpu backend keeps a
 * reference to the array a tensor was made from.
 */
function filledTensor(shape: number[], fill: (values: Float32Array) => void): tf.Tensor {
  if (tf.engine().backendName === 'wasm') {
    const backend = tf.engine().backend as BackendWasm;
    const info = backend.makeOutput(shape, 'float32');
    try {
      // The view is taken after the allocation, which may have grown (and so replaced) the heap's buffer.
      const view = backend.typedArrayFromHeap(info);
      if (!(view instanceof Float32Array)) throw new TesseraError('TESSERA_ERR_INTERNAL', 'the wasm heap view of a float32 tensor is not a Float32Array');
      fill(view);
    } catch (err) {
      backend.disposeData(info.dataId); // not yet a tensor: no tidy scope would free it
      throw err;
    }
    return tf.engine().makeTensorFromTensorInfo(info);
  }
  const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
  fill(values);
  return tf.tensor(values, shape, 'float32');
}

/** The batch made of `rows` (indices into examples), in that order. The caller disposes it (or tidies). */
export function gatherBatch(examples: Examples, rows: ArrayLike<number>): Batch {
  const d = featureSize(examples);
  const k = examples.classes;
  const count = rows.length;
  const x = filledTensor([count, ...examples.featureShape], (values) => {
    for (let i = 0; i < count; i++) {
      const r = rows[i] ?? 0;
      values.set(examples.x.subarray(r * d, (r + 1) * d), i * d);
    }
  });
  const y = new Float32Array(count * k);
  const w = examples.weights ? new Float32Array(count) : undefined;
  for (let i = 0; i < count; i++) {
    const r = rows[i] ?? 0;
    y[i * k + (examples.y[r] ?? 0)] = 1;
    if (w && examples.weights) w[i] = examples.weights[r] ?? 1;
  }
  return {
    x,
    y: tf.tensor2d(y, [count, k], 'float32'),
    w: w ? tf.tensor1d(w, 'float32') : undefined,
    rows: count,
  };
}

/** The features of rows [start, end) as one tensor, without copying labels. */
export function sliceFeatures(x: Float32Array, featureShape: readonly number[], start: number, end: number): tf.Tensor {
  const d = featureShape.reduce((a, b) => a * b, 1);
  return tf.tensor(x.slice(start * d, end * d), [end - start, ...featureShape], 'float32');
}
