/**
 * The DDGauss accountant against the authors' own accounting: google-research/federated,
 * distributed_dp/accounting_utils.py `ddgauss_epsilon` (Kairouz, Liu & Steinke, ICML 2021, Theorem 1 for τ,
 * Proposition 14 / Eq. 17 for the RDP, Zhu & Wang 2019 for subsampling, β = e^−1/2), run with numpy/scipy and
 * tensorflow_privacy's `get_privacy_spent` (its v0.8 improved conversion, re-typed in a 12-line stand-in because
 * tensorflow_privacy cannot be installed here). The "emnist" rows are the paper's §6 EMNIST configuration
 * (fl_run.py / fl_utils.py: N = 3,400 clients, n = 100 per round, q = n/N, T = 1,500 rounds, the 1,018,174-weight
 * CNN padded to D = 2^20, c = 0.03, δ = 1/N) at four (γ, σ) pairs around the paper's operating points; "small"
 * and "adult-like" rows exercise the τ term (coarse grids, little noise) and q < 1 at this repository's sizes.
 */
import { describe, expect, it } from 'vitest';
import { DDGAUSS_ORDERS, ddgaussRdp, ddgaussRoundParams, ddgaussTau, roundedL2NormBound } from './ddgauss.ts';
import { rdpToEpsilon } from './conversion.ts';
import { epsilonForRounds } from './epsilon.ts';

const BETA = Math.exp(-0.5);
const REFERENCE = [
  { config: 'emnist', gamma: 0.0001, localStd: 0.012, clients: 100, q: 0.029411764705882353, steps: 1500, dim: 1048576, clip: 0.03, delta: 0.0002941176470588235, epsilon: 2.7182662220149165, order: 5 },
  { config: 'emnist', gamma: 3e-05, localStd: 0.02, clients: 100, q: 0.029411764705882353, steps: 1500, dim: 1048576, clip: 0.03, delta: 0.0002941176470588235, epsilon: 1.452488908940118, order: 7 },
  { config: 'emnist', gamma: 0.001, localStd: 0.01, clients: 100, q: 0.029411764705882353, steps: 1500, dim: 1048576, clip: 0.03, delta: 0.0002941176470588235, epsilon: 28965.56366868512, order: 2 },
  { config: 'emnist', gamma: 2e-06, localStd: 0.03, clients: 100, q: 0.029411764705882353, steps: 1500, dim: 1048576, clip: 0.03, delta: 0.0002941176470588235, epsilon: 1.3422601941783538, order: 7 },
  { config: 'small', gamma: 0.05, localStd: 0.2, clients: 10, q: 1.0, steps: 10, dim: 128, clip: 1.0, delta: 1e-05, epsilon: 38.730184494443606, order: 2 },
  { config: 'small', gamma: 0.5, localStd: 0.6, clients: 5, q: 1.0, steps: 10, dim: 128, clip: 1.0, delta: 1e-05, epsilon: 70.76336073601775, order: 2 },
  { config: 'small', gamma: 0.01, localStd: 0.05, clients: 50, q: 1.0, steps: 10, dim: 128, clip: 1.0, delta: 1e-05, epsilon: 91.22788593784628, order: 2 },
  { config: 'small', gamma: 0.2, localStd: 0.1, clients: 20, q: 1.0, steps: 10, dim: 128, clip: 1.0, delta: 1e-05, epsilon: 4430.5908869591885, order: 2 },
  { config: 'adult-like', gamma: 0.001, localStd: 0.3, clients: 100, q: 0.1, steps: 40, dim: 128, clip: 1.0, delta: 1e-05, epsilon: 1.984767509920231, order: 9 },
  { config: 'adult-like', gamma: 0.02, localStd: 0.15, clients: 30, q: 0.1, steps: 40, dim: 128, clip: 1.0, delta: 1e-05, epsilon: 11.468967054165422, order: 3 },
];

describe('DDGauss accounting (Kairouz, Liu & Steinke 2021) against the authors\' accounting_utils.py', () => {
  for (const r of REFERENCE) {
    it(`${r.config}: γ = ${r.gamma}, σ = ${r.localStd}, n = ${r.clients}, q = ${r.q.toPrecision(3)}, T = ${r.steps} → ε = ${r.epsilon.toPrecision(6)}`, () => {
      const p = ddgaussRoundParams({ clipNorm: r.clip, granularity: r.gamma, beta: BETA, localStd: r.localStd, survivors: r.clients, dim: r.dim });
      const rdp = ddgaussRdp(r.q, p, DDGAUSS_ORDERS).map((v) => v * r.steps);
      const e = rdpToEpsilon({ orders: DDGAUSS_ORDERS, rdp, delta: r.delta, conversion: 'improved' });
      expect(e.order).toBe(r.order);
      expect(Math.abs(e.epsilon - r.epsilon) / r.epsilon).toBeLessThan(1e-9);
      // The same through the accountant's front door (the path the ledger takes).
      const viaLedger = epsilonForRounds([{ samplingRate: r.q, noiseMultiplier: 1 / p.l2Scale, steps: r.steps, ddgauss: p }], { delta: r.delta });
      expect(viaLedger.epsilon).toBe(e.epsilon);
    });
  }

  it('the rounding bound is the smaller of (c + √D) and the β-conditional bound, and τ vanishes with a fine grid', () => {
    expect(roundedL2NormBound(10, 0, 64)).toBe(18);
    expect(roundedL2NormBound(1000, BETA, 64)).toBeCloseTo(Math.sqrt(1000 ** 2 + 16 + 1 * (1000 + 4)), 9);
    expect(ddgaussTau(100, 10)).toBe(0);
    expect(ddgaussTau(2, 0.1)).toBeCloseTo(10 * Math.exp(-2 * (Math.PI * 0.1) ** 2 * 0.5), 12);
  });

  it('more survivors (more noise in the sum) never cost more ε when τ is negligible; the PLD accountant refuses DDGauss rounds', () => {
    const at = (n: number): number => {
      const p = ddgaussRoundParams({ clipNorm: 1, granularity: 1e-4, beta: BETA, localStd: 0.2, survivors: n, dim: 128 });
      return epsilonForRounds([{ samplingRate: 0.1, noiseMultiplier: 1 / p.l2Scale, steps: 40, ddgauss: p }], { delta: 1e-5 }).epsilon;
    };
    expect(at(60)).toBeLessThan(at(50));
    const p = ddgaussRoundParams({ clipNorm: 1, granularity: 1e-4, beta: BETA, localStd: 0.2, survivors: 50, dim: 128 });
    expect(() => epsilonForRounds([{ samplingRate: 0.1, noiseMultiplier: 1, ddgauss: p }], { delta: 1e-5, accountant: 'pld' })).toThrow(/RDP only/);
  });
});
