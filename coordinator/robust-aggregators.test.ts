/**
 * The robust aggregators against hand-computed values (Yin et al. 2018's median and β-trimmed mean; Blanchard
 * et al. 2017's Krum score), and what each does with one poisoned update among honest ones.
 */
import { describe, expect, it } from 'vitest';
import { coordinateMedian, krum, robustAggregatorFor, trimmedMean } from './robust-aggregators.ts';

const f32 = (...v: number[]): Float32Array => Float32Array.from(v);

describe('robust aggregators', () => {
  it('coordinate-wise median: middle value per coordinate, mean of the two middle ones for an even count', () => {
    expect(Array.from(coordinateMedian([f32(1, 10), f32(3, -5), f32(2, 0)]))).toEqual([2, 0]);
    expect(Array.from(coordinateMedian([f32(1, 10), f32(3, -5), f32(2, 0), f32(100, 1)]))).toEqual([2.5, 0.5]);
  });

  it('trimmed mean drops ⌊β·n⌋ from each end per coordinate', () => {
    const u = [f32(1), f32(2), f32(3), f32(4), f32(1000)];
    expect(Array.from(trimmedMean(u, 0.2))).toEqual([3]); // drop 1 and 1000: (2+3+4)/3
    expect(Array.from(trimmedMean(u, 0.1))).toEqual([202]); // ⌊0.5⌋ = 0: the plain mean
  });

  it('Krum picks the update with the least sum of squared distances to its n − f − 2 nearest', () => {
    // Scores with f = 1, n = 5 (2 nearest): 0 → 1+1=2? neighbours of [0]: 1 (to [1]), 4 (to [2])… computed below.
    const u = [f32(0), f32(1), f32(2), f32(3), f32(100)];
    // s(0) = 1 + 4 = 5, s(1) = 1 + 1 = 2, s(2) = 1 + 1 = 2, s(3) = 1 + 4 = 5, s(4) = 97² + 98²: tie 1 vs 2 → the earlier.
    expect(Array.from(krum(u, 1))).toEqual([1]);
    expect(Array.from(krum(u, 1, 2))).toEqual([1.5]); // Multi-Krum m = 2: mean of updates 1 and 2
    expect(() => krum(u.slice(0, 4), 1)).toThrow(/2f \+ 3/);
  });

  it('one scaled poisoned update moves the mean arbitrarily far, the robust rules stay among the honest values', () => {
    const honest = Array.from({ length: 9 }, (_, i) => f32(1 + i * 0.01, -1 - i * 0.01));
    const poisoned = f32(-1e4, 1e4);
    const all = [...honest, poisoned];
    const mean = all.reduce((s, u) => s + (u[0] as number), 0) / all.length;
    expect(mean).toBeLessThan(-900);
    for (const agg of [robustAggregatorFor({ kind: 'median' }), robustAggregatorFor({ kind: 'trimmed-mean', trimFraction: 0.1 }), robustAggregatorFor({ kind: 'krum', byzantine: 1 })]) {
      const out = agg?.aggregate(all) as Float64Array;
      expect(out[0], agg?.name).toBeGreaterThanOrEqual(1);
      expect(out[0], agg?.name).toBeLessThanOrEqual(1.08);
      expect(out[1], agg?.name).toBeLessThanOrEqual(-1);
    }
    expect(robustAggregatorFor({ kind: 'mean' })).toBeNull();
    expect(robustAggregatorFor(undefined)).toBeNull();
  });
});
