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
import { fairnessCountsForModel, positiveClassIndex } from '../../governance/fairness/model-counts.ts';
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
