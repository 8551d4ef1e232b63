/**
 * The hypergeometric distribution in log space, for the SecAgg+ parameter finder: the number of marked
 * clients (corrupt, or surviving) among the k neighbours a random graph gives a client is
 * Hypergeometric(N = population, K = marked, k = draws) (Bell et al., CCS 2020 §4, the random-permutation
 * Harary graph makes each neighbourhood a uniform k-subset of the other clients).
 */

const SMALL = 1024;
const LOG_FACTORIAL_TABLE = (() => {
  const t = new Float64Array(SMALL);
  for (let i = 2; i < SMALL; i++) t[i] = (t[i - 1] as number) + Math.log(i);
  return t;
})();

/**
 * ln(n!) — exact summation below 1024, Stirling's series above (truncation error below 1/(1260 n^5) < 1e-18,
 * far under double precision; Abramowitz & Stegun 6.1.41).
 */
export function logFactorial(n: number): number {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`logFactorial: ${n} is not a non-negative integer`);
  if (n < SMALL) return LOG_FACTORIAL_TABLE[n] as number;
  const inv = 1 / n;
  const inv2 = inv * inv;
  return n * Math.log(n) - n + 0.5 * Math.log(2 * Math.PI * n) + inv * (1 / 12 - inv2 * (1 / 360 - inv2 / 1260));
}

/** ln C(n, k); −∞ outside 0 ≤ k ≤ n. */
export function logChoose(n: number, k: number): number {
  if (k < 0 || k > n) return -Infinity;
  return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
}

export interface Hypergeometric {
  readonly population: number;
  readonly marked: number;
  readonly draws: number;
}

/** P(X = x). */
export function hypergeometricPmf(h: Hypergeometric, x: number): number {
  const { population: N, marked: K, draws: k } = h;
  return Math.exp(logChoose(K, x) + logChoose(N - K, k - x) - logChoose(N, k));
}

function support(h: Hypergeometric): [number, number] {
  return [Math.max(0, h.draws - (h.population - h.marked)), Math.min(h.draws, h.marked)];
}

/** The smallest t with P(X > t) ≤ eps (an upper quantile, summed from the top so tiny tails stay accurate). */
export function upperQuantile(h: Hypergeometric, eps: number): number {
  const [lo, hi] = support(h);
  let tail = 0;
  for (let t = hi; t > lo; t--) {
    // tail = P(X > t); moving to t − 1 adds P(X = t).
    const next = tail + hypergeometricPmf(h, t);
    if (next > eps) return t;
    tail = next;
  }
  return lo;
}

/** The largest t with P(X < t) ≤ eps (a lower quantile, summed from the bottom). */
export function lowerQuantile(h: Hypergeometric, eps: number): number {
  const [lo, hi] = support(h);
  let head = 0;
  for (let t = lo; t < hi; t++) {
    // head = P(X < t); moving to t + 1 adds P(X = t).
    const next = head + hypergeometricPmf(h, t);
    if (next > eps) return t;
    head = next;
  }
  return hi;
}
