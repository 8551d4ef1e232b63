/**
 * Property tests (fast-check) for the accountant: ε is monotone in the sampling rate q, in the number of
 * steps and in 1/σ, and calibration never overshoots the target while staying minimal within its bracket.
 * The mathematical reasons are in privacy/accountant/calibrate.ts (data processing) and rdp.ts; a slack of
 * 1e-10 relative absorbs float64 rounding in the series.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { analyticGaussianDelta, epsilonFor, planNoiseMultiplier } from '../privacy/accountant/index.ts';
import type { Conversion } from '../privacy/accountant/index.ts';

const SLACK = 1e-10;
const q = fc.double({ min: 1e-4, max: 1, noNaN: true });
const sigma = fc.double({ min: 0.5, max: 20, noNaN: true });
const steps = fc.integer({ min: 1, max: 5000 });
const delta = fc.constantFrom(1e-5, 1e-6, 1e-8);
const conversion = fc.constantFrom<Conversion>('improved', 'classic');

const eps = (samplingRate: number, noiseMultiplier: number, t: number, d: number, c: Conversion): number =>
  epsilonFor({ samplingRate, noiseMultiplier, steps: t, delta: d, conversion: c }).epsilon;

describe('ε is monotone', () => {
  it('in q', () => {
    fc.assert(
      fc.property(q, q, sigma, steps, delta, conversion, (q1, q2, s, t, d, c) => {
        const [lo, hi] = q1 <= q2 ? [q1, q2] : [q2, q1];
        expect(eps(lo, s, t, d, c)).toBeLessThanOrEqual(eps(hi, s, t, d, c) * (1 + SLACK));
      }),
      { numRuns: 60 },
    );
  });

  it('in steps', () => {
    fc.assert(
      fc.property(q, sigma, steps, steps, delta, conversion, (qq, s, t1, t2, d, c) => {
        const [lo, hi] = t1 <= t2 ? [t1, t2] : [t2, t1];
        expect(eps(qq, s, lo, d, c)).toBeLessThanOrEqual(eps(qq, s, hi, d, c) * (1 + SLACK));
      }),
      { numRuns: 60 },
    );
  });

  it('in 1/σ', () => {
    fc.assert(
      fc.property(q, sigma, sigma, steps, delta, conversion, (qq, s1, s2, t, d, c) => {
        const [small, large] = s1 <= s2 ? [s1, s2] : [s2, s1];
        expect(eps(qq, large, t, d, c)).toBeLessThanOrEqual(eps(qq, small, t, d, c) * (1 + SLACK));
      }),
      { numRuns: 60 },
    );
  });
});

describe('planNoiseMultiplier', () => {
  it('never overshoots the target and is minimal within its bracket', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.3, max: 12, noNaN: true }),
        fc.double({ min: 1e-3, max: 1, noNaN: true }),
        fc.integer({ min: 1, max: 2000 }),
        delta,
        conversion,
        (target, qq, t, d, c) => {
          const plan = planNoiseMultiplier({ epsilon: target, samplingRate: qq, steps: t, delta: d, conversion: c, relativeTolerance: 1e-6 });
          // Re-evaluated independently: the answer meets the budget...
          expect(eps(qq, plan.noiseMultiplier, t, d, c)).toBeLessThanOrEqual(target);
          expect(plan.epsilon).toBeLessThanOrEqual(target);
          // ...and a σ at most 1e-6 smaller does not, so the σ is the smallest up to the tolerance.
          expect(plan.noiseMultiplier - plan.lowerNoiseMultiplier).toBeLessThanOrEqual(1e-6 * plan.noiseMultiplier);
          if (plan.lowerNoiseMultiplier > 0) expect(eps(qq, plan.lowerNoiseMultiplier, t, d, c)).toBeGreaterThan(target);
        },
      ),
      { numRuns: 25 },
    );
  });

  it('for q = 1 the analytic Gaussian gives a smaller σ than RDP, on the boundary of Balle & Wang Theorem 8', () => {
    const rdp = planNoiseMultiplier({ epsilon: 1, delta: 1e-5, samplingRate: 1, steps: 1 });
    const exact = planNoiseMultiplier({ epsilon: 1, delta: 1e-5, samplingRate: 1, steps: 1, accountant: 'analytic_gaussian' });
    expect(exact.noiseMultiplier).toBeLessThan(rdp.noiseMultiplier);
    expect(analyticGaussianDelta(1, exact.noiseMultiplier)).toBeLessThanOrEqual(1e-5 * (1 + 1e-9));
    expect(analyticGaussianDelta(1, exact.lowerNoiseMultiplier)).toBeGreaterThan(1e-5);
    // The classical calibration σ = √(2 ln(1.25/δ))/ε (Dwork & Roth 2014, Theorem A.1) is looser.
    expect(exact.noiseMultiplier).toBeLessThan(Math.sqrt(2 * Math.log(1.25 / 1e-5)));
  });
});
