/**
 * The consequential actions the audit log records (issue 6 §5), as constants so callers cannot misspell
 * them, plus the details some of them must carry (a round's ε charge, why a client was excluded).
 */
import { z } from 'zod';

export const AUDIT_ACTIONS = {
  jobCreated: 'job.created',
  jobStarted: 'job.started',
  jobStopped: 'job.stopped',
  roundCommitted: 'round.committed',
  clientExcluded: 'client.excluded',
  clientDeclined: 'client.declined',
  consentGranted: 'consent.granted',
  consentRevoked: 'consent.revoked',
  approverAdded: 'approver.added',
  approverRevoked: 'approver.revoked',
  approvalRecorded: 'approval.recorded',
  modelRegistered: 'model.registered',
  deployment: 'deployment',
  rollback: 'rollback',
  /** A privacy officer changed a job's ε budget after it was set (issue 11: re-running a spent job). */
  budgetChanged: 'ledger.budget-changed',
  // Governance integrity (issue 13).
  approversInitialised: 'approvers.initialised',
  approverRolesChanged: 'approver.roles-changed',
  policyChanged: 'policy.changed',
  deploymentPaused: 'deployment.paused',
  deploymentFlagged: 'deployment.flagged',
  rollbackRefused: 'rollback.refused',
  /** `--fresh`: a job's committed rounds were discarded to start it over (issue 14; never with ledger charges). */
  jobRestarted: 'job.restarted',
  // Attribution of every governance action (issue 13 §6) and of job submission (issue 15).
  /** `tessera ledger budget set --job`: a job's (ε, δ) budget set before it runs. */
  budgetSet: 'ledger.budget-set',
  /** `tessera ledger budget set --org`: an organisation's cumulative ε cap set or changed. */
  capSet: 'ledger.cap-set',
  /** A job submitted to a hosted coordinator (API or `tessera jobs submit`), by the token's identity. */
  jobSubmitted: 'job.submitted',
  /** A hosted job cancelled (API or `tessera jobs cancel`), by the token's identity. */
  jobCancelled: 'job.cancelled',
  // After deployment: human review, retention, derived model versions (issue 20 §5, §7, §8; servereview).
  /** A reviewer confirmed or overrode a held prediction (ids and classes only, never the instance). */
  reviewDecided: 'review.decided',
  /** A retention purge removed expired records: the tombstone names kind, table, counts, id range and cutoff. */
  retentionPurged: 'retention.purged',
  /** A canary taken out of traffic (issue 20 §4): automatically on breached criteria, with the figures, or by hand. */
  canaryRolledBack: 'deployment.canary-rolled-back',
} as const;

export type AuditAction = (typeof AUDIT_ACTIONS)[keyof typeof AUDIT_ACTIONS];

export const AuditActionSchema = z.enum(Object.values(AUDIT_ACTIONS) as [AuditAction, ...AuditAction[]]);

/** Details that specific actions must carry; other fields are allowed (loose objects). */
const REQUIRED_DETAILS: Partial<Record<AuditAction, z.ZodType>> = {
  [AUDIT_ACTIONS.roundCommitted]: z.looseObject({
    round: z.number().int().min(0),
    /** ε charged by this round (0 when the job runs without differential privacy). */
    epsilonCharge: z.number().min(0),
  }),
  [AUDIT_ACTIONS.clientExcluded]: z.looseObject({ reason: z.string().min(1) }),
  [AUDIT_ACTIONS.clientDeclined]: z.looseObject({ code: z.string().min(1), reason: z.string().min(1) }),
  [AUDIT_ACTIONS.consentGranted]: z.looseObject({ organisation: z.string().min(1), dataset: z.string().min(1) }),
  [AUDIT_ACTIONS.consentRevoked]: z.looseObject({ organisation: z.string().min(1), reason: z.string().min(1) }),
  [AUDIT_ACTIONS.rollback]: z.looseObject({ from: z.string().nullable(), to: z.string() }),
  [AUDIT_ACTIONS.budgetSet]: z.looseObject({ epsilon: z.number().positive(), delta: z.number().positive() }),
  [AUDIT_ACTIONS.capSet]: z.looseObject({ orgId: z.string().min(1), maxEpsilon: z.number().positive(), previous: z.number().positive().nullable() }),
  [AUDIT_ACTIONS.jobSubmitted]: z.looseObject({ name: z.string().min(1), by: z.string().min(1) }),
  [AUDIT_ACTIONS.jobCancelled]: z.looseObject({ by: z.string().min(1) }),
  [AUDIT_ACTIONS.reviewDecided]: z.looseObject({ predictionId: z.string().min(1), decision: z.enum(['confirm', 'override']), modelClass: z.number().int(), finalClass: z.number().int() }),
  [AUDIT_ACTIONS.retentionPurged]: z.looseObject({ kind: z.string().min(1), table: z.string().min(1), action: z.enum(['delete', 'redact']), count: z.number().int().min(1), firstId: z.number().int(), lastId: z.number().int(), olderThan: z.string().min(1), periodDays: z.number().int().min(1) }),
  [AUDIT_ACTIONS.canaryRolledBack]: z.looseObject({ from: z.string(), to: z.string(), automatic: z.boolean(), reason: z.string().min(1) }),
  [AUDIT_ACTIONS.budgetChanged]: z.looseObject({ oldEpsilon: z.number().positive(), newEpsilon: z.number().positive(), reason: z.string().min(1) }),
};

export function detailsSchemaFor(action: AuditAction): z.ZodType | undefined {
  return REQUIRED_DETAILS[action];
}
