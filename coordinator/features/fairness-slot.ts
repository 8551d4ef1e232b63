/**
 * The fairness feature's slot in the round record (`extra.fairness`): the report of the round's federated
 * evaluation with its RFC 8785 hash and the policy's verdict, or why there is none. Written by
 * coordinator/features/fairness.ts after each federated evaluation; read by the registry (lineage), the
 * simulation's reports and the CLI.
 */
import { z } from 'zod';
import { FAIRNESS_REPORT_SCHEMA, type FairnessReport } from '../../governance/fairness/policy.ts';
import { FAIRNESS_RULE_METRICS } from '../../protocol/job/fairness.ts';
import { defineSlot, type SlotValue } from './slot.ts';

export const RoundFairnessRuleSchema = z.object({
  metric: z.enum(FAIRNESS_RULE_METRICS),
  attribute: z.string(),
  min: z.number().optional(),
  max: z.number().optional(),
  value: z.number().nullable(),
  status: z.enum(['pass', 'fail', 'not-computable']),
  reason: z.string().optional(),
});

/**
 * The report itself is derived by governance/fairness/policy.ts (its own type); the slot checks its schema tag
 * and shape markers and keeps it whole, so its hash still matches the canonical JSON the registry stores.
 */
const FairnessReportSchema = z.custom<FairnessReport>(
  (v) => typeof v === 'object' && v !== null && (v as { schema?: unknown }).schema === FAIRNESS_REPORT_SCHEMA && typeof (v as { policy?: unknown }).policy === 'object',
  { message: `not a ${FAIRNESS_REPORT_SCHEMA} report` },
);

export const FAIRNESS_SLOT = defineSlot(
  'fairness',
  'fairness',
  z.discriminatedUnion('ok', [
    z.object({
      ok: z.literal(true),
      /** SHA-256 of the report's RFC 8785 canonical JSON: what a model version and an approval refer to. */
      hash: z.string().regex(/^[0-9a-f]{64}$/),
      passed: z.boolean(),
      rules: z.array(RoundFairnessRuleSchema),
      report: FairnessReportSchema,
    }),
    z.object({ ok: z.literal(false), error: z.string() }),
  ]),
);

export type RoundFairness = SlotValue<typeof FAIRNESS_SLOT>;
export type RoundFairnessRule = z.infer<typeof RoundFairnessRuleSchema>;
