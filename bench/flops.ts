/**
 * Floating-point operations per training example of the models in ml/model.ts, for the training bench's
 * "percent of the matMul peak". Counted: every multiply-add of a matrix product or convolution as 2 FLOPs, in
 *   the forward pass            (one product per layer),
 *   the weight gradient         (the same count again: dW = xᵀ·dy, or the filter-gradient convolution),
 *   the input gradient          (the same count again, for every layer but the first: tfjs's tape prunes the
 *                                gradient of the input, which no variable depends on).
 * Not counted: activations, pooling, softmax, bias sums and the optimizer update (all O(activations), not
 * O(multiply-adds)). This is the exact work of the products; the common "3 × forward" convention would count
 * the first layer's input gradient too and report more.
 */
import type { ModelSpec } from '../protocol/job/model.ts';

/** Multiply-adds per example of each weighted layer, in order (first layer first). */
export function multiplyAddsPerLayer(spec: ModelSpec): number[] {
  const macs: number[] = [];
  const dense = (inputs: number, units: number): number => {
    macs.push(inputs * units);
    return units;
  };
  switch (spec.kind) {
    case 'logistic':
      dense(spec.inputs, spec.classes);
      break;
    case 'mlp': {
      let prev = spec.inputs;
      for (const h of spec.hidden) prev = dense(prev, h);
      dense(prev, spec.classes);
      break;
    }
    case 'cnn': {
      let [h, w, c] = spec.inputShape;
      for (const f of spec.filters) {
        macs.push(h * w * 9 * c * f); // 3×3 'same' convolution: one output per input position
        c = f;
        h = Math.floor(h / 2); // 2×2 max-pool, stride 2, 'valid'
        w = Math.floor(w / 2);
      }
      let prev = h * w * c;
      for (const d of spec.dense) prev = dense(prev, d);
      dense(prev, spec.classes);
      break;
    }
  }
  return macs;
}

export function trainingFlopsPerSample(spec: ModelSpec): number {
  const macs = multiplyAddsPerLayer(spec);
  const all = macs.reduce((a, b) => a + b, 0);
  return 2 * all + 2 * all + 2 * (all - (macs[0] ?? 0));
}
