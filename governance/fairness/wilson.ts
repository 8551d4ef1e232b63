/**
 * Wilson score interval for a binomial proportion (E. B. Wilson, "Probable inference, the law of succession,
 * and statistical inference", JASA 22(158):209–212, 1927). Unlike the Wald interval p̂ ± z·√(p̂(1−p̂)/n) it
 * stays inside [0, 1] and does not collapse to a point at p̂ = 0 or 1, which matters for small subgroups;
 * Newcombe (Statistics in Medicine 17:857–872, 1998) recommends it among seven methods.
 *
 *   centre    = (p̂ + z²/(2n)) / (1 + z²/n)
 *   halfWidth = z / (1 + z²/n) · √( p̂(1−p̂)/n + z²/(4n²) )
 */

/** z for a two-sided 95 % interval: Φ⁻¹(0.975). */
export const Z_95 = 1.959963984540054;

export interface WilsonOptions {
  successes: number;
  trials: number;
  /** Standard-normal quantile; default Z_95. */
  z?: number;
}

/** [lower, upper], or null when there are no trials (the proportion is undefined). */
export function wilsonInterval({ successes, trials, z = Z_95 }: WilsonOptions): readonly [number, number] | null {
  if (!Number.isInteger(trials) || trials < 0 || !Number.isInteger(successes) || successes < 0 || successes > trials) {
    throw new RangeError(`wilsonInterval: need integers 0 ≤ successes ≤ trials, got ${successes}/${trials}`);
  }
  if (trials === 0) return null;
  const n = trials;
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // Clamp only floating-point overshoot; mathematically the interval lies in [0, 1] and contains p̂.
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}
