/**
 * The governance sections of the job spec: the model card text (what the model is for and not for) and the
 * deployment policy the gate checks before a version may take traffic (governance/deploy/gate.ts). The same
 * DeploymentSection schema is used for a coordinator-wide policy file (`tessera deploy --policy FILE`).
 */
import { z } from 'zod';

export const ModelCardSection = z.object({
  /** One paragraph on what the model does. */
  description: z.string().default(''),
  intendedUse: z.string().default(''),
  limitations: z.array(z.string()).default([]),
  outOfScope: z.array(z.string()).default([]),
});
export type ModelCardSection = z.infer<typeof ModelCardSection>;

/**
 * `min` distinct approvers holding `role` must approve. `of` records the size of the designated panel
 * ("2 of 3 reviewers"); `keyIds`, when given, is that panel: only those keys count for this role.
 */
export const RoleRequirement = z
  .object({
    role: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'a role is lower-case letters, digits and hyphens'),
    min: z.number().int().min(1).default(1),
    of: z.number().int().min(1).optional(),
    keyIds: z.array(z.string().regex(/^[0-9a-f]{32}$/, 'a key id is 32 hex characters')).min(1).optional(),
  })
  .strict()
  .refine((r) => r.of === undefined || r.min <= r.of, { message: '`min` cannot exceed `of`' })
  .refine((r) => r.keyIds === undefined || r.min <= r.keyIds.length, { message: '`min` cannot exceed the number of `keyIds`' })
  .refine((r) => r.keyIds === undefined || r.of === undefined || r.of === r.keyIds.length, { message: '`of` must equal the number of `keyIds`' });
export type RoleRequirement = z.infer<typeof RoleRequirement>;

/**
 * Human review of served predictions (issue 20 §5, coordinator/serving/review/): an instance is held for a
 * reviewer when the model's top-class probability is below `confidenceBelow`, or when it falls in one of
 * `groups` (feature index of the preprocessed instance and the values that place it in the group, e.g. a
 * sensitive attribute's code). Held predictions are still answered, marked `pending`; the caller polls.
 */
export const ReviewGroup = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a group name is letters, digits, dot, underscore and hyphen'),
    feature: z.number().int().min(0),
    values: z.array(z.number().finite()).min(1),
  })
  .strict();
export type ReviewGroup = z.infer<typeof ReviewGroup>;
export const ReviewPolicy = z
  .object({
    confidenceBelow: z.number().gt(0).max(1).optional(),
    groups: z.array(ReviewGroup).default([]),
  })
  .strict();
export type ReviewPolicy = z.infer<typeof ReviewPolicy>;

/**
 * How long served data is kept (issue 20 §7, governance/retention/): whole days, per kind. Absent: kept until
 * a period is set. `servedInputs` removes the instances (and their explanations) from stored records,
 * `reviewRecords` deletes review records, `feedback` deletes feedback labels. A scheduled purge and
 * `tessera retention run` apply them, each leaving an audit tombstone with counts and id ranges, never content.
 */
export const RetentionPolicy = z
  .object({
    servedInputsDays: z.number().int().min(1).max(36_500).optional(),
    feedbackDays: z.number().int().min(1).max(36_500).optional(),
    reviewRecordsDays: z.number().int().min(1).max(36_500).optional(),
  })
  .strict();
export type RetentionPolicy = z.infer<typeof RetentionPolicy>;

/**
 * Rollback criteria for a canary (issue 20 §4), checked by the serving coordinator as canary traffic arrives
 * (governance/monitoring/canary.ts). Once `minRequests` requests have been routed to the canary, breaking any stated
 * limit rolls it back automatically (audited with the figures); meeting every limit for `windowMinutes` since
 * the canary started reports it ready for promotion — promotion itself still needs the approvals.
 */
