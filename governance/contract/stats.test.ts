import { describe, expect, it } from 'vitest';
import { binShares, ecdfAt, ksAgainstCdf, ksCoefficient, ksCriticalValue, ksTwoSample, meanStd, psi, quantileType1, quantileType7, sortedFinite, tukeyFences } from './stats.ts';

describe('psi', () => {
  it('matches the sum worked by hand for four bins', () => {
    // expected 25% per bin, actual 10/20/30/40%:
    //   (0.10 − 0.25)·ln(0.10/0.25) = (−0.15)(−0.916291) = 0.137444
    //   (0.20 − 0.25)·ln(0.20/0.25) = (−0.05)(−0.223144) = 0.011157
    //   (0.30 − 0.25)·ln(0.30/0.25) = ( 0.05)( 0.182322) = 0.009116
    //   (0.40 − 0.25)·ln(0.40/0.25) = ( 0.15)( 0.470004) = 0.070501
    //   PSI = 0.228218
    expect(psi({ actual: [0.1, 0.2, 0.3, 0.4], expected: [0.25, 0.25, 0.25, 0.25] })).toBeCloseTo(0.228218, 5);
  });

  it('is zero for identical shares, symmetric, and finite for an empty bin (floored at epsilon)', () => {
    expect(psi({ actual: [0.5, 0.5], expected: [0.5, 0.5] })).toBe(0);
    const a = [0.7, 0.2, 0.1];
    const e = [0.3, 0.3, 0.4];
    expect(psi({ actual: a, expected: e })).toBeCloseTo(psi({ actual: e, expected: a }), 12);
    // Empty actual bin: (1e-4 − 0.5)·ln(1e-4/0.5) + (1 − 0.5)·ln(1/0.5) = 0.4999·8.517193 + 0.5·0.693147 = 4.257745 + 0.346574 = 4.604318
    expect(psi({ actual: [0, 1], expected: [0.5, 0.5] })).toBeCloseTo(0.4999 * Math.log(0.5 / 1e-4) + 0.5 * Math.log(2), 9);
    expect(psi({ actual: [0, 1], expected: [0.5, 0.5] })).toBeCloseTo(4.604318, 5);
  });
});

describe('Kolmogorov–Smirnov', () => {
  it('two-sample D matches the supremum found by hand', () => {
    // x = 1..5, y = 3..10. F_x − F_y at t = 2: 2/5 − 0 = 0.4; t = 3: 3/5 − 1/8 = 0.475; t = 4: 4/5 − 2/8 = 0.55;
    // t = 5: 1 − 3/8 = 0.625 (the maximum); afterwards F_x = 1 and F_y grows.
    expect(ksTwoSample([1, 2, 3, 4, 5], [3, 4, 5, 6, 7, 8, 9, 10])).toBeCloseTo(0.625, 12);
    expect(ksTwoSample([1, 2, 3], [1, 2, 3])).toBe(0);
    expect(ksTwoSample([1, 2], [3, 4])).toBe(1);
    // Ties across samples: x = {1,1,2}, y = {1,2,2}: at t = 1, 2/3 − 1/3 = 1/3; at t = 2 both are 1.
    expect(ksTwoSample([1, 1, 2], [1, 2, 2])).toBeCloseTo(1 / 3, 12);
  });

  it('against a complete reference CDF (every distinct reference value) equals the two-sample D', () => {
    const ref = sortedFinite([3, 4, 5, 6, 7, 8, 9, 10, 4, 6, 6]);
    const points = [...new Set(ref)];
    const cumulative = ecdfAt(ref, points);
    for (const sample of [
      [1, 2, 3, 4, 5],
      [6, 6, 6, 7],
      [3.5, 9.5, 11, 12, 4],
    ]) {
      expect(ksAgainstCdf({ sorted: sortedFinite(sample), points, cumulative, complete: true })).toBeCloseTo(ksTwoSample(sample, ref), 12);
      // At the points only, it is a lower bound.
      expect(ksAgainstCdf({ sorted: sortedFinite(sample), points, cumulative })).toBeLessThanOrEqual(ksTwoSample(sample, ref) + 1e-12);
    }
    // One sample value, 3.5, between the reference values 3 and 4 (reference: 3, 4, 4, 5, 6, 6, 6, 7, 8, 9, 10):
    // just below 4 the sample CDF is 1 and the reference's is still F(3) = 1/11, so D = 10/11. At the points
    // alone the largest gap is at t = 4: 1 − 3/11 = 8/11; the left limits of the complete CDF recover 10/11.
    const one = sortedFinite([3.5]);
    expect(ksTwoSample([3.5], ref)).toBeCloseTo(10 / 11, 12);
    expect(ksAgainstCdf({ sorted: one, points, cumulative, complete: true })).toBeCloseTo(10 / 11, 12);
    expect(ksAgainstCdf({ sorted: one, points, cumulative })).toBeCloseTo(8 / 11, 12);
  });

  it('critical coefficients c(α) = √(−½ ln(α/2)) match the published table', () => {
    // Table of c(α) for the two-sample test, e.g. Wikipedia "Kolmogorov–Smirnov test", section "Two-sample
    // Kolmogorov–Smirnov test" (from Smirnov 1948): α 0.10 → 1.224 (printed 1.22), 0.05 → 1.358, 0.025 → 1.480,
    // 0.01 → 1.628, 0.005 → 1.731, 0.001 → 1.949.
    const table: [number, number][] = [
      [0.1, 1.224],
      [0.05, 1.358],
      [0.025, 1.48],
      [0.01, 1.628],
      [0.005, 1.731],
      [0.001, 1.949],
    ];
    for (const [alpha, c] of table) expect(ksCoefficient(alpha)).toBeCloseTo(c, 3);
    // n = m = 100 at α = 0.05: 1.358 · √(200 / 10000) = 0.19206.
    expect(ksCriticalValue({ alpha: 0.05, n: 100, m: 100 })).toBeCloseTo(0.19206, 4);
  });
});

describe('quantiles, bins and moments', () => {
  it('type 7 and type 1 quantiles agree with R on 1..10', () => {
    // R: quantile(1:10, c(.25, .5, .9), type = 7) → 3.25 5.50 9.10; type = 1 → 3 5 9.
    const x = sortedFinite([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    expect([0.25, 0.5, 0.9].map((p) => quantileType7(x, p))).toEqual([3.25, 5.5, expect.closeTo(9.1, 12)]);
    expect([0.25, 0.5, 0.9].map((p) => quantileType1(x, p))).toEqual([3, 5, 9]);
  });

  it('bins shares use the (e_{i−1}, e_i] convention and sum to one', () => {
    const s = binShares(sortedFinite([1, 2, 2, 3, 4, 5, 6, 7, 8, 9]), [2, 5]);
    expect(s).toEqual([0.3, 0.3, 0.4]);
  });

  it('mean and sample standard deviation (n − 1), and Tukey fences', () => {
    // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, Σ(x − 5)² = 32, sample variance 32/7.
    const { mean, std } = meanStd([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(mean).toBe(5);
    expect(std).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(tukeyFences([10, 15, 20], 3)).toEqual({ low: -20, high: 50 });
  });
});
