/**
 * Performance evidence for a model's lineage (issue 13 §6): held-out accuracy, loss and calibration from the
 * federated evaluation, beside baselines evaluated on the SAME held-out examples, so an approver (and the gate)
 * can see whether the model learnt anything at all. A Heart model trained at σ = 5 reached 0.40 held-out
 * accuracy where always answering "disease" reaches 0.56; nothing in its evidence said so.
 *
 * Every figure comes from sums the federated evaluation forms (in the clear or under secure aggregation):
 * Σ correct, Σ loss, Σ Brier score and the examples per true label — never one client's figures. Pure: no
 * storage, no I/O.
 *
 * Baselines from the pooled label counts n_c (N = Σ n_c, p_c = n_c / N):
 * - majority class: always predict argmax_c n_c with certainty: accuracy max_c p_c, Brier 2(1 − max_c p_c);
 * - class prior ("climatology", the reference forecast of the Brier skill score, Murphy 1973, J. Appl.
 *   Meteor. 12(4)): predict p for every example: Brier Σ_c p_c(1 − p_c) = 1 − Σ_c p_c², cross-entropy
 *   −Σ_c p_c ln p_c (the entropy of the labels, the best constant predictor's log loss).
 * The previous production version, when there is one and it has the same architecture, is evaluated on the
 * same held-out splits in the same evaluation round (coordinator/job-runner.ts) and recorded beside them.
 */
import { z } from 'zod';

export const ModelScores = z.object({
  accuracy: z.number().min(0).max(1),
  /** Mean cross-entropy (natural log). */
  loss: z.number().min(0),
  /** Mean multi-class Brier score Σ_c (p_c − y_c)² (Brier 1950), in [0, 2]; lower is better calibrated. */
  brier: z.number().min(0).max(2),
});
export type ModelScores = z.infer<typeof ModelScores>;

export const PerformanceEvidence = z
  .object({
    /** Where the figures come from: the clients' held-out splits, pooled (never one client's figures). */
    source: z.literal('federated-evaluation'),
    /** The round whose evaluation gave them (the last evaluated round). */
    round: z.number().int().min(0),
    examples: z.number().int().min(1),
    clients: z.number().int().min(1),
    model: ModelScores,
    /** Held-out examples per true label (index = class). */
    labelCounts: z.array(z.number().int().min(0)).min(2),
    baselines: z.object({
      majority: z.object({ class: z.number().int().min(0), accuracy: z.number().min(0).max(1), brier: z.number().min(0).max(2) }),
      prior: z.object({ loss: z.number().min(0), brier: z.number().min(0).max(2) }),
      /** The production version when the job ended, evaluated on the same held-out data (null when none or incompatible). */
      previousProduction: ModelScores.extend({ version: z.string().regex(/^[0-9a-f]{64}$/) }).nullable(),
    }),
  })
  .strict();
export type PerformanceEvidence = z.infer<typeof PerformanceEvidence>;

/** Majority-class and class-prior baselines from the pooled label counts (formulas in the header). */
export function labelBaselines(labelCounts: readonly number[]): PerformanceEvidence['baselines']['majority'] & { prior: PerformanceEvidence['baselines']['prior'] } {
  const n = labelCounts.reduce((a, b) => a + b, 0);
  if (!(n > 0)) throw new RangeError('labelBaselines: no examples');
  let best = 0;
  for (let c = 1; c < labelCounts.length; c++) if ((labelCounts[c] ?? 0) > (labelCounts[best] ?? 0)) best = c;
  const p = labelCounts.map((k) => k / n);
  const top = p[best] ?? 0;
  const sumSq = p.reduce((a, x) => a + x * x, 0);
  const entropy = -p.reduce((a, x) => a + (x > 0 ? x * Math.log(x) : 0), 0);
  return { class: best, accuracy: top, brier: 2 * (1 - top), prior: { loss: entropy, brier: 1 - sumSq } };
}

export interface PooledEvaluation {
  readonly round: number;
  readonly examples: number;
  readonly clients: number;
  readonly accuracy: number;
  readonly loss: number;
  readonly brier?: number | undefined;
  readonly labelCounts?: readonly number[] | undefined;
  readonly previousProduction?: (ModelScores & { readonly version: string }) | null | undefined;
}

/** The evidence from one pooled federated evaluation; null when it lacks the label counts or Brier sum. */
export function performanceEvidence(e: PooledEvaluation): PerformanceEvidence | null {
  if (e.brier === undefined || e.labelCounts === undefined || e.examples < 1 || e.labelCounts.length < 2) return null;
  if (e.labelCounts.reduce((a, b) => a + b, 0) !== e.examples) return null;
  const { prior, ...majority } = labelBaselines(e.labelCounts);
  return PerformanceEvidence.parse({
    source: 'federated-evaluation',
    round: e.round,
    examples: e.examples,
    clients: e.clients,
    // Sums carried in thousandths can land a hair outside [0, 2]; the score itself cannot.
    model: { accuracy: e.accuracy, loss: e.loss, brier: Math.min(2, Math.max(0, e.brier)) },
    labelCounts: [...e.labelCounts],
    baselines: { majority, prior, previousProduction: e.previousProduction ?? null },
  });
}
