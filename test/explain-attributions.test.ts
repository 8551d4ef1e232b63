/**
 * Per-prediction attributions (issue 20 §6) on models trained here on the real Heart data (../shared/data):
 *  - a logistic model's exact attributions equal w_ic·(x_i − x'_i) computed by hand from its weights, and sum to
 *    the logit difference;
 *  - integrated gradients (Sundararajan et al., ICML 2017) on a trained ReLU MLP satisfy completeness
 *    (Σ IG = z(x) − z(x'), their Proposition 1) within tolerance, and a deliberately coarse path does not
 *    (so the check is not vacuous);
 *  - IG on the logistic model (a linear logit) reproduces the exact attributions: the two methods agree.
 */
import type * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../datasets/index.ts';
import { featureSize, type Examples } from '../datasets/types.ts';
import { initBackend } from '../ml/backend.ts';
import { integratedGradients, linearAttributions } from '../ml/explain/attributions.ts';
import { buildModel } from '../ml/model.ts';
import { trainLocal } from '../ml/train.ts';

let heart: { train: Examples; test: Examples };
let logistic: tf.LayersModel;
let mlp: tf.LayersModel;
let D = 0;
const row = (e: Examples, i: number): number[] => Array.from(e.x.subarray(i * D, (i + 1) * D));

beforeAll(async () => {
  await initBackend();
  const d = loadDataset('heart', { dataDir: process.env.TESSERA_DATA_DIR ?? '../shared/data', seed: 7 });
  heart = { train: d.train, test: d.test };
  D = featureSize(d.train);
  logistic = buildModel({ kind: 'logistic', inputs: D, classes: 2, l2: 0 }, { seed: 1 });
  mlp = buildModel({ kind: 'mlp', inputs: D, hidden: [32, 16], classes: 2, activation: 'relu', l2: 0 }, { seed: 2 });
  const opts = { epochs: 20, batchSize: 32, learningRate: 0.01, optimizer: 'adam' as const, shuffleSeed: 3 };
  await trainLocal(logistic, heart.train, opts);
  await trainLocal(mlp, heart.train, opts);
}, 60_000);

describe('explanations', () => {
  it('logistic attributions are w_ic·(x_i − baseline_i), computed by hand, and sum to the logit difference', () => {
    const [kernel, bias] = logistic.getWeights() as [tf.Tensor, tf.Tensor];
    const w = kernel.arraySync() as number[][];
    const b = bias.arraySync() as number[];
    const x = row(heart.test, 0);
    const baseline = row(heart.train, 5);
    const target = 1;
    const a = linearAttributions(logistic, x, { baseline, target });
    expect(a.method).toBe('exact-linear');
    for (let i = 0; i < D; i++) expect(a.attributions[i]).toBeCloseTo((w[i]?.[target] ?? NaN) * ((x[i] ?? 0) - (baseline[i] ?? 0)), 10);
    const logit = (v: number[]): number => v.reduce((s, vi, i) => s + vi * (w[i]?.[target] ?? 0), b[target] ?? 0);
    expect(a.output).toBeCloseTo(logit(x), 4);
    expect(a.baselineOutput).toBeCloseTo(logit(baseline), 4);
    expect(a.complete).toBe(true);
    expect(a.attributions.reduce((s, v) => s + v, 0)).toBeCloseTo(logit(x) - logit(baseline), 4);
  });

  it('integrated gradients on a trained MLP are complete within tolerance for held-out rows, and a 1-step path is not', () => {
    let differs = 0;
    for (let i = 0; i < 5; i++) {
      const x = row(heart.test, i);
      const ig = integratedGradients(mlp, [D], x);
      expect(ig.complete).toBe(true);
      expect(ig.completenessGap).toBeLessThanOrEqual(ig.tolerance);
      expect(Math.abs(ig.attributions.reduce((s, v) => s + v, 0) - (ig.output - ig.baselineOutput))).toBeLessThanOrEqual(ig.tolerance);
      // The same path with one trapezoid interval: the check must catch the crude integral on a ReLU network.
      const crude = integratedGradients(mlp, [D], x, { steps: 1, maxSteps: 1, absoluteTolerance: 1e-6, relativeTolerance: 1e-4 });
      if (!crude.complete) differs++;
    }
    expect(differs).toBeGreaterThan(0);
  });

  it('integrated gradients of the logistic model reproduce its exact attributions', () => {
    const x = row(heart.test, 3);
    const exact = linearAttributions(logistic, x);
    const ig = integratedGradients(logistic, [D], x, { target: exact.target });
    for (let i = 0; i < D; i++) expect(ig.attributions[i]).toBeCloseTo(exact.attributions[i] ?? NaN, 4);
  });
});
