/**
 * The two series for log A_α of the Poisson-subsampled Gaussian (Mironov, Talwar & Zhang 2019), see rdp.ts for
 * the definitions: the binomial sum for integer α and the sign-correct two-part series for fractional α,
 * both in log space, plus sound upper bounds for the rare parameters where the fractional series
 * converges too slowly to sum.
 */
import { SignedLogSum, logAddExp, logErfc } from './special.ts';

const STOP_LOG_TERM = -30;
/** Stop only once new terms are below e^{−25} ≈ 1.4e-11 of log A_α itself (≈ A_α − 1 when A_α ≈ 1). */
const STOP_RELATIVE = -25;
/**
 * The fractional series' tail decays only polynomially (~k^{−α−2}) when z0²/(2σ²) is small, i.e. q near 1/2
 * with large σ; past this many terms we return a sound upper bound instead (end of logAFractional).
 */
const MAX_FRACTIONAL_TERMS = 20_000;

/** log(e^x − 1) for x > 0 without overflow or cancellation. */
function logExpm1(x: number): number {
  return x > 30 ? x + Math.log1p(-Math.exp(-x)) : Math.log(Math.expm1(x));
}

/**
 * log A_α for integer α ≥ 2 (Mironov, Talwar & Zhang 2019). Since Σ_k C(α,k)(1−q)^{α−k}q^k = 1 and the k ∈ {0, 1} terms carry
 * exp(0), A_α − 1 = Σ_{k=2}^{α} C(α,k)(1−q)^{α−k}q^k·(exp((k² − k)/(2σ²)) − 1): a sum of positive terms,
 * computed in log space (max-shifted), then log A_α = log1p(A_α − 1). This keeps full relative precision
 * when A_α is close to 1 (small q, large σ), where summing A_α itself would cancel.
 */
export function logAInteger(q: number, sigma: number, alpha: number): number {
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

/**
 * Upper bound on log A_α for fractional α from its integer neighbours: log A_α = log E_{μ0}[(μ/μ0)^α] is convex
 * in α (a cumulant generating function; equivalently (α − 1)D_α is convex, van Erven & Harremoës 2014,
 * "Rényi Divergence and Kullback–Leibler Divergence", IEEE Trans. Inf. Theory, Thm. 11), so it lies below its
 * chord between ⌊α⌋ and ⌈α⌉ (log A_1 = 0). Sound — it can only overstate ε — and used only when the exact
 * series would need more than MAX_FRACTIONAL_TERMS terms.
 */
function chordBoundLogA(q: number, sigma: number, alpha: number): number {
  const lo = Math.floor(alpha);
  const hi = lo + 1;
  const logLo = lo === 1 ? 0 : logAInteger(q, sigma, lo);
  const logHi = logAInteger(q, sigma, hi);
  return (hi - alpha) * logLo + (alpha - lo) * logHi;
}

/** log A_α for fractional α > 1 (Mironov, Talwar & Zhang 2019), the two sign-correct series in log space. */
export function logAFractional(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const z0 = sigma * sigma * (log1mQ - logQ) + 0.5;
  const scale = Math.SQRT2 * sigma;
  const a0 = new SignedLogSum();
  const a1 = new SignedLogSum();
  let logAbsCoef = 0; // log|C(α, 0)|
  let coefSign = 1;
  let lastTerm = -Infinity; // log|t_k| of the last term, t_k = sign·(s0 + s1)
  let tailDecreasing = false;
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
    const term = logAddExp(logS0, logS1);
    tailDecreasing = term < lastTerm;
    lastTerm = term;
    const largest = Math.max(logS0, logS1);
    if (largest < STOP_LOG_TERM) {
      const total = new SignedLogSum();
      total.add(a0.signum, a0.log);
      total.add(a1.signum, a1.log);
      if (total.signum <= 0) break; // cannot happen for an integral of a positive function unless rounding ate it
      const logA = total.log;
      if (logA <= 0 || largest < Math.log(logA) + STOP_RELATIVE) return logA;
    }
  }
  // Too slow to converge (q near 1/2 with large σ) or lost to rounding. Past k > α + 1 the terms alternate in
  // sign; when their magnitude is still decreasing, the limit lies between the last two partial sums, so
  // S_N + |t_N| bounds it from above (Leibniz). The convexity chord is another upper bound: take the smaller.
  const chord = chordBoundLogA(q, sigma, alpha);
  const partial = new SignedLogSum();
  partial.add(a0.signum, a0.log);
  partial.add(a1.signum, a1.log);
  if (tailDecreasing && partial.signum > 0) return Math.min(chord, logAddExp(partial.log, lastTerm));
  return chord;
}

