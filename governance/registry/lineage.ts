/**
 * A model version's lineage (issue 6 §1): where it came from and what it cost. Pure schemas and hashing, no
 * storage: the approval record signs the lineage hash, and the model card and deployment gate read it.
 */
import { z } from 'zod';
import { canonicalHash } from '../../lib/canonical-json.ts';
import { DerivedEvidence } from './derived-evidence.ts';
import { PerformanceEvidence } from './performance.ts';

export const Hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex SHA-256');

export const PrivacySpent = z.object({
  /** ε actually spent by the job (null when it ran without differential privacy: no guarantee). */
  epsilon: z.number().min(0).nullable(),
  delta: z.number().min(0).lt(1).nullable(),
  placement: z.enum(['central', 'distributed', 'local', 'none']),
  /** Accountant that produced ε (e.g. 'rdp', 'prv'), null without DP. */
  accountant: z.string().nullable(),
  /** The unit one (ε, δ) guarantee protects. */
  unit: z.enum(['organisation', 'example']).default('organisation'),
  noiseMultiplier: z.number().min(0).optional(),
  clipNorm: z.number().positive().optional(),
  samplingRate: z.number().gt(0).max(1).optional(),
});
export type PrivacySpent = z.infer<typeof PrivacySpent>;

export const FairnessEvidence = z.object({
  /** SHA-256 of the report's RFC 8785 canonical JSON (governance/fairness/policy.ts `reportHash`). */
  reportHash: Hex64,
  /** The fairness policy's verdict on this report. */
  passed: z.boolean(),
  /** The report itself (governance/fairness FairnessReport), kept so the card and approvers can read it. */
  report: z.unknown(),
});
export type FairnessEvidence = z.infer<typeof FairnessEvidence>;

export const ContractEvidence = z.object({
  /** True when every participating client's data passed the job's data contract. */
  passed: z.boolean(),
  /** Clients that declined or were excluded for contract violations (they did not train). */
  violations: z.number().int().min(0).default(0),
  summary: z.string().default(''),
  // Counts from the clients' actual results (issue 13 §5; governance/registry/contract-evidence.ts). Absent in
  // lineages registered before them.
  checked: z.number().int().min(0).optional(),
  passedChecks: z.number().int().min(0).optional(),
  declined: z.number().int().min(0).optional(),
  perRound: z.array(z.object({ round: z.number().int().min(0), checked: z.number().int().min(0), passed: z.number().int().min(0), declined: z.number().int().min(0) })).optional(),
});
export type ContractEvidence = z.infer<typeof ContractEvidence>;

export const RoundParticipation = z.object({
  round: z.number().int().min(0),
  organisations: z.array(z.string()),
});

/**
 * A version made from another by a transformation, not by training (issue 20 §8: int8 weight quantisation,
 * governance/registry/quantize.ts): the parent, how, what it cost in size and held-out accuracy.
 */
export const DerivedFrom = z.object({
  parent: Hex64,
  transform: z.literal('int8-weights'),
  /** e.g. 'symmetric per-output-channel int8 kernels, float32 biases' (ml/quantize-int8.ts). */
  scheme: z.string(),
  /** SHA-256 of the packed int8 weight file kept beside the artifacts; it dequantises to this version's weights exactly. */
  int8Sha256: Hex64,
  sizeBytes: z.object({ parent: z.number().int().min(0), int8: z.number().int().min(0) }),
  maxAbsWeightError: z.number().min(0),
  /** Accuracy of parent and derived version on the same held-out rows, when they were given. */
  heldOut: z.object({ dataset: z.string(), examples: z.number().int().min(1), parentAccuracy: z.number(), accuracy: z.number(), accuracyDelta: z.number() }).nullable(),
  /**
   * The derived version's own held-out performance and fairness (derived-evidence.ts): what the gate reads for it,
   * never the parent's copies. Optional: lineages registered before it keep their hash (and cannot deploy).
   */
  evidence: DerivedEvidence.optional(),
});
export type DerivedFrom = z.infer<typeof DerivedFrom>;

/**
 * Global feature importance computed federatedly (issue 20 §6, ml/explain/permutation-importance.ts): permutation
 * importance on the clients' held-out splits, from sums that travelled through secure aggregation.
 */
