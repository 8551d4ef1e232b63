/**
 * The SecAgg+ parameter finder: from the number of clients n, the expected dropout rate δ and the assumed
 * fraction γ of clients colluding with the coordinator, choose the neighbour degree k and Shamir threshold t
 * so that security fails with probability ≤ 2^−σ (σ = 40) and the round fails with probability ≤ 2^−η
 * (η = 20). Bounds of Bell et al., CCS 2020 §4 (Harary graph with random placement), derived here as follows,
 * with A = ⌊γn⌋ corrupt clients and D = ⌊δn⌋ dropouts taken as worst-case counts:
 *
 *  1. Honest survivors stay connected (else the coordinator learns partial sums): removing nodes from the ring
 *     disconnects H(n, k) only if two runs of k/2 consecutive positions, separated on both sides, are all
 *     removed. There are n(n−k−1)/2 such pairs and each has probability C(B, k)/C(n, k), B = A + D, under the
 *     random placement; the union bound must be ≤ 2^−(σ+1).
 *  2. No honest client has t corrupt neighbours (else they and the coordinator hold t shares of both of its
 *     secrets): corrupt neighbours X ~ Hypergeometric(n−1, A, k); with t1 the smallest value such that
 *     P(X > t1) ≤ 2^−(σ+1)/n (union bound over clients), any t > t1 is secure. Semi-malicious coordinators may
 *     send different survivor sets to different clients; then t must also exceed (k + 1 + t1)/2, so that two
 *     disjoint sets of honest shareholders (k − X neighbours plus the client's own share) cannot both reach t.
 *  3. Every client keeps t live shareholders: surviving neighbours S ~ Hypergeometric(n−1, n−1−D, k); t2 is the
 *     largest value with P(S < t2) ≤ 2^−η/n; a client's own share only adds to this.
 *
 * The search runs over even k from 2 upwards and returns the first k with a threshold t ∈ (t1, t2]; taking
 * t = t1 + 1 (at least 2) tolerates the most dropouts. If no k < n − 1 qualifies, it falls back to the
 * complete graph, where the counts are exact: t1 = A and t2 = n − D.
 *
 * Compared with Google's production finder (fcp/secagg/server/graph_parameter_finder, the table in
 * ../shared/vectors/secagg-graph-parameters.md), these populations are n − 1 rather than n (a client is not
 * its own neighbour), which is slightly more conservative; see test/secagg-params.test.ts for the numbers.
 */
import { TesseraError } from '../../protocol/errors.ts';
import { checkDegree } from './graph.ts';
import { logChoose, lowerQuantile, upperQuantile } from './hypergeometric.ts';

export type ThreatModel = 'semi-honest' | 'semi-malicious';

export interface SecAggParams {
  readonly clients: number;
  readonly k: number;
  readonly t: number;
  readonly complete: boolean;
  readonly threatModel: ThreatModel;
  /** log2 of the bounds actually achieved (≤ −σ for security, ≤ −η for correctness); −Infinity when exact. */
  readonly log2SecurityFailure: number;
  readonly log2CorrectnessFailure: number;
}

export interface FinderOptions {
  clients: number;
  dropoutRate: number;
  corruptRate: number;
  threatModel?: ThreatModel;
  securityBits?: number;
  correctnessBits?: number;
}

/** Adding a hair before flooring keeps 0.05·1000 = 50.000000000000007 from being read as 49.99…. */
const EPS = 1e-12;

export function worstCounts(o: Pick<FinderOptions, 'clients' | 'dropoutRate' | 'corruptRate'>): { A: number; D: number } {
  return { A: Math.floor(o.corruptRate * o.clients + EPS), D: Math.floor(o.dropoutRate * o.clients + EPS) };
}

/**
 * Shamir shares use x = index + 1 in GF(2^16) (shamir.ts), so a round holds at most 2^16 − 1 clients; the wire
 * schema's ClientIndex stops one short of that (65 534 clients), which is the limit enforced here.
 */
export const MAX_SECAGG_CLIENTS = 65_534;

/**
 * t1: the most corrupt neighbours any client has, except with probability 2^−(σ+1) over all n clients (bound 2
 * above). Exact in the complete graph (every other client is a neighbour): t1 = A.
 */
export function corruptNeighbourBound(o: { clients: number; k: number; corruptRate: number; securityBits?: number }): number {
  const n = o.clients;
  const { A } = worstCounts({ clients: n, corruptRate: o.corruptRate, dropoutRate: 0 });
  if (o.k >= n - 1) return A;
  const sigma = o.securityBits ?? 40;
  return upperQuantile({ population: n - 1, marked: A, draws: o.k }, 2 ** -(sigma + 1) / n);
}

