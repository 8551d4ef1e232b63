/**
 * The client's acceptance rule for a coordinator's SecAgg+ setup, computed from the ORGANISATION's policy
 * (client-policy.ts) with the client's own parameter finder — never from figures the coordinator sends. The
 * coordinator proposes (n, k, t, consistency check); the client recomputes, for that n and k and its own
 * corruption and dropout assumptions (γ_P, δ_P), the bounds of Bell et al., CCS 2020 §4 (params.ts) and
 * refuses anything below them. Derivation (docs/security-model.md has the long form):
 *
 *  A = ⌊γ_P·n⌋ corrupt clients, D = ⌊δ_P·n⌋ dropouts; t1 = corruptNeighbourBound(n, k, γ_P): whp no client has
 *  more than t1 corrupt neighbours (exactly A in the complete graph).
 *  - threshold: t > t1, so corrupt neighbours alone never hold t shares of a secret (Bonawitz et al. 2017 §4).
 *    Against an actively malicious coordinator also t ≥ c = ⌊(k + 1 + t1)/2⌋ + 1 (Bell et al.'s split bound:
 *    the honest members of one closed neighbourhood cannot be split into two camps that each reach t, so
 *    no client's seed AND key both reconstruct), and t ≥ t1 + 2 (a client's own seed share plus its corrupt
 *    neighbours' never reach t: at least one honest, certified neighbour must reveal it).
 *  - connectivity (sparse graphs): P[the honest survivors' graph of H(n, k) disconnects] ≤ 2^−41 with A + D
 *    nodes removed (params.ts bound 1); a disconnected graph hands the coordinator partial sums.
 *  - certification: with the consistency check, a client reveals shares only holding valid signatures on the
 *    SAME survivor set U3 from ≥ c − 1 neighbours (c counting itself). Two different U3 views in one closed
 *    neighbourhood would need 2c ≤ k + 1 + t1 members — impossible — so a neighbour whose survival this
 *    client certified cannot also be certified as dropped by the holders of its key shares.
 *  - keys floor f = max(t − 1, c − 1, t1 + 1): a client masks only with at least f neighbours' keys, so it
 *    can certify at all and at least one of its mask partners is honest (t1 + 1 > corrupt neighbours); the
 *    "forward V only t − 1 keys" attack then needs an honest partner both alive (it certified V's U3 and
 *    revealed V's seed share) and dropped (its key reconstructed), which the certification bound excludes.
 *  - dp: under DP each client adds σ²C²/m of noise variance, assuming ≥ m shares in any released sum; the
 *    client refuses n < m and, since it can only check |U3| ≥ m when it sees U3, requires the consistency check.
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { SecAggClientPolicy } from './client-policy.ts';
import { checkSecAggParams, corruptNeighbourBound, log2DisconnectBound, splitProofCount, worstCounts } from './params.ts';

/** The coordinator's proposal, as read from its setup message. */
export interface SetupTerms {
  readonly clients: number;
  readonly k: number;
  readonly t: number;
  readonly consistencyCheck: boolean;
}

/** What the client enforces in the later stages once it has accepted a setup. */
export interface Acceptance {
  /** t1 under the organisation's corruption assumption. */
  readonly t1: number;
  /** The fewest neighbours' keys (and shares) with which this client masks. */
  readonly keysFloor: number;
  /** Signers of the same U3 (itself included) before it reveals anything; 0 without the consistency check. */
  readonly certifyFloor: number;
}

export type PolicyRule = 'min-clients' | 'consistency-check' | 'threshold' | 'connectivity' | 'dp-min-survivors';

/** σ of params.ts: security failure ≤ 2^−40, each of the two union-bound halves ≤ 2^−41. */
const SECURITY_BITS = 40;

function refuse(rule: PolicyRule, message: string, details: Record<string, unknown>): never {
  throw new TesseraError('TESSERA_ERR_SECAGG_POLICY', `refused by this organisation's secure-aggregation policy (rule ${rule}): ${message}`, { details: { rule, ...details } });
}

/** The smallest t this policy accepts for (n, k): t > t1, and the split bound against a malicious coordinator. */
export function minimumThreshold(policy: SecAggClientPolicy, clients: number, k: number): { t1: number; minT: number } {
  const t1 = corruptNeighbourBound({ clients, k, corruptRate: policy.corruptRate, securityBits: SECURITY_BITS });
  const minT = policy.minThreatModel === 'semi-malicious' ? Math.max(splitProofCount(k, t1), t1 + 2) : t1 + 1;
  return { t1, minT: Math.max(2, minT) };
}

/**
 * Checks a setup against the policy; returns the floors the later stages enforce. Throws TESSERA_ERR_SECAGG_POLICY
 * naming the broken rule, or TESSERA_ERR_SECAGG_PARAMS for a structurally impossible (n, k, t) or n above the
 * Shamir field's limit.
 */
export function acceptSetup(terms: SetupTerms, policy: SecAggClientPolicy, options: { minSurvivors?: number } = {}): Acceptance {
  const { clients: n, k, t, consistencyCheck } = terms;
  checkSecAggParams({ clients: n, k, t });
  if (n < policy.minClients) refuse('min-clients', `the round has n = ${n} clients; this organisation joins rounds of at least ${policy.minClients}`, { clients: n, minClients: policy.minClients });
  if (policy.requireConsistencyCheck && !consistencyCheck) {
    refuse('consistency-check', 'the setup turns the survivor-set consistency check off; this organisation requires it (without it a malicious coordinator can tell neighbours different survivor sets)', {});
  }
  const m = options.minSurvivors ?? 1;
  if (m > 1 && n < m) refuse('dp-min-survivors', `the round has n = ${n} clients but the job's DP noise assumes at least m = ${m} in any released sum`, { clients: n, minSurvivors: m });
  if (m > 1 && !consistencyCheck) {
    refuse('dp-min-survivors', `under DP this client must see the survivor set to check |U3| ≥ m = ${m}; the setup has no consistency check`, { minSurvivors: m });
  }
  const { t1, minT } = minimumThreshold(policy, n, k);
  if (t < minT) {
    refuse('threshold', `t = ${t} is below the ${minT} this organisation requires for n = ${n}, k = ${k} (corrupt-neighbour bound t1 = ${t1} at corruptRate ${policy.corruptRate}, ${policy.minThreatModel} coordinator)`, { clients: n, k, t, minT, t1 });
  }
  if (k < n - 1) {
    const { A, D } = worstCounts({ clients: n, corruptRate: policy.corruptRate, dropoutRate: policy.dropoutRate });
    const log2 = log2DisconnectBound(n, k, A + D);
    if (log2 > -(SECURITY_BITS + 1)) {
      refuse('connectivity', `degree k = ${k} is too small for n = ${n}: with ${A} corrupt and ${D} dropped clients the honest survivors' graph disconnects with probability 2^${log2.toFixed(1)} > 2^−${SECURITY_BITS + 1}`, { clients: n, k, log2Disconnect: log2 });
    }
  }
  const certifyFloor = consistencyCheck ? Math.max(t, splitProofCount(k, t1)) : 0;
  const keysFloor = Math.max(t - 1, certifyFloor - 1, t1 + 1);
  return { t1, keysFloor, certifyFloor };
}
