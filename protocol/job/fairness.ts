/**
 * The `fairness` section of the job spec: which sensitive attributes are evaluated (and their allowed values,
 * which fix the layout of the federated count vector), how the held-out split is drawn, whether clients
 * reweigh their training examples, and the policy every evaluation is checked against.
 */
import { z } from 'zod';

/** Joins attribute names (`sex×race`) and values (`Female×Black`) of an intersection. */
export const INTERSECTION_SEPARATOR = '×';

/** Disparity metrics a policy rule can constrain (definitions in governance/fairness/metrics.ts). */
export const FAIRNESS_RULE_METRICS = [
  'demographicParityDifference',
  'demographicParityRatio',
  'equalizedOddsDifference',
  'equalOpportunityDifference',
  'accuracyGap',
  'worstGroupAccuracy',
] as const;
export type FairnessRuleMetric = (typeof FAIRNESS_RULE_METRICS)[number];

/**
 * One policy rule, e.g. `{metric: 'demographicParityDifference', attribute: 'sex', max: 0.1}` or
 * `{metric: 'worstGroupAccuracy', attribute: 'sex', min: 0.8}`. `attribute` may name an intersection
 * (`sex×race`). Bounds are inclusive.
 */
export const FairnessRule = z
  .object({
    metric: z.enum(FAIRNESS_RULE_METRICS),
    attribute: z.string().min(1),
    max: z.number().finite().optional(),
    min: z.number().finite().optional(),
  })
  .strict()
  .refine((r) => r.max !== undefined || r.min !== undefined, { message: 'a fairness rule needs `max`, `min` or both' })
  .refine((r) => r.max === undefined || r.min === undefined || r.min <= r.max, { message: 'a fairness rule has min > max' });
export type FairnessRule = z.infer<typeof FairnessRule>;

export const FairnessSection = z
  .object({
    enabled: z.boolean().default(false),
    /** Sensitive attributes to evaluate per group (column names of the data contract). */
    sensitive: z.array(z.string().min(1)).default([]),
    /**
     * Allowed values per sensitive attribute, in a fixed order. Every client derives the same count-vector
     * layout from them, so the vectors can be summed element-wise (through secure aggregation). An attribute
     * absent here takes its values from the data contract's categories.
     */
    groupValues: z.record(z.string(), z.array(z.string().min(1)).min(1)).default({}),
    /** Intersections of up to this many attributes are evaluated too (1 = none). */
    maxIntersectionOrder: z.number().int().min(1).max(4).default(2),
    /** Groups with fewer held-out examples are reported as suppressed, not as numbers. */
    minGroupSize: z.number().int().min(1).default(20),
    /** Predicted-probability bins for calibration (expected calibration error); 0 = no calibration counts. */
    calibrationBins: z.number().int().min(0).max(50).default(10),
    /** Share of each client's rows kept as its held-out evaluation split (stratified by label and group). */
    heldOutFraction: z.number().gt(0).lt(1).default(0.2),
    /** Client-side reweighing of training examples by (group, label) (Kamiran & Calders 2012). */
    reweighing: z.boolean().default(false),
    /** Which attributes define the reweighing group (their intersection); empty = all of `sensitive`. */
    reweighingAttributes: z.array(z.string().min(1)).default([]),
    /** Rules every evaluation report records pass/fail for (the deployment gate reads the result). */
    policy: z.array(FairnessRule).default([]),
  })
  // Strict: a section written with `"rules"` instead of `"policy"` was once dropped silently (issue 13 §5).
  .strict()
  .superRefine((s, ctx) => {
    const declared = new Set(s.sensitive);
    s.policy.forEach((rule, i) => {
      for (const part of rule.attribute.split(INTERSECTION_SEPARATOR)) {
        if (!declared.has(part)) {
          ctx.addIssue({ code: 'custom', path: ['policy', i, 'attribute'], message: `"${part}" is not a declared sensitive attribute` });
        }
      }
    });
    s.reweighingAttributes.forEach((a, i) => {
      if (!declared.has(a)) ctx.addIssue({ code: 'custom', path: ['reweighingAttributes', i], message: `"${a}" is not a declared sensitive attribute` });
    });
    for (const a of Object.keys(s.groupValues)) {
      if (!declared.has(a)) ctx.addIssue({ code: 'custom', path: ['groupValues', a], message: `"${a}" is not a declared sensitive attribute` });
    }
  });
export type FairnessSection = z.infer<typeof FairnessSection>;