/**
 * The semi-malicious bound of Bell et al. 2020 (bound 2 above): the smallest count c with 2c > k + 1 + t1. Two
 * disjoint sets of honest members of one closed neighbourhood (k + 1 clients, at most t1 of them corrupt, who
 * may join both) cannot both reach c. Used for t and, on the client, for the survivor-set certification.
 */
export function splitProofCount(k: number, t1: number): number {
  return Math.floor((k + 1 + t1) / 2) + 1;
}

/** log2 of the union bound (1) on the honest-survivor graph of H(n, k) being disconnected. */
export function log2DisconnectBound(n: number, k: number, bad: number): number {
  if (k > bad) return -Infinity; // fewer bad nodes than two half-runs need
  const pairs = Math.log(n) + Math.log(n - k - 1) - Math.log(2);
  return (pairs + logChoose(bad, k) - logChoose(n, k)) / Math.LN2;
}

function threshold(threatModel: ThreatModel, k: number, t1: number): number {
  const base = threatModel === 'semi-malicious' ? splitProofCount(k, t1) : t1 + 1;
  return Math.max(2, base);
}

/** Checks one even degree k < n − 1; returns the parameters if k meets both targets. */
function tryHarary(o: Required<FinderOptions>, k: number): SecAggParams | undefined {
  const n = o.clients;
  const { A, D } = worstCounts(o);
  const secEach = 2 ** -(o.securityBits + 1);
  const log2Disconnect = log2DisconnectBound(n, k, A + D);
  if (log2Disconnect > -(o.securityBits + 1)) return undefined;
  const t1 = upperQuantile({ population: n - 1, marked: A, draws: k }, secEach / n);
  const t2 = lowerQuantile({ population: n - 1, marked: n - 1 - D, draws: k }, 2 ** -o.correctnessBits / n);
  const t = threshold(o.threatModel, k, t1);
  if (t > t2 || t > k) return undefined;
  return {
    clients: n,
    k,
    t,
    complete: false,
    threatModel: o.threatModel,
    log2SecurityFailure: Math.log2(2 ** log2Disconnect + secEach),
    log2CorrectnessFailure: -o.correctnessBits,
  };
}

function complete(o: Required<FinderOptions>): SecAggParams {
  const n = o.clients;
  const { A, D } = worstCounts(o);
  const t = threshold(o.threatModel, n - 1, A);
  const t2 = n - D;
  if (t > t2 || t > n - 1) {
    throw new TesseraError(
      'TESSERA_ERR_SECAGG_PARAMS',
      `no threshold is both secure and live for n = ${n}, dropout ${o.dropoutRate}, corrupt ${o.corruptRate} (${o.threatModel}): ` +
        `security needs t ≥ ${t}, ${D} dropouts leave ${t2} shareholders`,
      { details: { clients: n, needT: t, liveShareholders: t2 } },
    );
  }
  return { clients: n, k: n - 1, t, complete: true, threatModel: o.threatModel, log2SecurityFailure: -Infinity, log2CorrectnessFailure: -Infinity };
}

export function findSecAggParams(options: FinderOptions): SecAggParams {
  const o: Required<FinderOptions> = { threatModel: 'semi-honest', securityBits: 40, correctnessBits: 20, ...options };
  const { clients: n, dropoutRate, corruptRate } = o;
  if (!Number.isInteger(n) || n < 2) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `secure aggregation needs at least 2 clients, got ${n}`);
  if (!(dropoutRate >= 0 && dropoutRate < 1)) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `dropoutRate must be in [0, 1), got ${dropoutRate}`);
  if (!(corruptRate >= 0 && corruptRate < 1)) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `corruptRate must be in [0, 1), got ${corruptRate}`);
  for (let k = 2; k < n - 1; k += 2) {
    const found = tryHarary(o, k);
    if (found !== undefined) return found;
  }
  return complete(o);
}

/**
 * Validates explicitly given (n, k, t) — e.g. from a job spec that pins them — for structure only: the graph
 * must exist and 2 ≤ t ≤ k. Whether they are *secure* for a threat model is the finder's job.
 */
export function checkSecAggParams(options: { clients: number; k: number; t: number }): void {
  const { clients: n, k, t } = options;
  if (Number.isInteger(n) && n > MAX_SECAGG_CLIENTS) {
    throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `a SecAgg round holds at most ${MAX_SECAGG_CLIENTS} clients (Shamir shares live in GF(2^16), x = index + 1), got n = ${n}; split the round`, { details: { clients: n, max: MAX_SECAGG_CLIENTS } });
  }
  checkDegree(n, k);
  if (!Number.isInteger(t) || t < 2 || t > k) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `threshold t must be an integer in [2, k = ${k}], got ${t}`);
}
