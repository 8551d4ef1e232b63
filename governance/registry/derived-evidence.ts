/**
 * A derived version's own held-out evidence (review 3's finding: an int8 version inherited its parent's). A
 * version made by transforming another's weights (quantize.ts) copies its parent's *training* facts — rounds,
 * participation, privacy spent (post-processing cannot weaken (ε, δ): Dwork and Roth 2014, Proposition 2.1),
 * the data-contract checks — but its parent's held-out accuracy and fairness report are statements about other
 * weights. So the derived version records its own: its scores on a held-out split, the parent's scores on the
 * same rows (the difference the model card shows), the majority-class baseline of those rows, and a fairness
 * report of its own predictions under the parent's job fairness policy. The deployment gate reads this and never
 * the copies (governance/deploy/derived-gate.ts). Pure schema, no I/O; produced by derived-evaluate.ts.
 */
import { z } from 'zod';
import { ModelScores } from './performance.ts';

export const DerivedEvidence = z
  .object({
    /** The rows: a held-out split evaluated centrally (the data set's test split), both versions on the same rows. */
    source: z.literal('held-out-split'),
    dataset: z.string().min(1),
    examples: z.number().int().min(1),
    /** Rows per true label (index = class). */
    labelCounts: z.array(z.number().int().min(0)).min(2),
    /** The derived version's own scores, and its parent's on the same rows. */
    model: ModelScores,
    parent: ModelScores,
    /** Always predicting the commonest label of these rows (performance.ts labelBaselines). */
    majority: z.object({ class: z.number().int().min(0), accuracy: z.number().min(0).max(1), brier: z.number().min(0).max(2) }),
    /**
     * The derived version's fairness report on these rows under the parent job's fairness policy
     * (governance/fairness/policy.ts fairnessReport), and whether the parent's own report on the same rows passed;
     * null when the parent's job states no fairness evaluation or the rows carry no sensitive attribute.
     */
    fairness: z
      .object({ reportHash: z.string().regex(/^[0-9a-f]{64}$/), passed: z.boolean(), report: z.unknown(), parentPassed: z.boolean() })
      .nullable(),
  })
  .strict();
export type DerivedEvidence = z.infer<typeof DerivedEvidence>;
