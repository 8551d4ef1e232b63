/**
 * The JSON the operator console reads beyond the job API (issue 17), as zod schemas: the routes in
 * console/api-routes.ts declare them, so responses are serialised through them (undeclared fields are stripped,
 * never sent) and they appear in /v1/openapi.json like every other route. They live beside the coordinator
 * rather than in protocol/ because they compose the coordinator's round-record slots.
 *
 * What each carries follows who may read it: `JobSeries` goes to every operator role, so it holds counts per
 * round and no organisation (declines are counted per code, never listed per client); `PrivacyOverview` and
 * `GovernanceOverview` go to the roles that see per-organisation detail. None holds a key, a share, a raw row or
 * an individual update: the sources they are built from (ledger, consent, registry, approvals) hold none either.
 */
import { z } from 'zod';
import { HostedJobSummary } from '../../protocol/api.ts';
import { TokenRole } from '../../governance/identity/operator-tokens.ts';
import { ApprovalEvidence } from '../../governance/approvals/record.ts';
import { WitnessedCheckpoint } from '../../governance/audit/anchor.ts';
import { PRIVACY_SLOT } from '../features/dp-slot.ts';
import { DATA_CONTRACT_SLOT } from '../features/data-contract-slot.ts';
import { FAIRNESS_SLOT } from '../features/fairness-slot.ts';

const count = z.number().int().min(0);

/** Who holds the token (`GET /v1/whoami`): the console shows the role and hides what it may not open. */
export const WhoAmI = z.object({
  name: z.string(),
  role: TokenRole,
  /** Whether the role sees per-organisation detail (coordinator/api/access.ts DETAIL_ROLES). */
  detail: z.boolean(),
  /**
   * The roles each guarded route the console reads accepts, as the routes declare them (`config.access`): the
   * page asks only routes the role may call and shows the others' refusal itself, naming these roles.
   */
  access: z.record(z.string(), z.array(TokenRole)),
});
export type WhoAmI = z.infer<typeof WhoAmI>;

/** One committed round, aggregated: what a viewer may see. */
export const SeriesRound = z.object({
  round: z.number().int().min(1),
  attempt: z.number().int().min(1),
  eligible: count,
  selected: count,
  participants: count,
  dropped: count,
  declined: count,
  /** Declines and drops per stable code (e.g. CONTRACT_VIOLATION: 2): counts only, no organisation. */
  codes: z.record(z.string(), count),
  accuracy: z.number().nullable(),
  loss: z.number().nullable(),
  trainLoss: z.number().nullable(),
  durationMs: z.number().min(0),
  privacy: PRIVACY_SLOT.schema.optional(),
  dataContract: DATA_CONTRACT_SLOT.schema.optional(),
  fairness: FAIRNESS_SLOT.schema.optional(),
});
export type SeriesRound = z.infer<typeof SeriesRound>;

/** A job's rounds as series for charts (`GET /v1/jobs/:id/series`). */
export const JobSeries = z.object({
  job: HostedJobSummary,
  /** What the job's spec names: data set, data-contract hash and the spec's own hash (null for a job of an older state). */
  spec: z.object({ dataset: z.string(), contractHash: z.string().nullable(), specHash: z.string(), budget: z.number().nullable() }).nullable(),
  rounds: z.array(SeriesRound),
});
export type JobSeries = z.infer<typeof JobSeries>;

const ChargedRoundView = z.object({
  round: z.number().int(),
  samplingRate: z.number(),
  noiseMultiplier: z.number(),
  clipNorm: z.number(),
  placement: z.string(),
  eligible: count,
  participants: count,
  epsilonAfter: z.number(),
  delta: z.number(),
  privateNoise: z.boolean(),
  chargedAt: z.string(),
});

export const PrivacyJob = z.object({
  jobId: z.string(),
  budget: z.object({ epsilon: z.number(), delta: z.number(), placement: z.string(), trustedCoordinator: z.boolean(), accountant: z.string(), conversion: z.string(), underfillFraction: z.number().optional() }),
  roundsCharged: count,
  epsilonSpent: z.number(),
  epsilonRemaining: z.number(),
  notPrivateRounds: count,
  /** The accountant's settings of the last charged round: q, σ, clip norm, and m (the fewest survivors a round releases with). */
  settings: z.object({ samplingRate: z.number(), noiseMultiplier: z.number(), clipNorm: z.number(), placement: z.string(), minSurvivors: z.number().int().nullable() }).nullable(),
  rounds: z.array(ChargedRoundView),
});

export const PrivacyOrg = z.object({
  orgId: z.string(),
  cap: z.number().nullable(),
  totalEpsilon: z.number(),
  totalDelta: z.number(),
  spend: z.array(z.object({ jobId: z.string(), rounds: count, epsilon: z.number(), lastRound: z.number().int() })),
});