export const CanaryCriteria = z
  .object({
    /** Canary requests before any verdict (a rollback or readiness); the policy floor raises it to at least 30. */
    minRequests: z.number().int().min(1).default(100),
    /** How long the canary must meet the criteria, from its deployment, to be ready for promotion. */
    windowMinutes: z.number().min(0).default(60),
    /** Largest share of canary requests the canary may fail to answer (5xx; contract refusals are the caller's). */
    maxErrorRate: z.number().min(0).max(1).optional(),
    /** Largest p99 prediction latency (from the latency histogram), in milliseconds. */
    maxP99LatencyMs: z.number().positive().optional(),
    /** Largest online accuracy of production minus that of the canary, both from feedback labels. */
    maxAccuracyGap: z.number().min(0).max(1).optional(),
    /** Labelled canary (and production) predictions needed before the accuracy gap counts. */
    minLabels: z.number().int().min(1).default(30),
    /** Largest PSI between the canary's and production's predicted-class shares (prediction drift). */
    maxPredictionPsi: z.number().positive().optional(),
    /**
     * Distinct tokens whose requests (and, for the accuracy gap, whose labels on each stage) a verdict needs;
     * fewer is "insufficient evidence" (default 3; the floor raises it to at least 2). A rollback or "ready" must
     * also hold with any one token's evidence left out (governance/monitoring/canary-evidence.ts).
     */
    minTokens: z.number().int().min(1).optional(),
    /** Largest share of the counted sample one token's requests (or labels) may hold (default 0.5, never more). */
    maxTokenShare: z.number().gt(0).max(1).optional(),
  })
  .strict();
export type CanaryCriteria = z.infer<typeof CanaryCriteria>;

export const DeploymentSection = z
  .object({
    /** Approvals required before canary or production. The default asks a privacy officer and a model owner. */
    roles: z.array(RoleRequirement).default([
      { role: 'privacy-officer', min: 1 },
      { role: 'model-owner', min: 1 },
    ]),
    /** One person cannot fill two required roles (quorum counts distinct keys across roles). */
    distinctSigners: z.boolean().default(true),
    /** The job's spent ε must not exceed this; a job trained without differential privacy then fails. */
    maxEpsilon: z.number().positive().optional(),
    /** The fairness report in the lineage must exist and pass the job's fairness policy. */
    requireFairnessPassed: z.boolean().default(true),
    /** The lineage must record that every participant's data passed the data contract. */
    requireContractChecksPassed: z.boolean().default(true),
    /**
     * Held-out accuracy (federated evaluation) must beat the majority-class baseline on the same held-out data
     * by at least this much (absolute, e.g. 0.05 = five percentage points). The floor in code raises it to at
     * least 0.01 (governance/deploy/floor.ts); optional so policies recorded before it keep their hash.
     */
    minAccuracyOverMajority: z.number().min(0).lt(1).optional(),
    /** Share of prediction requests a canary receives when `--percent` is not given. */
    canaryPercent: z.number().gt(0).lt(100).default(10),
    /** Longest validity an approval may carry (`tessera approve --expires`); the floor caps it at 365 days. */
    maxApprovalValidityDays: z.number().int().min(1).max(365).default(90),
    /**
     * What happens to a canary or production version when revoking a key leaves it short of the policy:
     * `pause` takes it out of traffic (a production version falls back to the previous one that still passes
     * the gate, or stops serving), `flag` keeps it serving with a recorded, listed flag.
     */
    onRevocation: z.enum(['pause', 'flag']).default('pause'),
    /** Which predictions are held for human review (optional, so policies recorded before it keep their hash). */
    review: ReviewPolicy.optional(),
    /** Retention periods of served inputs, feedback and review records (optional, as `review`). */
    retention: RetentionPolicy.optional(),
    /** Canary rollback criteria; optional, not defaulted, so policies recorded before them keep their hash. */
    canaryCriteria: CanaryCriteria.optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    const seen = new Set<string>();
    p.roles.forEach((r, i) => {
      if (seen.has(r.role)) ctx.addIssue({ code: 'custom', path: ['roles', i, 'role'], message: `role '${r.role}' is listed twice` });
      seen.add(r.role);
    });
  });
export type DeploymentSection = z.infer<typeof DeploymentSection>;
export type DeploymentPolicy = DeploymentSection;

/**
 * Consent enforcement on the coordinator (issue 6 §6). When the coordinator keeps state (`--state DIR`) and
 * `required` is true, only clients whose organisation has a consent record in force covering the job's
 * purpose, data set and total ε are sampled; eligibility is evaluated before every round, so a revocation
 * takes effect from the next round. Job files default to enforcing it; the built-in simulation job turns it
 * off unless the user's `--job` file says otherwise. Client nodes enforce their own local copy regardless.
 */
export const ConsentSection = z
  .object({
    required: z.boolean().default(true),
  })
  .strict();
export type ConsentSection = z.infer<typeof ConsentSection>;
