/**
 * Under-filled rounds (issue 11 §1). A DP round needs at least m participants (distributed noise is split into m
 * shares; a round with fewer cannot be released). The round loop therefore has to do SOMETHING when the
 * Poisson sample falls short, and whatever it does is a function of membership. Tessera never re-samples a DP
 * round (re-sampling until |S| ≥ m raises every organisation's inclusion probability above q, which the
 * accountant does not charge — measured in issue 11: N = 10, q = 0.1, m = 1, σ = 1, 50 rounds, ledger 5.88
 * against a true ε ≥ 8.32). An under-filled round ends the job instead, and the probability of that event is
 * paid from δ:
 *
 * Lemma (coupling). Let M be (ε, δ)-DP and let M' equal M except on an event E with P(E) ≤ η under every input
 * (formally: for every input D there is a coupling of M(D) and M'(D) with P(M(D) ≠ M'(D)) ≤ η). Then M' is
 * (ε, δ + (1 + e^ε)·η)-DP.
 * Proof. For any set A and neighbours D, D':
 *   P(M'(D) ∈ A) ≤ P(M(D) ∈ A) + η ≤ e^ε·P(M(D') ∈ A) + δ + η ≤ e^ε·(P(M'(D') ∈ A) + η) + δ + η.  ∎
 * (The same total-variation argument as Dwork & Roth 2014, "The Algorithmic Foundations of Differential
 * Privacy", the proof of Lemma 3.17; for a sequence of T rounds E is "some round is under-filled" and
 * P(E) ≤ Σ_t η_t by the union bound.)
 *
 * Here M is the T-round subsampled Gaussian that the accountant charges (rounds always released) and M' the
 * mechanism that runs (a short round ends the job: no release of that round or any later one). A round is
 * short with probability η_t = P(Bin(N_t − 1, q) < m) at most, N_t the eligible count of round t: under the
 * zero-out neighbours Tessera's guarantee is stated for (docs/privacy-accounting.md) both neighbours have N_t
 * members and the chance is P(Bin(N_t, q) < m) ≤ η_t; N_t − 1 also covers a federation with one member fewer. The ledger therefore converts RDP at
 * δ_acc = (1 − f)·δ and admits a round only while (1 + e^{ε_budget})·Σ_t η_t ≤ f·δ, so that
 * δ_acc + (1 + e^ε)·Σ η_t ≤ δ for every ε the ledger can reach (ε ≤ ε_budget). f is the job's
 * `dp.underfillDeltaFraction`.
 *
 * Dropouts and declines that leave a round short are outside this bound: they are the clients' own actions,
 * not a function of another organisation's data (see docs/privacy-accounting.md); they also end the job.
 */
import { TesseraError } from '../../protocol/errors.ts';
import { logAddExp } from '../accountant/special.ts';

/** log C(n, k) by summing logs (exact enough for n ≤ 10^6; no gamma-function approximation involved). */
function logChoose(n: number, k: number): number {
  let s = 0;
  const kk = Math.min(k, n - k);
  for (let i = 1; i <= kk; i++) s += Math.log(n - kk + i) - Math.log(i);
  return s;
}

/** P(Bin(n, q) < m) = Σ_{k<m} C(n,k) q^k (1−q)^{n−k}, summed in log space (no underflow). */
export function binomialBelow(n: number, q: number, m: number): number {
  if (!Number.isInteger(n) || n < 0) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `population must be an integer ≥ 0, got ${n}`);
  if (!(q >= 0 && q <= 1)) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `sampling rate must be in [0, 1], got ${q}`);
  if (!Number.isInteger(m) || m < 0) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `minimum must be an integer ≥ 0, got ${m}`);
  if (m <= 0) return 0;
  if (m > n) return 1;
  if (q === 0) return 1;
  if (q === 1) return 0;
  const lq = Math.log(q);
  const l1q = Math.log1p(-q);
  let acc = -Infinity;
  for (let k = 0; k < m; k++) acc = logAddExp(acc, logChoose(n, k) + k * lq + (n - k) * l1q);
  return Math.min(1, Math.exp(acc));
}

/** η_t: probability that a round over `population` eligible organisations is short, under add/remove neighbours. */
export function underfillProbability({ population, samplingRate, minParticipants }: { population: number; samplingRate: number; minParticipants: number }): number {
  return binomialBelow(Math.max(0, population - 1), samplingRate, minParticipants);
}

/**
 * δ_acc = (1 − f)·δ: the δ at which a job's RDP is converted to ε, f·δ being the reserve for short rounds (the
 * lemma above). The ONE place this split is made: the ledger's charges (governance/ledger/store.ts), the client's
 * recomputation of a job's ε (client/policy/epsilon.ts) and `tessera privacy plan|epsilon` (cli/privacy.ts) all
 * call it, so a σ planned for (ε, δ) is exactly the σ the ledger and the clients find within ε (test/dp-plan-
 * agrees.test.ts). f = 0 is the bare accountant (no reserve).
 */
export function accountedDelta(delta: number, underfillDeltaFraction: number): number {
  if (!(delta > 0 && delta < 1)) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `delta must be in (0, 1), got ${delta}`);
  if (!(underfillDeltaFraction >= 0 && underfillDeltaFraction < 1)) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `the short-round share of delta must be in [0, 1), got ${underfillDeltaFraction}`);
  return delta * (1 - underfillDeltaFraction);
}

/** The δ the coupling lemma adds for a total under-fill probability η at ε: (1 + e^ε)·η. */
export function underfillDelta(eta: number, epsilon: number): number {
  return eta === 0 ? 0 : (1 + Math.exp(epsilon)) * eta;
}

/** The largest total under-fill probability Σ η_t a job may run up: f·δ / (1 + e^{ε_budget}). */
export function underfillAllowance({ delta, fraction, epsilonBudget }: { delta: number; fraction: number; epsilonBudget: number }): number {
  return (fraction * delta) / (1 + Math.exp(epsilonBudget));
}
