/**
 * What an organisation's client node demands of any secure-aggregation round it joins, whatever the
 * coordinator's job spec says (issue 10: "a client trusts only its own policy and keys"). The client node's
 * policy file (client/policy/) supplies these values; absent a file, DEFAULT_SECAGG_CLIENT_POLICY applies.
 * The acceptance rule for a coordinator's setup (n, k, t, flags) against this policy lives with the SecAgg
 * client (privacy/secagg/), computed with the client's own parameter finder — never from coordinator figures.
 */
import type { ThreatModel } from './params.ts';

export interface SecAggClientPolicy {
  /** Secure aggregation is required: a training or evaluation task without it is declined. */
  readonly required: boolean;
  /** The weakest threat model accepted: 'semi-malicious' means the coordinator may deviate actively. */
  readonly minThreatModel: ThreatModel;
  /** Clients sign the survivor set before unmasking (Bonawitz et al. 2017, round 3). */
  readonly requireConsistencyCheck: boolean;
  /** This organisation's own assumptions, from which it computes the (k, t) floor it accepts. */
  readonly dropoutRate: number;
  readonly corruptRate: number;
  /** The fewest clients in a round's roster this organisation joins. */
  readonly minClients: number;
}

export const DEFAULT_SECAGG_CLIENT_POLICY: SecAggClientPolicy = {
  required: true,
  minThreatModel: 'semi-malicious',
  requireConsistencyCheck: true,
  dropoutRate: 0.1,
  corruptRate: 0.05,
  minClients: 3,
};