export const FeatureImportance = z.object({
  method: z.literal('permutation'),
  /** Held-out rows over all clients, and how many clients' sums were added. */
  examples: z.number().int().min(1),
  clients: z.number().int().min(1),
  baselineAccuracy: z.number(),
  /**
   * Per model input: its name (the data contract's feature name, e.g. "workclass=Private"; x0, x1, … without a
   * contract), the contract column it is computed from (absent without a contract, and in lineages before it),
   * accuracy with it permuted within each client's split, and the drop from the baseline.
   */
  features: z.array(z.object({ feature: z.string(), column: z.string().optional(), permutedAccuracy: z.number(), importance: z.number() })),
  secureAggregation: z.boolean(),
});
export type FeatureImportance = z.infer<typeof FeatureImportance>;

export const Lineage = z.object({
  jobId: z.string().nullable().default(null),
  jobName: z.string().nullable().default(null),
  purpose: z.string().nullable().default(null),
  dataset: z.string().nullable().default(null),
  /** SHA-256 of the RFC 8785 canonical JSON of the parsed job spec. */
  jobSpecHash: Hex64,
  /** SHA-256 of the canonical data contract (governance/contract `contractHash`), null without a contract. */
  dataContractHash: Hex64.nullable(),
  rounds: z.number().int().min(0),
  participation: z.array(RoundParticipation),
  privacy: PrivacySpent,
  fairness: FairnessEvidence.nullable().default(null),
  contractChecks: ContractEvidence.nullable().default(null),
  /**
   * Held-out accuracy, loss and calibration with the majority-class, class-prior and previous-production
   * baselines on the same held-out data (governance/registry/performance.ts). Optional, not defaulted: a lineage
   * registered before it keeps hashing to its stored hash; the gate treats its absence as missing evidence.
   */
  performance: PerformanceEvidence.optional(),
  /** Set for a version derived from another (optional: lineages before it keep their hash). */
  derivedFrom: DerivedFrom.optional(),
  /** Federated permutation importance (optional, as above). */
  featureImportance: FeatureImportance.optional(),
  /** Headline evaluation figures (e.g. accuracy, loss) for the card. */
  metrics: z.record(z.string(), z.number().nullable()).default({}),
  code: z.object({ version: z.string(), gitCommit: z.string().nullable() }),
  runtime: z.object({ tfjsVersion: z.string(), tfjsBackend: z.string(), node: z.string() }),
});
export type Lineage = z.infer<typeof Lineage>;

/** What a caller supplies; code and runtime are filled in by the registry when absent. */
export const LineageInput = Lineage.extend({
  code: Lineage.shape.code.optional(),
  runtime: Lineage.shape.runtime.partial().optional(),
  fairness: FairnessEvidence.extend({ reportHash: Hex64.optional(), passed: z.boolean().optional() }).nullable().default(null),
});
export type LineageInput = z.input<typeof LineageInput>;

export function lineageHash(lineage: Lineage): string {
  return canonicalHash(lineage);
}

/** Every organisation that contributed to at least one round, sorted. */
export function participatingOrganisations(lineage: Pick<Lineage, 'participation'>): string[] {
  return [...new Set(lineage.participation.flatMap((p) => p.organisations))].sort();
}

/** The policy verdict a fairness report carries (`report.policy.passed`), if it has one. */
export function reportVerdict(report: unknown): boolean | undefined {
  const r = z.object({ policy: z.object({ passed: z.boolean() }) }).safeParse(report);
  return r.success ? r.data.policy.passed : undefined;
}

/** The rule results of a fairness report (`report.policy.rules`), as headline numbers for approvers. */
export function reportRuleHeadlines(report: unknown): Array<{ attribute: string; metric: string; value: number | null; status: string }> {
  const r = z
    .object({
      policy: z.object({
        rules: z.array(z.object({ rule: z.object({ attribute: z.string(), metric: z.string() }), value: z.number().nullable(), status: z.string() })),
      }),
    })
    .safeParse(report);
  return r.success ? r.data.policy.rules.map((x) => ({ attribute: x.rule.attribute, metric: x.rule.metric, value: x.value, status: x.status })) : [];
}
