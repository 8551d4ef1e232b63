/**
 * Pure statistics behind data contracts: quantiles, histograms on reference bins, the Population Stability
 * Index and the two-sample Kolmogorov–Smirnov statistic. No I/O, no randomness.
 */

/** Ascending copy of the finite values. */
export function sortedFinite(values: Iterable<number>): Float64Array {
  const out: number[] = [];
  for (const v of values) if (Number.isFinite(v)) out.push(v);
  return Float64Array.from(out).sort();
}

/**
 * Sample quantile of ascending `sorted` at probability p, Hyndman & Fan (1996) definition 7 (linear
 * interpolation between order statistics; the default of R and NumPy). Used for quartiles.
 */
export function quantileType7(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const a = sorted[lo] ?? Number.NaN;
  const b = sorted[Math.min(lo + 1, n - 1)] ?? a;
  return a + (h - lo) * (b - a);
}

/**
 * Hyndman & Fan (1996) definition 1: the inverse of the empirical CDF, the smallest observed x with
 * F(x) ≥ p. Always an observed value, which keeps bin edges meaningful for discrete data (ages, counts).
 */
export function quantileType1(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  const k = Math.max(1, Math.ceil(n * p - 1e-12));
  return sorted[Math.min(k, n) - 1] ?? Number.NaN;
}

/** Number of entries of ascending `sorted` that are ≤ x (binary search). */
export function countAtMost(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? Number.POSITIVE_INFINITY) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Empirical CDF of ascending `sorted` at each point: share of values ≤ point. */
export function ecdfAt(sorted: ArrayLike<number>, points: readonly number[]): number[] {
  const n = sorted.length;
  return points.map((t) => (n === 0 ? 0 : countAtMost(sorted, t) / n));
}

/**
 * Shares of ascending `sorted` in the bins (−∞, e1], (e1, e2], …, (ek, ∞) defined by ascending `edges`.
 * The "≤ edge" convention matches `ecdfAt`, so histogram and CDF describe the same bins.
 */
export function binShares(sorted: ArrayLike<number>, edges: readonly number[]): number[] {
  const n = sorted.length;
  const out: number[] = [];
  let below = 0;
  for (const e of edges) {
    const c = countAtMost(sorted, e);
    out.push(n === 0 ? 0 : (c - below) / n);
    below = c;
  }
  out.push(n === 0 ? 0 : (n - below) / n);
  return out;
}

/** Floor applied to empty bins so that PSI stays finite (a common choice; the ln term needs a > 0, e > 0). */
export const PSI_EPSILON = 1e-4;

/**
 * Population Stability Index of `actual` shares against `expected` (reference) shares over the same bins:
 *   PSI = Σᵢ (aᵢ − eᵢ) · ln(aᵢ / eᵢ),
 * the symmetrised Kullback–Leibler divergence J(a, e) = KL(a‖e) + KL(e‖a) (Jeffreys 1946), as used in credit
 * scoring (Siddiqi 2006, "Credit Risk Scorecards", ch. 8; Yurdakul 2018, "Statistical properties of
 * population stability index", Western Michigan University). Rule of thumb: < 0.1 stable, 0.1–0.25 some
 * shift, > 0.25 significant shift. Shares below `epsilon` are raised to `epsilon`.
 */
export function psi(options: { actual: readonly number[]; expected: readonly number[]; epsilon?: number }): number {
  const { actual, expected } = options;
  const eps = options.epsilon ?? PSI_EPSILON;
  if (actual.length !== expected.length) throw new RangeError(`psi: ${actual.length} actual bins but ${expected.length} expected bins`);
  let sum = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = Math.max(actual[i] ?? 0, eps);
    const e = Math.max(expected[i] ?? 0, eps);
    sum += (a - e) * Math.log(a / e);
  }
  return sum;
}

/**
 * Two-sample Kolmogorov–Smirnov statistic D = supₓ |F₁(x) − F₂(x)| between two samples (Smirnov 1939).
 * The supremum of two step functions is attained at an observed value, so checking every value is exact.
 */
