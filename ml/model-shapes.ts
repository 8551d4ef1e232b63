/**
 * The shapes of a model spec's weights, from the spec alone (no TensorFlow.js): what the flat weight vector that
 * travels each round holds. Kept apart from model.ts so that accounting code (the DDGauss dimension, the client's
 * policy check) does not load tfjs.
 */
import type { ModelSpec } from '../protocol/job/model.ts';
import { TesseraError } from '../protocol/errors.ts';
import { readUserModel } from '../protocol/job/layers-topology.ts';

/** Kernel and bias shapes in `model.getWeights()` order, computed from the spec alone (no tensors). */
export function weightShapes(spec: ModelSpec): number[][] {
  const shapes: number[][] = [];
  const dense = (inputs: number, units: number): void => {
    shapes.push([inputs, units], [units]);
  };
  switch (spec.kind) {
    case 'logistic':
      dense(spec.inputs, spec.classes);
      break;
    case 'mlp': {
      let prev = spec.inputs;
      for (const h of spec.hidden) {
        dense(prev, h);
        prev = h;
      }
      dense(prev, spec.classes);
      break;
    }
    case 'cnn': {
      const { height, width, channels } = cnnFeatureMap(spec);
      let prevChannels = spec.inputShape[2];
      for (const f of spec.filters) {
        shapes.push([3, 3, prevChannels, f], [f]);
        prevChannels = f;
      }
      let prev = height * width * channels;
      for (const d of spec.dense) {
        dense(prev, d);
        prev = d;
      }
      dense(prev, spec.classes);
      break;
    }
    case 'layers':
      shapes.push(...readUserModel(spec.topology, spec.classes).weightShapes);
      break;
  }
  return shapes;
}

/** The number of trainable parameters: the length of the flat weight vector that travels each round. */
export function countParameters(spec: ModelSpec): number {
  return weightShapes(spec).reduce((sum, shape) => sum + shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * The feature map after the convolution blocks: 3×3 'same' convolutions keep height and width, each 2×2
 * max-pool (stride 2, 'valid') halves them, rounding down.
 */
export function cnnFeatureMap(spec: Extract<ModelSpec, { kind: 'cnn' }>): { height: number; width: number; channels: number } {
  let [height, width] = spec.inputShape;
  for (const [i] of spec.filters.entries()) {
    if (height < 2 || width < 2) {
      throw new TesseraError('TESSERA_ERR_MODEL_SPEC', `cnn: input ${spec.inputShape.join('×')} is too small for ${spec.filters.length} conv/pool blocks (block ${i + 1} sees ${height}×${width})`);
    }
    height = Math.floor(height / 2);
    width = Math.floor(width / 2);
  }
  return { height, width, channels: spec.filters[spec.filters.length - 1] ?? spec.inputShape[2] };
}

