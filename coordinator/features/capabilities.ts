/**
 * The vocabulary features use to declare their order (FeatureDeclaration in feature.ts): each capability is a
 * fact some feature establishes during a round or a job, that others need or must come after. Adding a
 * capability means saying here, in one sentence, what is true once its provider's hooks have run.
 */
export const CAPABILITIES = {
  'consent-eligibility': "clients whose organisation's consent does not cover the job are excluded before sampling (and audited when decided)",
  'privacy-eligibility': 'at most one client per organisation, and none whose organisation would exceed its ε cap, is left for sampling',
  'job-rows': 'the job row exists from the start, and each committed round has its row (record and weights) in the round-commit transaction',
  'privacy-charge': "the round's ε is charged in the ledger inside the round-commit transaction",
  'audit-trail': "the round loop's audit entries are written (round.committed per round, job.stopped at the end)",
  'fairness-report': "each federated evaluation's fairness report is in the round record's `fairness` slot",
  'drift-report': "the participants' data-contract checks and drift alerts are in the round record's `dataContract` slot",
  'secure-aggregation': 'training and federated evaluation run as secure-aggregation rounds',
  'model-registration': 'the finished model is registered with its lineage (after the job ends)',
} as const;

export type Capability = keyof typeof CAPABILITIES;
