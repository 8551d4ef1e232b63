/**
 * The PLD accountant against values computed independently of it:
 *  - q = 1: the T-fold Gaussian mechanism is one Gaussian with σ/√T, whose exact ε is the analytic Gaussian
 *    (Balle & Wang 2018) — both the repository's own analytic accountant and the reference rows computed with
 *    google/differential-privacy (../shared/vectors/dp-epsilon-reference.json);
 *  - q < 1: the independent PLD of test/support/pld.ts (a different discretisation: outputs integrated on a fine
 *    y-grid, losses rounded up for a pessimistic and down for an optimistic bound, composed as one FFT power),
 *    whose optimistic ε is a lower bound on the true ε;
 *  - every RDP reference row: the PLD ε is never above the RDP ε of the same mechanism.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTesseraError } from '../../protocol/errors.ts';
import { composedDelta, epsilonAt } from '../../test/support/pld.ts';
import { SHARED_VECTORS_DIR } from '../../test/paths.ts';
import { analyticGaussianEpsilon } from './analytic-gaussian.ts';
import { planNoiseMultiplier } from './calibrate.ts';
import { epsilonFor } from './epsilon.ts';
import { convolve } from './fft.ts';
import { pldDelta, pldEpsilonForRounds } from './pld.ts';
import { subsampledGaussianHockeyStick, subsampledGaussianPld } from './pld-gaussian.ts';

interface ReferenceRow {
  mechanism: string;
  accountant: string;
  conversion: string;
  q: number;
  sigma: number;
  steps: number;
  delta: number;
  epsilon: number;
}

const rows = (JSON.parse(readFileSync(join(SHARED_VECTORS_DIR, 'dp-epsilon-reference.json'), 'utf8')) as { rows: ReferenceRow[] }).rows;

describe('one round as a discrete PLD (connect the dots)', () => {
  it.each([
    ['remove', 0.1, 1],
    ['add', 0.1, 1],
    ['remove', 1, 2],
    ['add', 0.01, 0.7],
  ] as const)('%s, q = %f, σ = %f: δ(ε) equals the exact hockey-stick at grid points and lies above it between them', (direction, q, sigma) => {
    const h = 1e-3;
    const p = subsampledGaussianPld(direction, q, sigma, { h, tailMass: 1e-15 });
    let total = p.infinity;
    for (const m of p.mass) total += m;
    expect(Math.abs(total - 1)).toBeLessThan(1e-12);
    for (const eps of [0, 0.05, 0.3, 1, 2.5]) {
      const onGrid = Math.round(eps / h) * h;
      const exact = subsampledGaussianHockeyStick(direction, q, sigma, onGrid);
      const discrete = pldDelta(p, onGrid);
      // Above the exact curve up to floating-point rounding of the two evaluations (relative 1e-12).
      expect(discrete).toBeGreaterThanOrEqual(exact * (1 - 1e-12) - 1e-15);
      expect(Math.abs(discrete - exact)).toBeLessThan(1e-12 + 1e-9 * exact);
      const between = onGrid + h / 2;
      expect(pldDelta(p, between)).toBeGreaterThanOrEqual(subsampledGaussianHockeyStick(direction, q, sigma, between) * (1 - 1e-12) - 1e-15);
    }
  });
});

describe('composed PLD accountant', () => {
  it('matches the analytic Gaussian (google/differential-privacy reference rows) for q = 1, from above', () => {
    for (const r of rows.filter((x) => x.mechanism === 'analytic_gaussian' || x.accountant === 'analytic_gaussian')) {
      const eps = pldEpsilonForRounds([{ samplingRate: 1, noiseMultiplier: r.sigma, steps: r.steps }], r.delta);
      expect(eps).toBeGreaterThanOrEqual(r.epsilon);
      expect((eps - r.epsilon) / r.epsilon).toBeLessThan(1e-6);
    }
  });

  it('composes: 100 rounds of σ = 10 equal one round of σ = 1 (exactly, for the Gaussian), from above', () => {
    const eps = pldEpsilonForRounds([{ samplingRate: 1, noiseMultiplier: 10, steps: 100 }], 1e-5);
    const exact = analyticGaussianEpsilon({ sigma: 1, delta: 1e-5 });
    expect(eps).toBeGreaterThanOrEqual(exact);
    expect((eps - exact) / exact).toBeLessThan(1e-5);
  });

  it.each([
    [0.1, 1, 20],
    [0.2, 2, 30],
  ])('q = %f, σ = %f, %i rounds: inside the independent PLD bracket, within 1 percent of its pessimistic bound', (q, sigma, steps) => {
    const delta = 1e-5;
    const ours = pldEpsilonForRounds([{ samplingRate: q, noiseMultiplier: sigma, steps }], delta);
    // Add/remove: the larger of the two directions, each bracketed by the independent accountant.
    const bracket = (bound: 'pessimistic' | 'optimistic'): number =>
      Math.max(
        epsilonAt(composedDelta({ abortP: 0, abortQ: 0, pIn: q, qIn: 0, sigma }, steps, bound, 1e-3), delta),
        epsilonAt(composedDelta({ abortP: 0, abortQ: 0, pIn: 0, qIn: q, sigma }, steps, bound, 1e-3), delta),
      );
    const lower = bracket('optimistic');
    const upper = bracket('pessimistic');
    expect(ours).toBeGreaterThanOrEqual(lower - 1e-3); // epsilonAt bisects to 1e-3
    expect(ours).toBeLessThanOrEqual(upper * 1.01);
  });

  it('is never above the RDP ε of any reference row (improved or classic conversion)', () => {
    for (const r of rows.filter((x) => x.accountant === 'rdp')) {
      const eps = pldEpsilonForRounds([{ samplingRate: r.q, noiseMultiplier: r.sigma, steps: r.steps }], r.delta);
      expect(eps).toBeLessThanOrEqual(r.epsilon);
      expect(eps).toBeGreaterThan(0.5 * r.epsilon);
    }
  }, 120_000);

  it('a coarser grid (a subset of the finer one) never gives a smaller ε', () => {
    const groups = [{ samplingRate: 0.05, noiseMultiplier: 1.3, steps: 100 }];
    const fine = pldEpsilonForRounds(groups, 1e-5, { valueDiscretizationInterval: 1e-4 });
    const coarse = pldEpsilonForRounds(groups, 1e-5, { valueDiscretizationInterval: 1e-3 });
    expect(coarse).toBeGreaterThanOrEqual(fine);
    expect(coarse / fine - 1).toBeLessThan(1e-3);
  });

  it('mixed schedules compose in any order; an extra round is one more convolution of the cached schedule', () => {
    const a = { samplingRate: 0.1, noiseMultiplier: 1.2, steps: 10 };
    const b = { samplingRate: 0.2, noiseMultiplier: 2, steps: 5 };
    const ab = pldEpsilonForRounds([a, b], 1e-5);
    const ba = pldEpsilonForRounds([b, a], 1e-5);
    expect(Math.abs(ab - ba)).toBeLessThan(1e-6);
    const more = pldEpsilonForRounds([a, { ...b, steps: 6 }], 1e-5);
    expect(more).toBeGreaterThan(ab);
    // The accountant front door and the planner: the planned σ meets the target, and is below RDP's.
    const plan = planNoiseMultiplier({ epsilon: 3, delta: 1e-5, samplingRate: 0.1, steps: 40, accountant: 'pld' });
    expect(plan.epsilon).toBeLessThanOrEqual(3);
    expect(epsilonFor({ samplingRate: 0.1, noiseMultiplier: plan.noiseMultiplier, steps: 40, delta: 1e-5, accountant: 'pld' }).epsilon).toBeLessThanOrEqual(3);
    const rdp = planNoiseMultiplier({ epsilon: 3, delta: 1e-5, samplingRate: 0.1, steps: 40 });
    expect(plan.noiseMultiplier).toBeLessThan(rdp.noiseMultiplier);
  }, 120_000);

  it('no noise is ε = ∞; a σ too small for the grid is a coded error naming the alternative', () => {
    expect(pldEpsilonForRounds([{ samplingRate: 0.1, noiseMultiplier: 0, steps: 3 }], 1e-5)).toBe(Infinity);
    try {
      pldEpsilonForRounds([{ samplingRate: 0.1, noiseMultiplier: 0.01, steps: 3 }], 1e-5);
      expect.unreachable();
    } catch (e) {
      expect(isTesseraError(e) && e.code).toBe('TESSERA_ERR_ACCOUNTANT');
      expect(String(e)).toMatch(/RDP accountant/);
    }
  });
});

describe('FFT convolution', () => {
  it('equals the direct sum within its stated error bound', () => {
    let seed = 7;
    const next = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const make = (n: number): Float64Array => {
      const v = new Float64Array(n).map(() => next() ** 8);
      const s = v.reduce((x, y) => x + y, 0);
      return v.map((x) => x / s);
    };
    const a = make(3000);
    const b = make(1700);
    const { values, errorBound } = convolve(a, b);
    let l1 = 0;
    for (let k = 0; k < values.length; k++) {
      let direct = 0;
      for (let i = Math.max(0, k - b.length + 1); i <= Math.min(k, a.length - 1); i++) direct += (a[i] as number) * (b[k - i] as number);
      l1 += Math.abs((values[k] as number) - direct);
    }
    expect(errorBound).toBeGreaterThan(0);
    expect(l1).toBeLessThan(errorBound);
  });
});
