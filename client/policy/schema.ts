/**
 * The organisation's own policy for its client node (issue 10 §1): what it demands of any job it joins,
 * whatever the coordinator's job spec says (house rule 11: "a client trusts only its own policy and keys").
 * One local, versioned JSON file (`tessera client --policy FILE`), parsed strictly; every field has a SAFE
 * default, so a node started without a file runs under DEFAULT_CLIENT_POLICY.
 *
 * The `secagg` section maps one-to-one onto SecAggClientPolicy (privacy/secagg/client-policy.ts), which the
 * secure-aggregation client enforces at setup ((k, t) floors from the organisation's own dropout and corruption
 * assumptions). The `dp` section is enforced by the policy mod (client/mods/policy.ts) before any work.
 * Simulations use PERMISSIVE_RESEARCH_POLICY instead (named so in code and in `tessera simulate` output).
 */
import { z } from 'zod';
import { DEFAULT_SECAGG_CLIENT_POLICY, type SecAggClientPolicy } from '../../privacy/secagg/client-policy.ts';
import { describeZodIssues, TesseraError } from '../../protocol/errors.ts';

export const CLIENT_POLICY_VERSION = 1;

/** An Ed25519 public key as in a `.pub` file (`tessera keys generate`): 32 bytes, base64. */
const Base64Ed25519Key = z
  .string()
  .regex(/^[A-Za-z0-9+/]{43}=$/, 'an Ed25519 public key: 32 bytes in base64 (the publicKey of a .pub file)');

const D = DEFAULT_SECAGG_CLIENT_POLICY;

export const SecAggPolicySection = z.strictObject({
  /** Decline every training or evaluation task that does not use secure aggregation. */
  required: z.boolean().default(D.required),
  /** The weakest threat model accepted ('semi-malicious': the coordinator may lie about who dropped out). */
  minThreatModel: z.enum(['semi-honest', 'semi-malicious']).default(D.minThreatModel),
  /** Demand the consistency check (clients sign the survivor set before unmasking). */
  requireConsistencyCheck: z.boolean().default(D.requireConsistencyCheck),
  /** This organisation's own dropout and corruption assumptions: its (k, t) floor is computed from them. */
  dropoutRate: z.number().min(0).lt(1).default(D.dropoutRate),
  corruptRate: z.number().min(0).lt(1).default(D.corruptRate),
  /** The fewest clients in a round's roster this organisation joins. */
  minClients: z.number().int().min(1).default(D.minClients),
});

export const DpPolicySection = z.strictObject({
  /**
   * Decline training tasks of jobs without differential privacy. On by default: secure aggregation alone reveals
   * only the sum of one round, but a coordinator that runs the same round twice with and without one organisation
   * (two job ids, same weights and seed) subtracts the sums and gets that organisation's exact update back
   * (test/review-nodp-differencing.test.ts); only noise the organisation adds itself makes that difference useless.
   */
  required: z.boolean().default(true),
  /** Placements accepted. Central is honoured only for a coordinator listed in trustedCoordinatorKeys. */
  allowedPlacements: z.array(z.enum(['central', 'distributed', 'local'])).min(1).default(['distributed', 'local']),
  /** Coordinators trusted with central placement, by the Ed25519 key they prove in the connection handshake. */
  trustedCoordinatorKeys: z.array(Base64Ed25519Key).default([]),
  /**
   * Smallest noise multiplier σ accepted. Default 0.5: one release of the Gaussian mechanism at σ = 0.5 already
   * costs ε ≈ √(2 ln(1.25/δ))/σ ≈ 9.7 at δ = 1e-5 (Dwork & Roth 2014, Thm. 3.22), about the default cap.
   */
  minNoiseMultiplier: z.number().min(0).default(0.5),
  /** Largest δ accepted: a large declared δ would make any ε look small. */
  maxDelta: z.number().gt(0).lt(1).default(1e-5),
  /** Cap on a job's ε as RECOMPUTED by this client from the spec's (q, σ, rounds, δ, placement). */
  maxEpsilon: z.number().positive().default(10),
  /**
   * Cap on this node's cumulative ε over every job it has contributed to (its participation record), each
   * contribution composed at q = 1 (the coordinator knows when this client took part, so subsampling does not
   * amplify privacy against it), at δ = maxDelta.
   */
  maxTotalEpsilon: z.number().positive().default(30),
  /**
   * Decline evaluation tasks of a DP job that has no evaluation noise (evaluation.noise). On by default: an exact
   * evaluation sum unmasked twice over rosters that differ by this organisation gives its exact example count,
   * correct count, loss and label counts (test/review-evaluation-differencing.test.ts); the once-per-round rule of
   * the participation record stops only the in-round version of that, not two rounds' sums.
   */
  requireEvaluationNoise: z.boolean().default(true),
});

