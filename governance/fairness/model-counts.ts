/**
 * The fairness count vector of one model's predictions on one data set, and the positive class it is counted
 * against: the one definition used by each client on its held-out split (client/mods/fairness.ts), by the
 * registry when it evaluates a derived version (governance/registry/derived-evaluate.ts) and by tests that
 * recompute the counts centrally.
 */
import type { Examples } from '../../datasets/types.ts';
import { TesseraError } from '../../protocol/errors.ts';
import { countsFromPredictions } from './counts.ts';
import type { CountsLayout } from './layout.ts';

/**
 * Index of the positive class: the contract's `label.positive` among the class names, else class 1 of a
 * binary task (the models end in a softmax, so output[1] is the positive-class probability).
 */
export function positiveClassIndex(examples: Pick<Examples, 'classes' | 'classNames'>, positive: string | undefined): number {
  if (positive !== undefined) {
    const i = examples.classNames.indexOf(positive);
    if (i < 0) throw new TesseraError('TESSERA_ERR_FAIRNESS_INPUT', `the positive label "${positive}" is not one of the class names (${examples.classNames.join(', ')})`);
    return i;
  }
  if (examples.classes !== 2) throw new TesseraError('TESSERA_ERR_FAIRNESS_INPUT', `fairness evaluation needs a binary task or a declared positive label; this task has ${examples.classes} classes`);
  return 1;
}

/**
 * Count vector of one model on one data set: label and decision are "positive class vs the rest", the decision
 * is the argmax (as in ml/train.ts evaluate, so the overall accuracy matches), the score is the positive-class
 * probability. Shared by the client mod and by tests that recompute the counts centrally.
 */
export function fairnessCountsForModel(options: { probabilities: Float32Array; examples: Examples; positive: number; layout: CountsLayout }): Uint32Array {
  const { probabilities, examples, positive, layout } = options;
  const k = examples.classes;
  const n = examples.n;
  const labels = new Uint8Array(n);
  const predicted = new Uint8Array(n);
  const scores = layout.calibrationBins > 0 ? new Float64Array(n) : undefined;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if ((probabilities[i * k + c] ?? 0) > (probabilities[i * k + best] ?? 0)) best = c;
    labels[i] = examples.y[i] === positive ? 1 : 0;
    predicted[i] = best === positive ? 1 : 0;
    // float32 softmax outputs can overshoot 1 by an ulp; a probability is in [0, 1] by definition.
    if (scores) scores[i] = Math.min(1, Math.max(0, probabilities[i * k + positive] ?? 0));
  }
  return countsFromPredictions({ labels, predictedPositive: predicted, ...(scores ? { scores } : {}), groups: examples.sensitive, layout });
}
