/**
 * Measures a derived version's own held-out evidence (derived-evidence.ts): the derived weights and the parent's,
 * each scored on the same held-out rows by the training code's own evaluation (ml/train.ts `evaluate`: accuracy,
 * mean cross-entropy, Brier score, label counts), the majority-class baseline of those rows (performance.ts), and
 * — when the parent's job states a fairness evaluation — a fairness report of each on those rows, counted exactly
 * as a client counts its held-out split (governance/fairness/model-counts.ts `fairnessCountsForModel`) and judged by the job's
 * own fairness policy (governance/fairness/policy.ts). The figures are of the weights actually registered, so a
 * transformation that damages them (a corrupted scale, say) shows in its own evidence.
 *
 * Why a central held-out split and not the parent's: the parent's figures come from a federated evaluation on
 * the clients' held-out splits, which the coordinator never holds. Re-running that evaluation for the derived
 * version needs the clients; until a job can do that, both versions are measured here on the same rows, so the
 * difference between them is exact even though the rows are not the federation's.
 */
import type { Examples } from '../../datasets/types.ts';
import type { ModelSpec } from '../../protocol/job/model.ts';
import { FairnessSection } from '../../protocol/job/fairness.ts';
import type { DerivedEvidence } from './derived-evidence.ts';
import { labelBaselines, type ModelScores } from './performance.ts';

export interface HeldOutRows {
  readonly dataset: string;
  readonly examples: Examples;
}

/** Sorted distinct values of an attribute in the rows: the groups when the job does not list them. */
function valuesIn(examples: Examples, attribute: string): string[] | undefined {
  const v = examples.sensitive[attribute];
  return v === undefined ? undefined : [...new Set(v)].sort();
}

export async function measureDerivedEvidence(options: { modelSpec: ModelSpec; parentWeights: Float32Array; weights: Float32Array; heldOut: HeldOutRows; parentJobSpec: unknown }): Promise<DerivedEvidence> {
  const { examples } = options.heldOut;
  const { buildModel } = await import('../../ml/model.ts');
  const { initBackend } = await import('../../ml/backend.ts');
  const { setFlatWeights } = await import('../../ml/weights.ts');
  const { evaluate, predictProba } = await import('../../ml/train.ts');
  await initBackend();

  // Only the job's fairness section is read (a stored spec from an older schema still yields it).
  const section = typeof options.parentJobSpec === 'object' && options.parentJobSpec !== null && 'fairness' in options.parentJobSpec ? FairnessSection.safeParse(options.parentJobSpec.fairness) : null;
  const fairness = section?.success === true && section.data.enabled && section.data.sensitive.every((a) => examples.sensitive[a] !== undefined) ? section.data : null;
  const fairnessOf = async (probabilities: Float32Array): Promise<{ reportHash: string; passed: boolean; report: unknown } | null> => {
    if (fairness === null) return null;
    const { layoutForJob } = await import('../fairness/layout.ts');
    const { decodeCounts } = await import('../fairness/counts.ts');
    const { fairnessReport, reportHash } = await import('../fairness/policy.ts');
    const { fairnessCountsForModel, positiveClassIndex } = await import('../fairness/model-counts.ts');
    const categories = Object.fromEntries(fairness.sensitive.map((a) => [a, valuesIn(examples, a) ?? []]));
    const layout = layoutForJob(fairness, categories);
    const counts = fairnessCountsForModel({ probabilities, examples, positive: positiveClassIndex(examples, undefined), layout });
    const report = fairnessReport({ counts: decodeCounts(counts, layout), rules: fairness.policy, minGroupSize: fairness.minGroupSize, context: { split: `held-out rows of ${options.heldOut.dataset}`, examples: examples.n } });
    return { reportHash: reportHash(report), passed: report.policy.passed, report };
  };

  const score = async (weights: Float32Array): Promise<{ scores: ModelScores; labelCounts: number[]; fairness: Awaited<ReturnType<typeof fairnessOf>> }> => {
    const m = buildModel(options.modelSpec, { seed: 0 });
    try {
      setFlatWeights(m, weights);
      const e = evaluate(m, examples);
      const probabilities = fairness === null ? null : predictProba(m, examples.x, examples.n);
      return {
        scores: { accuracy: e.accuracy, loss: e.loss, brier: Math.min(2, Math.max(0, e.brierSum / examples.n)) },
        labelCounts: [...e.labelCounts],
        fairness: probabilities === null ? null : await fairnessOf(probabilities),
      };
    } finally {
      m.dispose();
    }
  };
  const parent = await score(options.parentWeights);
  const own = await score(options.weights);
  const { prior: _prior, ...majority } = labelBaselines(own.labelCounts);
  return {
    source: 'held-out-split',
    dataset: options.heldOut.dataset,
    examples: examples.n,
    labelCounts: own.labelCounts,
    model: own.scores,
    parent: parent.scores,
    majority,
    fairness: own.fairness === null ? null : { ...own.fairness, parentPassed: parent.fairness?.passed ?? false },
  };
}
