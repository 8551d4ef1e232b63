/**
 * The analytic Gaussian mechanism (B. Balle and Y.-X. Wang, "Improving the Gaussian Mechanism for
 * Differential Privacy: Analytical Calibration and Optimal Denoising", ICML 2018). For q = 1 (every
 * organisation takes part every round) this is the exact (ε, δ) curve of the Gaussian mechanism, tighter than
 * any RDP conversion.
 *
 * Theorem 8: f(x) + N(0, σ²I) with L2 sensitivity Δ is (ε, δ)-DP iff
 *     Φ(Δ/(2σ) − εσ/Δ) − e^ε Φ(−Δ/(2σ) − εσ/Δ) ≤ δ.
 * We use Δ = 1 and σ = the noise multiplier. δ(ε) is decreasing in ε, so the smallest ε is found by
 * bisection on ε, as dp_accounting `get_epsilon_gaussian` does.
 * T compositions of the Gaussian mechanism on the same sensitivity are exactly one Gaussian mechanism with
 * σ/√T, and rounds with different σ_r compose to σ = (Σ_r σ_r^{−2})^{−1/2} (Dong, Roth & Su 2019, "Gaussian
 * Differential Privacy", Corollary 3.3: μ-GDP composes as √(Σ μ_r²), and the Gaussian mechanism is 1/σ-GDP).
 */
import { TesseraError } from '../../protocol/errors.ts';
import { logNormalCdf } from './special.ts';

/** log δ(ε) from Theorem 8 with Δ = 1, computed as log[Φ(a)·(1 − e^{ε + log Φ(b) − log Φ(a)})] to avoid underflow. */
export function analyticGaussianLogDelta(epsilon: number, sigma: number): number {
  const l1 = logNormalCdf(1 / (2 * sigma) - epsilon * sigma);
  const l2 = epsilon + logNormalCdf(-1 / (2 * sigma) - epsilon * sigma);
  if (l2 >= l1) return -Infinity;
  return l1 + Math.log(-Math.expm1(l2 - l1));
}

export function analyticGaussianDelta(epsilon: number, sigma: number): number {
  return Math.exp(analyticGaussianLogDelta(epsilon, sigma));
}

/** σ of the single Gaussian mechanism equivalent to composing Gaussians with noise multipliers σ_r. */
export function composedGaussianSigma(sigmas: readonly number[]): number {
  let precision = 0;
  for (const s of sigmas) {
    if (!(s >= 0)) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `noise multiplier must be ≥ 0, got ${s}`);
    precision += 1 / (s * s);
  }
  return precision === 0 ? Infinity : 1 / Math.sqrt(precision);
}

export interface AnalyticGaussianOptions {
  /** Noise multiplier of one step. */
  sigma: number;
  delta: number;
  steps?: number;
  /** Absolute tolerance on ε of the bisection (dp_accounting's default for the reference vectors is 1e-12). */
  tolerance?: number;
}

/** Smallest ε (up to `tolerance`, rounded up) such that T steps of the Gaussian mechanism are (ε, δ)-DP. */
export function analyticGaussianEpsilon({ sigma, delta, steps = 1, tolerance = 1e-12 }: AnalyticGaussianOptions): number {
  if (!(delta > 0 && delta < 1)) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `delta must be in (0, 1), got ${delta}`);
  if (!(sigma >= 0)) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `noise multiplier must be ≥ 0, got ${sigma}`);
  if (!Number.isInteger(steps) || steps < 0) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `steps must be an integer ≥ 0, got ${steps}`);
  if (steps === 0) return 0;
  if (sigma === 0) return Infinity;
  const s = sigma / Math.sqrt(steps);
  const logDelta = Math.log(delta);
  const ok = (eps: number): boolean => analyticGaussianLogDelta(eps, s) <= logDelta;
  if (ok(0)) return 0;
  let lo = 0;
  let hi = 1;
  while (!ok(hi)) {
    lo = hi;
    hi *= 2;
    // δ(ε) ≥ δ for every ε up to 1e6: no finite ε worth reporting exists (vanishing noise); ∞ is the honest answer.
    if (hi > 1e6) return Infinity;
  }
  // Invariant: ok(hi) and !ok(lo). Returning hi never understates ε.
  while (hi - lo > tolerance) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    if (ok(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}