export const DisclosurePolicySection = z.strictObject({
  /** Send the exact number of local training examples in the connection handshake (off: it is omitted). */
  exampleCount: z.boolean().default(false),
  /**
   * With DP on, also send the training loss, training time, example count and the clipped bit in the clear
   * (off: they stay on the client; the DP guarantee does not cover them). Without DP the plain update itself
   * is exact, and these are sent as before.
   */
  trainingDiagnostics: z.boolean().default(false),
  /**
   * When local data fails the job's data contract, the decline (sent in the clear, outside secure aggregation and
   * DP) also carries the checked row count, each violation's count and the per-column drift statistics. Off: it
   * names only the failed rule kinds and their columns; the details stay in the node's own log.
   */
  declineDetail: z.boolean().default(false),
});

export const ClientPolicyFile = z.strictObject({
  version: z.literal(CLIENT_POLICY_VERSION),
  secagg: SecAggPolicySection.default(SecAggPolicySection.parse({})),
  dp: DpPolicySection.default(DpPolicySection.parse({})),
  disclose: DisclosurePolicySection.default(DisclosurePolicySection.parse({})),
});
export type ClientPolicyFile = z.infer<typeof ClientPolicyFile>;
export type ClientPolicyFileInput = z.input<typeof ClientPolicyFile>;

/** The effective policy a node runs under: the file's content with defaults, and where it came from. */
export interface ClientPolicy extends ClientPolicyFile {
  /** 'default' (no file), the file's path, or 'permissive-research' (simulations only). */
  readonly source: string;
  /**
   * Research simulations only: central placement is accepted from a coordinator that proves no key (the
   * in-memory transport has none). Never set from a file.
   */
  readonly researchTrustsAnyCoordinator: boolean;
  /** Research simulations only: no participation record is kept (round retries re-ask the same round). */
  readonly researchSkipsParticipationRecord: boolean;
}

export const DEFAULT_CLIENT_POLICY: ClientPolicy = {
  ...ClientPolicyFile.parse({ version: CLIENT_POLICY_VERSION }),
  source: 'default',
  researchTrustsAnyCoordinator: false,
  researchSkipsParticipationRecord: false,
};

/**
 * The explicitly permissive policy of SIMULATED clients (`tessera simulate` without --client-policy): research
 * runs plain jobs, any placement, any ε, and shows training diagnostics. Not private, and says so.
 */
export const PERMISSIVE_RESEARCH_POLICY: ClientPolicy = {
  version: CLIENT_POLICY_VERSION,
  secagg: { required: false, minThreatModel: 'semi-honest', requireConsistencyCheck: false, dropoutRate: D.dropoutRate, corruptRate: D.corruptRate, minClients: 1 },
  dp: {
    required: false,
    allowedPlacements: ['central', 'distributed', 'local'],
    trustedCoordinatorKeys: [],
    minNoiseMultiplier: 0,
    maxDelta: 0.999_999,
    maxEpsilon: Number.POSITIVE_INFINITY,
    maxTotalEpsilon: Number.POSITIVE_INFINITY,
    requireEvaluationNoise: false,
  },
  disclose: { exampleCount: true, trainingDiagnostics: true, declineDetail: true },
  source: 'permissive-research',
  researchTrustsAnyCoordinator: true,
  researchSkipsParticipationRecord: true,
};

/** Parses a policy file's JSON (unknown) into the effective policy; an invalid file is unusable input. */
export function parseClientPolicy(contents: unknown, source: string): ClientPolicy {
  const parsed = ClientPolicyFile.safeParse(contents);
  if (!parsed.success) throw new TesseraError('TESSERA_ERR_POLICY_INVALID', `client policy ${source} is invalid: ${describeZodIssues(parsed.error.issues)}`);
  return { ...parsed.data, source, researchTrustsAnyCoordinator: false, researchSkipsParticipationRecord: false };
}

/** The policy's secure-aggregation demands, for `new SecureAggregation({ ..., policy })`. */
export function secAggClientPolicy(policy: ClientPolicy): SecAggClientPolicy {
  const s = policy.secagg;
  return { required: s.required, minThreatModel: s.minThreatModel, requireConsistencyCheck: s.requireConsistencyCheck, dropoutRate: s.dropoutRate, corruptRate: s.corruptRate, minClients: s.minClients };
}

/** The policy as a file would hold it (defaults filled in), for `tessera policy show`. */
export function policyDocument(policy: ClientPolicy): ClientPolicyFile {
  return { version: policy.version, secagg: policy.secagg, dp: policy.dp, disclose: policy.disclose };
}
