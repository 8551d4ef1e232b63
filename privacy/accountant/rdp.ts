/**
 * Rényi DP of the Poisson-subsampled Gaussian mechanism (the "Sampled Gaussian Mechanism"): each record
 * (here: each organisation) is included independently with probability q and the sum of included
 * contributions, each of L2 sensitivity 1, is released with N(0, σ²) noise per coordinate.
 *
 * Reference: I. Mironov, K. Talwar, L. Zhang, "Rényi Differential Privacy of the Sampled Gaussian
 * Mechanism", arXiv:1908.10530 (2019). With μ0 = N(0, σ²), μ1 = N(1, σ²) and μ = (1 − q)μ0 + qμ1, the RDP at
 * order α is ε(α) = log(A_α)/(α − 1) with A_α = E_{z∼μ0}[(μ(z)/μ0(z))^α] (§3, Theorem 4 for the bound
 * D_α(μ‖μ0) ≥ D_α(μ0‖μ), so this direction is the one to compute).
 *  - integer α (§3.2): A_α = Σ_{k=0}^{α} C(α,k)(1−q)^{α−k} q^k exp((k² − k)/(2σ²)), summed in log space
 *    (as A_α − 1, see logAInteger);
 *  - fractional α (§3.3): split the integral at z0 = σ² log(1/q − 1) + 1/2 and expand each half by the
 *    generalised binomial series, A_α = A_α,1 + A_α,2 with
 *      A_α,1 = Σ_k C(α,k) q^k (1−q)^{α−k} exp((k² − k)/(2σ²)) · ½ erfc((k − z0)/(√2σ))
 *      A_α,2 = Σ_k C(α,k) q^{α−k} (1−q)^k exp(((α−k)² − (α−k))/(2σ²)) · ½ erfc((z0 − (α−k))/(√2σ)).
 *    C(α,k) changes sign for k > α + 1: terms are added or subtracted by the SIGN OF C(α,k), as in the
 *    original tensorflow/privacy `_compute_log_a_frac`. (dp_accounting releases after April 2024 get this
 *    sign handling wrong and overstate fractional orders by up to ~2%; see the note in
 *    ../shared/vectors/dp-epsilon-reference.json. Do not "simplify" the sign away.)
 *    The series stops once both new terms are below e^{−30} (the reference's criterion) AND below e^{−25}·log A_α
 *    (so that a small RDP value keeps ~11 correct digits); the tail alternates with terms eventually
 *    decreasing, so the truncation error is below the first omitted term.
 * Composition over T steps adds RDP (Mironov 2017, "Rényi Differential Privacy", CSF, Prop. 1).
 */
import { TesseraError } from '../../protocol/errors.ts';
import { SignedLogSum, logErfc } from './special.ts';

/** {1.1, 1.2, …, 10.9} ∪ {11, …, 63} ∪ {128, 256, 512, 1024}; the fractional ones built as 1 + k/10 exactly as
 *  tensorflow/privacy builds them (`1 + x / 10.0`), so orders compare equal across implementations. */
export const DEFAULT_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, k) => 1 + (k + 1) / 10),
  ...Array.from({ length: 53 }, (_, k) => 11 + k),
  128,
  256,
  512,
  1024,
]);

const STOP_LOG_TERM = -30;
/** Stop only once new terms are below e^{−25} ≈ 1.4e-11 of log A_α itself (≈ A_α − 1 when A_α ≈ 1). */
const STOP_RELATIVE = -25;
const MAX_FRACTIONAL_TERMS = 1_000_000;

/** log(e^x − 1) for x > 0 without overflow or cancellation. */
function logExpm1(x: number): number {
  return x > 30 ? x + Math.log1p(-Math.exp(-x)) : Math.log(Math.expm1(x));
}

/**
 * log A_α for integer α ≥ 2 (MTZ 2019 §3.2). Since Σ_k C(α,k)(1−q)^{α−k}q^k = 1 and the k ∈ {0, 1} terms carry
 * exp(0), A_α − 1 = Σ_{k=2}^{α} C(α,k)(1−q)^{α−k}q^k·(exp((k² − k)/(2σ²)) − 1): a sum of positive terms,
 * computed in log space (max-shifted), then log A_α = log1p(A_α − 1). This keeps full relative precision
 * when A_α is close to 1 (small q, large σ), where summing A_α itself would cancel.
 */
