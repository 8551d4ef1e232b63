/**
 * Checks that examples fit a model and cuts them into batch tensors. Batches are gathered row by row from the
 * row-major Float32Array, so a shuffled epoch needs no permuted copy of the whole data set.
 */
import * as tf from '@tensorflow/tfjs';
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

/** The batch made of `rows` (indices into examples), in that order. The caller disposes it (or tidies). */
export function gatherBatch(examples: Examples, rows: ArrayLike<number>): Batch {
  const d = featureSize(examples);
  const k = examples.classes;
  const count = rows.length;
  // Fresh arrays per batch: the cpu backend keeps a reference to the array a tensor was made from.
  const x = new Float32Array(count * d);
  const y = new Float32Array(count * k);
  const w = examples.weights ? new Float32Array(count) : undefined;
  for (let i = 0; i < count; i++) {
    const r = rows[i] ?? 0;
    x.set(examples.x.subarray(r * d, (r + 1) * d), i * d);
    y[i * k + (examples.y[r] ?? 0)] = 1;
    if (w && examples.weights) w[i] = examples.weights[r] ?? 1;
  }
  return {
    x: tf.tensor(x, [count, ...examples.featureShape], 'float32'),
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
