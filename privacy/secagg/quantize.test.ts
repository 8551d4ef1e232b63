import { describe, expect, it } from 'vitest';
import { seededRandom } from '../random.ts';
import { dequantizeSum, levels, quantizationParams, quantize } from './quantize.ts';
import { decodeWeightedMean, encodeWeightedUpdate, weightedParams } from './weighting.ts';

describe('quantisation', () => {
  it('refuses bit widths whose n-fold sum could wrap modulo 2^32, naming the largest that fits', () => {
    expect(() => quantizationParams({ clipRange: 1, clients: 100, bits: 32 })).toThrow(/at most 25 bits for 100 clients/);
    expect(quantizationParams({ clipRange: 1, clients: 100, bits: 25 }).maxLevel).toBe(2 ** 24 - 1);
    // Default: the finest scale that cannot wrap.
    expect(quantizationParams({ clipRange: 1, clients: 100 }).maxLevel).toBe(Math.floor((2 ** 31 - 1) / 100));
  });

  it('clips to [−r, r] and keeps every level within [−L, L]', () => {
    const p = quantizationParams({ clipRange: 0.5, clients: 10, bits: 8 });
    const q = levels(quantize([-3, -0.5, 0, 0.5, 7, 0.2], p, seededRandom('q')));
    expect(Array.from(q.subarray(0, 5))).toEqual([-127, -127, 0, 127, 127]);
    expect(Math.abs(q[5] as number)).toBeLessThanOrEqual(127);
  });

  it('stochastic rounding is unbiased: the mean level of a fixed value approaches x·L/r', () => {
    const p = quantizationParams({ clipRange: 1, clients: 1, bits: 4 }); // L = 7: coarse, so bias would show
    const x = 0.3; // x·L = 2.1: rounds to 3 with probability 0.1
    const n = 40_000;
    const q = levels(quantize(new Float64Array(n).fill(x), p, seededRandom('unbiased')));
    let sum = 0;
    for (const v of q) {
      expect(v === 2 || v === 3).toBe(true);
      sum += v;
    }
    // Binomial(40000, 0.1) has standard deviation 60, so the mean level is within 2.1 ± 0.0075 (5σ).
    expect(Math.abs(sum / n - 2.1)).toBeLessThan(0.0075);
  });

  it('the sum of n quantised vectors decodes exactly (signed values, at the widest non-wrapping scale)', () => {
    const n = 100;
    const p = quantizationParams({ clipRange: 1, clients: n });
    const rng = seededRandom('sum');
    const d = 50;
    const sum = new Uint32Array(d);
    const exact = new Float64Array(d);
    for (let c = 0; c < n; c++) {
      // Extreme inputs: everyone at −r on even coordinates, +r on odd ones — the worst case for wrapping.
      const v = Float64Array.from({ length: d }, (_, i) => (i % 2 === 0 ? -1 : 1) * (i < 4 ? 1 : rng.nextFloat()));
      const q = quantize(v, p, rng);
      const lv = levels(q);
      for (let i = 0; i < d; i++) {
        sum[i] = (sum[i] as number) + (q[i] as number);
        exact[i] = (exact[i] as number) + (lv[i] as number);
      }
    }
    const dq = dequantizeSum(sum, p, n);
    for (let i = 0; i < d; i++) expect(dq[i]).toBe((exact[i] as number) * (1 / p.maxLevel));
    expect(dq[0]).toBeCloseTo(-100, 12);
    expect(dq[1]).toBeCloseTo(100, 12);
    expect(() => dequantizeSum(sum, p, n + 1)).toThrow(/exceed/);
  });

  it('weighted FedAvg: the decoded mean equals Σ n_u Δ_u / Σ n_u up to quantisation error, and counts add exactly', () => {
    const n = 5;
    const params = weightedParams({ clipRange: 1, clients: n, maxExamples: 10_000 });
    const rng = seededRandom('w');
    const counts = [10, 250, 4000, 12_000, 0];
    const updates = counts.map((_, u) => Float64Array.from({ length: 8 }, (_, i) => Math.sin(u * 10 + i) * 0.9));
    const sum = new Uint32Array(9);
    updates.forEach((upd, u) => {
      const enc = encodeWeightedUpdate({ update: upd, examples: counts[u] as number, params, rng });
      for (let i = 0; i < 9; i++) sum[i] = (sum[i] as number) + (enc[i] as number);
    });
    const { mean, totalExamples } = decodeWeightedMean(sum, params, n);
    const capped = counts.map((c) => Math.min(c, 10_000));
    expect(totalExamples).toBe(capped.reduce((a, b) => a + b, 0));
    for (let i = 0; i < 8; i++) {
      const want = updates.reduce((acc, upd, u) => acc + (capped[u] as number) * (upd[i] as number), 0) / totalExamples;
      expect(Math.abs((mean[i] as number) - want)).toBeLessThan(1e-6);
    }
    expect(() => weightedParams({ clipRange: 1, clients: 1000, maxExamples: 10_000_000 })).toThrow(/wrap/);
  });
});
