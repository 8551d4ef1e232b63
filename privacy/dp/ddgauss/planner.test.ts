/**
 * The DDGauss planner: the plan spends the budget without exceeding it (ε recomputed from the rounded spec values),
 * fewer bits force a coarser grid and so more noise for the same ε (conditional rounding inflates the sensitivity,
 * Kairouz et al. 2021, Prop. 22), the modular range meets the overflow target, and the continuous Gaussian needs
 * no more noise than DDGauss for the same budget at q = 1 (where the two accountings differ only by rounding and τ).
 */
import { describe, expect, it } from 'vitest';
import { planNoiseMultiplier } from '../../accountant/index.ts';
import { ddgaussJobEpsilon, planDdgauss } from './planner.ts';

const base = { epsilon: 4, delta: 1e-5, samplingRate: 1, rounds: 5, clipNorm: 1, dimension: 200, minSurvivors: 10, clients: 20 };

describe('planDdgauss', () => {
  it('spends the budget from below, meets the overflow target, and bits trade against noise', () => {
    const p32 = planDdgauss(base);
    const p12 = planDdgauss({ ...base, bits: 12 });
    for (const p of [p32, p12]) {
      const again = ddgaussJobEpsilon({ ...base, granularity: p.granularity, beta: p.beta, localStd: (p.noiseMultiplier * base.clipNorm) / Math.sqrt(base.minSurvivors), survivors: base.minSurvivors }).epsilon;
      expect(again).toBeLessThanOrEqual(base.epsilon);
      expect(again).toBeGreaterThan(base.epsilon * 0.999);
      expect(p.overflowProbability).toBeLessThanOrEqual(1e-6 * 1.0001);
      expect(p.paddedDimension).toBe(256);
    }
    expect(p12.granularity).toBeGreaterThan(p32.granularity * 1000);
    expect(p12.noiseMultiplier).toBeGreaterThan(p32.noiseMultiplier);
    expect(p12.sensitivityInflation).toBeGreaterThan(1.001);
    expect(p32.sensitivityInflation).toBeLessThan(1 + 1e-6);
    const gaussian = planNoiseMultiplier({ epsilon: base.epsilon, delta: base.delta, samplingRate: 1, steps: base.rounds });
    expect(p32.noiseMultiplier).toBeGreaterThanOrEqual(gaussian.noiseMultiplier);
    expect(p32.noiseMultiplier / gaussian.noiseMultiplier).toBeLessThan(1.001);
  });

  it('refuses a bit width that cannot hold the sum', () => {
    expect(() => planDdgauss({ ...base, bits: 4 })).toThrow(/bits/);
  });
});
