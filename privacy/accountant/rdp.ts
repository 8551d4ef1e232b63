/**
 * Rényi DP of the Poisson-subsampled Gaussian mechanism (the "Sampled Gaussian Mechanism"): each record
 * (here: each organisation) is included independently with probability q and the sum of included
 * contributions, each of L2 sensitivity 1, is released with N(0, σ²) noise per coordinate.
 *
 * Reference: I. Mironov, K. Talwar, L. Zhang, "Rényi Differential Privacy of the Sampled Gaussian
 * Mechanism", arXiv:1908.10530 (2019). With μ0 = N(0, σ²), μ1 = N(1, σ²) and μ = (1 − q)μ0 + qμ1, the RDP at
 * order α is ε(α) = log(A_α)/(α − 1) with A_α = E_{z∼μ0}[(μ(z)/μ0(z))^α] (the paper shows this
 * direction dominates the reverse one, D_α(μ‖μ0) ≥ D_α(μ0‖μ), so it is the one to compute).
 *  - integer α (binomial expansion): A_α = Σ_{k=0}^{α} C(α,k)(1−q)^{α−k} q^k exp((k² − k)/(2σ²)), summed in log space
 *    (as A_α − 1, see logAInteger);
 *  - fractional α (the paper's numerically stable two-series computation): split the integral at z0 = σ² log(1/q − 1) + 1/2 and expand each half by the
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
import { logAFractional, logAInteger } from './rdp-series.ts';

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

/**
 * Orders beyond 1024, tried only when the best default order is the largest one (very large σ, where the
 * optimal order grows like σ·√(2 log(1/δ))/q and stopping at 1024 overstates ε by orders of magnitude: q = 0.01,
 * σ = 100 gives 0.0035 at 1024 against ≈ 9e-5 at α ≈ 3·10^4). Any set of orders gives a valid bound (the
 * conversion holds at every order, Mironov 2017 Prop. 3 / Canonne et al. 2020 Prop. 12); adding orders can only
 * lower the minimum. Kept apart from DEFAULT_ORDERS so the published reference vectors, whose optimum lies well
 * inside the default grid, reproduce exactly.
 */
export const EXTENDED_ORDERS: readonly number[] = Object.freeze(Array.from({ length: 20 }, (_, i) => Math.round(2 ** (10.5 + i / 2))));

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