function logAInteger(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const terms = new Float64Array(alpha + 1).fill(-Infinity);
  let logCoef = Math.log(alpha); // log C(α, 1)
  let max = -Infinity;
  for (let k = 2; k <= alpha; k++) {
    logCoef += Math.log(alpha - k + 1) - Math.log(k);
    const t = logCoef + k * logQ + (alpha - k) * log1mQ + logExpm1((k * k - k) / (2 * sigma * sigma));
    terms[k] = t;
    if (t > max) max = t;
  }
  let sum = 0;
  for (let k = 2; k <= alpha; k++) sum += Math.exp((terms[k] as number) - max);
  const logAm1 = max + Math.log(sum);
  // log A = log(1 + e^{logAm1}).
  return logAm1 > 0 ? logAm1 + Math.log1p(Math.exp(-logAm1)) : Math.log1p(Math.exp(logAm1));
}

/** log A_α for fractional α > 1 (MTZ 2019 §3.3), the two sign-correct series in log space. */
function logAFractional(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const z0 = sigma * sigma * (log1mQ - logQ) + 0.5;
  const scale = Math.SQRT2 * sigma;
  const a0 = new SignedLogSum();
  const a1 = new SignedLogSum();
  let logAbsCoef = 0; // log|C(α, 0)|
  let coefSign = 1;
  for (let k = 0; k < MAX_FRACTIONAL_TERMS; k++) {
    if (k > 0) {
      // C(α,k) = C(α,k−1)·(α − k + 1)/k: the factor is negative once k > α + 1.
      const f = alpha - k + 1;
      logAbsCoef += Math.log(Math.abs(f)) - Math.log(k);
      if (f < 0) coefSign = -coefSign;
    }
    const j = alpha - k;
    const logT0 = logAbsCoef + k * logQ + j * log1mQ;
    const logT1 = logAbsCoef + j * logQ + k * log1mQ;
    const logE0 = logErfc((k - z0) / scale) - Math.LN2;
    const logE1 = logErfc((z0 - j) / scale) - Math.LN2;
    const logS0 = logT0 + (k * k - k) / (2 * sigma * sigma) + logE0;
    const logS1 = logT1 + (j * j - j) / (2 * sigma * sigma) + logE1;
    a0.add(coefSign, logS0);
    a1.add(coefSign, logS1);
    const largest = Math.max(logS0, logS1);
    if (largest < STOP_LOG_TERM) {
      const total = new SignedLogSum();
      total.add(a0.signum, a0.log);
      total.add(a1.signum, a1.log);
      if (total.signum <= 0) break;
      const logA = total.log;
      if (logA <= 0 || largest < Math.log(logA) + STOP_RELATIVE) return logA;
    }
  }
  throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `RDP series did not converge for q=${q}, sigma=${sigma}, order=${alpha}`, {
    details: { q, sigma, order: alpha },
  });
}

/** RDP ε(α) of ONE step of the Poisson-subsampled Gaussian mechanism with sensitivity 1 and noise multiplier σ. */
export function rdpSubsampledGaussian(q: number, sigma: number, order: number): number {
  if (!(q >= 0 && q <= 1)) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `sampling rate must be in [0, 1], got ${q}`);
  if (!(sigma >= 0)) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `noise multiplier must be ≥ 0, got ${sigma}`);
  if (!(order > 1) || !Number.isFinite(order)) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `RDP order must be a finite number > 1, got ${order}`);
  if (q === 0) return 0;
  if (sigma === 0) return Infinity;
  // q = 1: the plain Gaussian mechanism, ε(α) = α/(2σ²) (Mironov 2017, Prop. 7).
  if (q === 1) return order / (2 * sigma * sigma);
  const logA = Number.isInteger(order) ? logAInteger(q, sigma, order) : logAFractional(q, sigma, order);
  // A_α ≥ 1 mathematically; clamp the last-ulp rounding so RDP is never reported negative.
  return Math.max(0, logA) / (order - 1);
}

export interface ComputeRdpOptions {
  /** Poisson sampling rate q ∈ [0, 1]. */
  q: number;
  /** Noise multiplier σ: noise std / L2 sensitivity. */
  sigma: number;
  /** Number of composed steps (rounds), an integer ≥ 0. */
  steps: number;
  orders?: readonly number[];
}

/** RDP of `steps` compositions of the subsampled Gaussian, one value per order (Mironov 2017, Prop. 1). */
export function computeRdp({ q, sigma, steps, orders = DEFAULT_ORDERS }: ComputeRdpOptions): Float64Array {
  if (!Number.isInteger(steps) || steps < 0) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `steps must be an integer ≥ 0, got ${steps}`);
  const out = new Float64Array(orders.length);
  if (steps === 0) return out;
  orders.forEach((a, i) => {
    out[i] = rdpSubsampledGaussian(q, sigma, a) * steps;
  });
  return out;
}