/**
 * The ε trajectory (governance/ledger/org-series.ts: cumulative ε after each charged round it was eligible in) that
 * every organisation in `organisations` shares, point for point. Organisations with the same sampling and σ on the
 * same jobs — the usual case — have identical trajectories, so the payload grows with the number of DISTINCT
 * trajectories × rounds rather than organisations × rounds (coordinator/console/privacy-view.ts `groupOrgSeries`).
 */
export const OrgEpsilonSeriesView = z.object({
  /** The organisations on this trajectory, by id, each with its own cap (null: none). */
  organisations: z.array(z.object({ orgId: z.string(), cap: z.number().nullable() })).min(1),
  points: z.array(
    z.object({
      /** Position of the round in the ledger's charge order over all jobs: the charts' common x-axis. */
      step: z.number().int().min(1),
      jobId: z.string(),
      round: z.number().int(),
      jobEpsilon: z.number(),
      totalEpsilon: z.number(),
      totalDelta: z.number(),
    }),
  ),
});
export type OrgEpsilonSeriesView = z.infer<typeof OrgEpsilonSeriesView>;

export const ConsentView = z.object({
  organisation: z.string(),
  dataset: z.string(),
  purposes: z.array(z.string()),
  expiresAt: z.string(),
  maxEpsilon: z.number(),
  retentionDays: z.number(),
  grantedAt: z.string(),
  revokedAt: z.string().nullable(),
  /** active, expiring (within `expiringWithinDays`), expired or revoked, at the time of the answer. */
  status: z.enum(['active', 'expiring', 'expired', 'revoked']),
});

/** `GET /v1/privacy`: the ledger, the accountant's settings and consent, for privacy officers. */
export const PrivacyOverview = z.object({
  at: z.string(),
  expiringWithinDays: z.number(),
  jobs: z.array(PrivacyJob),
  orgs: z.array(PrivacyOrg),
  /**
   * Each organisation's cumulative ε (and δ) across jobs after every charged round, for the chart with its cap:
   * one entry per distinct trajectory, naming every organisation that has it.
   */
  orgSeries: z.array(OrgEpsilonSeriesView),
  consents: z.array(ConsentView),
});
export type PrivacyOverview = z.infer<typeof PrivacyOverview>;

const GateView = z.object({
  stage: z.enum(['canary', 'production']),
  ok: z.boolean(),
  policySource: z.string(),
  unmet: z.array(z.object({ code: z.string(), message: z.string(), role: z.string().optional() })),
  roles: z.array(z.object({ role: z.string(), min: z.number(), of: z.number().nullable(), approvals: count, people: z.array(z.string()) })),
});

const ApprovalView = z.object({
  id: z.string().nullable(),
  name: z.string().nullable(),
  keyId: z.string().nullable(),
  role: z.string().nullable(),
  decision: z.string().nullable(),
  /** The stage the approval admits to (production also covers the canary). */
  stage: z.string().nullable(),
  issuedAt: z.string().nullable(),
  expiresAt: z.string().nullable(),
  status: z.string(),
});

export const ModelView = z.object({
  version: z.string(),
  name: z.string(),
  registeredAt: z.string(),
  stage: z.string(),
  kind: z.string(),
  parameters: count,
  lineageHash: z.string(),
  lineage: z.object({ jobId: z.string().nullable(), jobSpecHash: z.string(), dataset: z.string().nullable(), purpose: z.string().nullable(), dataContractHash: z.string().nullable(), rounds: count, organisations: z.array(z.string()) }),
  /** Exactly what an approver signs (governance/approvals/record.ts evidenceFor). */
  evidence: ApprovalEvidence,
  approvals: z.array(ApprovalView),
  gate: GateView,
  /** The model card as `tessera models card` renders it (Markdown). */
  card: z.string(),
});

export const DeploymentView = z.object({
  name: z.string(),
  production: z.string().nullable(),
  canary: z.string().nullable(),
  canaryPercent: z.number().nullable(),
  history: z.array(z.string()),
  updatedAt: z.string().nullable(),
  /** Versions flagged by the serving layer's health checks (governance/deploy/revocation.ts). */
  flags: z.array(z.object({ version: z.string(), reason: z.string(), at: z.string() })),
});

/** `GET /v1/governance`: models, evidence, approvals, the gate, deployments and the audit log's verification. */
export const GovernanceOverview = z.object({
  at: z.string(),
  models: z.array(ModelView),
  deployments: z.array(DeploymentView),
  audit: z.object({ ok: z.boolean(), entries: count, checkpoints: count, firstBadEntry: z.number().int().nullable(), reason: z.string().nullable(), lastCheckpoint: WitnessedCheckpoint.nullable() }),
});
export type GovernanceOverview = z.infer<typeof GovernanceOverview>;
