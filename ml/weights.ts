/**
 * The model's weights as one flat Float32Array, in `model.getWeights()` order (layer by layer, kernel then
 * bias). This is the vector that clients difference, clip, noise, quantise and mask, and that the coordinator
 * aggregates; both sides agree on its layout because both build the model from the same spec.
 */
import * as tf from '@tensorflow/tfjs';
import { TesseraError } from '../protocol/errors.ts';

/** Shapes of the model's weights in flat-vector order. */
export function modelWeightShapes(model: tf.LayersModel): number[][] {
  return model.getWeights().map((w) => [...w.shape]);
}

/** The total number of weights (the flat vector's length). */
export function modelWeightCount(model: tf.LayersModel): number {
  return model.getWeights().reduce((sum, w) => sum + w.size, 0);
}

/** A copy of all weights, concatenated. */
export function getFlatWeights(model: tf.LayersModel): Float32Array {
  // getWeights() returns the live variables themselves: read them, never dispose them.
  const weights = model.getWeights();
  const flat = new Float32Array(weights.reduce((sum, w) => sum + w.size, 0));
  let offset = 0;
  for (const w of weights) {
    if (w.dtype !== 'float32') throw new TesseraError('TESSERA_ERR_INTERNAL', `weight of dtype ${w.dtype}; only float32 weights are supported`);
    const values = w.dataSync();
    flat.set(values, offset);
    offset += values.length;
  }
  return flat;
}

/** Writes a flat vector (as from getFlatWeights) back into the model; the length must match exactly. */
export function setFlatWeights(model: tf.LayersModel, flat: Float32Array): void {
  const shapes = modelWeightShapes(model);
  const expected = shapes.reduce((sum, s) => sum + s.reduce((a, b) => a * b, 1), 0);
  if (flat.length !== expected) {
    throw new TesseraError('TESSERA_ERR_MODEL_SPEC', `flat weight vector has ${flat.length} values but model '${model.name}' has ${expected} (shapes ${shapes.map((s) => `[${s.join(',')}]`).join(' ')})`, {
      details: { expected, actual: flat.length },
    });
  }
  const tensors: tf.Tensor[] = [];
  let offset = 0;
  for (const shape of shapes) {
    const size = shape.reduce((a, b) => a * b, 1);
    // slice() copies: the cpu backend keeps a reference to the array it is given.
    tensors.push(tf.tensor(flat.slice(offset, offset + size), shape, 'float32'));
    offset += size;
  }
  try {
    // Variable assignment shares the new tensors' data by reference count, so disposing ours is safe.
    model.setWeights(tensors);
  } finally {
    tf.dispose(tensors);
  }
}
