/**
 * Special functions the accountant needs, in float64 and in log space so that nothing underflows:
 * log erfc(x) for every real x, log Φ(x) (the standard normal CDF), and log-space addition of signed terms.
 *
 * erfc is computed from the incomplete gamma function, erfc(x) = Γ(1/2, x²)/√π for x ≥ 0 (Abramowitz &
 * Stegun 6.5.17 with 7.1.2): for x² < 1.5 by the power series of γ(1/2, x²) (A&S 6.5.29, equivalently the
 * all-positive erf series A&S 7.1.6), for x² ≥ 1.5 by the continued fraction of Γ(1/2, x²) (A&S 6.5.31)
 * evaluated with the modified Lentz method (Press et al., Numerical Recipes 3rd ed., §5.2 and §6.2). Both
 * branches are summed to full double precision; no fitted coefficients are involved, so the accuracy rests on
 * the series themselves (checked against 50-digit mpmath values in special.test.ts).
 */

const LOG_SQRT_PI = 0.5 * Math.log(Math.PI);
const LN2 = Math.LN2;
const EPS = 2.220446049250313e-16;
const TINY = 1e-300;
const MAX_ITERATIONS = 10_000;

/** log erf(x)-free route for small |x|: erf(x) = (2x/√π)·e^{−x²}·Σ_n (2x²)^n / (1·3·…·(2n+1)) (A&S 7.1.6). */
function erfSeries(x: number): number {
  const twoX2 = 2 * x * x;
  let term = 1;
  let sum = 1;
  for (let n = 1; n < MAX_ITERATIONS; n++) {
    term *= twoX2 / (2 * n + 1);
    sum += term;
    if (term < sum * EPS * 0.25) break;
  }
  return ((2 * x) / Math.sqrt(Math.PI)) * Math.exp(-x * x) * sum;
}

/**
 * log of the continued fraction h with Γ(1/2, X) = e^{−X}·X^{1/2}·h (A&S 6.5.31), modified Lentz
 * (Numerical Recipes §5.2): b₀ = X + 1 − a, a_i = −i(i − a), b_i = b_{i−1} + 2, with a = 1/2.
 */
function logGammaCfTail(X: number): number {
  const a = 0.5;
  let b = X + 1 - a;
  let c = 1 / TINY;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < MAX_ITERATIONS; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < TINY) d = TINY;
    c = b + an / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < EPS) return Math.log(h);
  }
  throw new RangeError(`logErfc: continued fraction did not converge for x² = ${X}`);
}

/** log erfc(x) for x ≥ 0. */
function logErfcNonNegative(x: number): number {
  if (x === Infinity) return -Infinity;
  const X = x * x;
  if (X < 1.5) return Math.log1p(-erfSeries(x));
  // erfc(x) = Γ(1/2, x²)/Γ(1/2) = e^{−x²}·x·h/√π.
  return -X + Math.log(x) + logGammaCfTail(X) - LOG_SQRT_PI;
}

/** log erfc(x) for every real x, without underflow (erfc(x) ≈ e^{−x²}/(x√π) is below 1e-308 for x > 26.5). */
export function logErfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x >= 0) return logErfcNonNegative(x);
  // erfc(−y) = 1 + erf(y) = 2 − erfc(y) (A&S 7.1.9 with 7.1.2); the first form keeps small |x| exact.
  const y = -x;
  if (y * y < 1.5) return Math.log1p(erfSeries(y));
  return LN2 + Math.log1p(-Math.exp(logErfcNonNegative(y)) / 2);
}

/** erfc(x) (underflows to 0 for x > 26.5; use logErfc there). */
export function erfc(x: number): number {
  return Math.exp(logErfc(x));
}

/** log Φ(t), Φ the standard normal CDF: Φ(t) = erfc(−t/√2)/2 (A&S 26.2.29). */
export function logNormalCdf(t: number): number {
  if (t <= 0) return logErfc(-t / Math.SQRT2) - LN2;
  // Φ(t) = 1 − erfc(t/√2)/2: log1p keeps the small log of a number near 1 exact.
  return Math.log1p(-Math.exp(logErfc(t / Math.SQRT2)) / 2);
}

/** log(e^a + e^b) without overflow. */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const hi = Math.max(a, b);
  const lo = Math.min(a, b);
  return hi + Math.log1p(Math.exp(lo - hi));
}

/**
 * A running sum of signed terms given by (sign, log|term|), kept as (sign, log|sum|). Used by the fractional-
 * order series whose binomial coefficients change sign (Mironov, Talwar & Zhang 2019).
 */
export class SignedLogSum {
  private sign = 0;
  private logAbs = -Infinity;

  add(termSign: number, logAbsTerm: number): void {
    if (termSign === 0 || logAbsTerm === -Infinity) return;
    if (this.sign === 0) {
      this.sign = termSign > 0 ? 1 : -1;
      this.logAbs = logAbsTerm;
      return;
    }
    if ((termSign > 0 ? 1 : -1) === this.sign) {
      this.logAbs = logAddExp(this.logAbs, logAbsTerm);
      return;
    }
    // Opposite signs: the larger magnitude keeps its sign; log(e^hi − e^lo) = hi + log1p(−e^{lo−hi}).
    if (logAbsTerm === this.logAbs) {
      this.sign = 0;
      this.logAbs = -Infinity;
    } else if (logAbsTerm > this.logAbs) {
      this.logAbs = logAbsTerm + Math.log1p(-Math.exp(this.logAbs - logAbsTerm));
      this.sign = -this.sign;
    } else {
      this.logAbs = this.logAbs + Math.log1p(-Math.exp(logAbsTerm - this.logAbs));
    }
  }

  /** Sign of the sum: 1, −1 or 0. */
  get signum(): number {
    return this.sign;
  }

  /** log|sum| (−Infinity for a zero sum). */
  get log(): number {
    return this.logAbs;
  }
}
