/**
 * The client's side of fairness (issue 5), as one mod:
 * - `prepareTrainingData`: with `fairness.reweighing` on, Kamiran–Calders reweighing (Knowledge and
 *   Information Systems 33(1), 2012, §4.2) of the local training split by (group, label). The weights come from
 *   this client's own counts only; nothing about them leaves the organisation.
 * - `evaluationExtras`: with `fairness.enabled`, the per-subgroup confusion and calibration counts of the
 *   global model on the held-out split, in the layout every client derives from the job spec (+ the data
 *   contract's categories), so the coordinator — or secure aggregation — can sum them element-wise.
 */
import type { Contract } from '../../governance/contract/schema.ts';
import type { Examples } from '../../datasets/types.ts';
import { countsFromPredictions } from '../../governance/fairness/counts.ts';
import { layoutForJob, layoutFingerprint, sensitiveValuesFromContract, type CountsLayout } from '../../governance/fairness/layout.ts';
import { applyReweighing } from '../../governance/fairness/reweighing.ts';
import { predictProba } from '../../ml/train.ts';
import { TesseraError } from '../../protocol/errors.ts';
import type { FairnessSection } from '../../protocol/job/fairness.ts';
import { encodeUint32 } from '../../protocol/tensor.ts';
import type { ClientMod } from './mod.ts';

export interface FairnessModOptions {
  /** The organisation's data contract: the sensitive attributes' categories and the positive label. */
  readonly contract?: Pick<Contract, 'sensitive' | 'columns' | 'name' | 'label'>;
}

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

function reweighingAttributes(f: FairnessSection): string[] {
  return f.reweighingAttributes.length > 0 ? [...f.reweighingAttributes] : [...f.sensitive];
}

export function fairnessMod(options: FairnessModOptions = {}): ClientMod {
  const categories = options.contract ? sensitiveValuesFromContract(options.contract) : {};
  const positive = options.contract?.label?.positive;
  // The local data does not change during a job: compute weights and layouts once per (data, settings).
  const reweighed = new WeakMap<Examples, Map<string, Examples>>();
  const layouts = new Map<string, CountsLayout>();
  const layoutFor = (f: FairnessSection): CountsLayout => {
    const key = JSON.stringify([f.sensitive, f.groupValues, f.calibrationBins, f.maxIntersectionOrder]);
    let layout = layouts.get(key);
    if (!layout) {
      layout = layoutForJob(f, categories);
      layouts.set(key, layout);
    }
    return layout;
  };
  return {
    name: 'fairness',
    prepareTrainingData(data, ctx) {
      const f = ctx.task.job.fairness;
      if (!f.reweighing) return data;
      const attributes = reweighingAttributes(f);
      if (attributes.length === 0) throw new TesseraError('TESSERA_ERR_FAIRNESS_INPUT', 'fairness.reweighing is on but no sensitive attribute is declared (fairness.sensitive)');
      const key = attributes.join('\u0000');
      let byKey = reweighed.get(data);
      if (!byKey) {
        byKey = new Map();
        reweighed.set(data, byKey);
      }
      let out = byKey.get(key);
      if (!out) {
        const r = applyReweighing(data, { attributes });
        out = r.examples;
        byKey.set(key, out);
        // The table stays in the client's own log (debug); it holds local group sizes, never sent anywhere.
        ctx.logger.debug({ attributes, cells: r.table.cells.length }, 'reweighing weights computed from the local training split');
      }
      return out;
    },
    evaluationExtras(model, data, ctx) {
      const f = ctx.task.job.fairness;
      if (!f.enabled) return {};
      const layout = layoutFor(f);
      const counts = fairnessCountsForModel({ probabilities: predictProba(model, data.x, data.n), examples: data, positive: positiveClassIndex(data, positive), layout });
      ctx.logger.debug({ cells: counts.length, layout: layoutFingerprint(layout).slice(0, 12) }, 'fairness counts computed on the held-out split');
      return { fairnessCounts: encodeUint32(counts) };
    },
  };
}