export function ksTwoSample(a: Iterable<number>, b: Iterable<number>): number {
  const x = sortedFinite(a);
  const y = sortedFinite(b);
  if (x.length === 0 || y.length === 0) return Number.NaN;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < x.length && j < y.length) {
    const t = Math.min(x[i] ?? Infinity, y[j] ?? Infinity);
    while (i < x.length && (x[i] ?? Infinity) <= t) i++;
    while (j < y.length && (y[j] ?? Infinity) <= t) j++;
    d = Math.max(d, Math.abs(i / x.length - j / y.length));
  }
  return d;
}

/** Number of entries of ascending `sorted` that are < x (binary search). */
export function countBelow(sorted: ArrayLike<number>, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((sorted[mid] ?? Number.POSITIVE_INFINITY) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * KS statistic of a sample against a reference known through its CDF at `points`
 * (`cumulative[i]` = reference share ≤ points[i]).
 * - `complete`: the points are every distinct reference value, so the reference CDF is the step function
 *   through them and known everywhere. On [pᵢ, pᵢ₊₁) it equals cumulative[i] while the sample CDF rises from
 *   F(pᵢ) to F(pᵢ₊₁−), so checking both ends of every step (and below p₀) gives the two-sample D exactly.
 * - otherwise (quantile points): D is evaluated at the points only, where the reference CDF is exact; this
 *   is a lower bound of the two-sample D and never overstates drift.
 */
export function ksAgainstCdf(options: { sorted: ArrayLike<number>; points: readonly number[]; cumulative: readonly number[]; complete?: boolean }): number {
  const { sorted, points, cumulative } = options;
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  let d = 0;
  points.forEach((p, i) => {
    d = Math.max(d, Math.abs(countAtMost(sorted, p) / n - (cumulative[i] ?? 0)));
    // Just below p the reference CDF is still that of the previous step (0 below the first point).
    if (options.complete) d = Math.max(d, Math.abs(countBelow(sorted, p) / n - (i === 0 ? 0 : (cumulative[i - 1] ?? 0))));
  });
  // Above the last point the reference CDF is 1 (when complete) and the sample's reaches 1.
  if (options.complete) d = Math.max(d, Math.abs(1 - (cumulative[cumulative.length - 1] ?? 1)));
  return d;
}

/**
 * c(α) = √(−½ · ln(α/2)), the asymptotic critical coefficient of the two-sample KS test: reject "same
 * distribution" at level α when D > c(α) · √((n + m) / (n · m)) (Smirnov 1948; e.g. c(0.05) ≈ 1.358).
 */
export function ksCoefficient(alpha: number): number {
  return Math.sqrt(-0.5 * Math.log(alpha / 2));
}

export function ksCriticalValue(options: { alpha: number; n: number; m: number }): number {
  const { alpha, n, m } = options;
  return ksCoefficient(alpha) * Math.sqrt((n + m) / (n * m));
}

/** Mean and sample standard deviation (n − 1 denominator; 0 for fewer than two values). */
export function meanStd(values: ArrayLike<number>): { mean: number; std: number } {
  const n = values.length;
  if (n === 0) return { mean: Number.NaN, std: Number.NaN };
  let mean = 0;
  // Welford's online update: numerically stable for large sums (Welford 1962).
  let m2 = 0;
  for (let i = 0; i < n; i++) {
    const x = values[i] ?? 0;
    const delta = x - mean;
    mean += delta / (i + 1);
    m2 += delta * (x - mean);
  }
  return { mean, std: n > 1 ? Math.sqrt(m2 / (n - 1)) : 0 };
}

/** Tukey's fences [Q1 − k·IQR, Q3 + k·IQR] (Tukey 1977, Exploratory Data Analysis, §2). */
export function tukeyFences(quartiles: readonly [number, number, number], k: number): { low: number; high: number } {
  const [q1, , q3] = quartiles;
  const iqr = q3 - q1;
  return { low: q1 - k * iqr, high: q3 + k * iqr };
}

/** Number of values strictly outside [low, high]. */
export function countOutside(values: ArrayLike<number>, fences: { low: number; high: number }): number {
  let c = 0;
  for (let i = 0; i < values.length; i++) {
    const x = values[i] ?? 0;
    if (x < fences.low || x > fences.high) c++;
  }
  return c;
}

/** Rounds to `digits` decimals (for readable stored statistics). */
export function roundTo(x: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
