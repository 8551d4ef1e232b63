/**
 * The search past the default orders (epsilon.ts, extendedEpsilon) skips orders from a lower bound on their RDP.
 * It must give exactly what minimising over every order gives — ε and the order, to the bit — which is computed
 * here the long way: every default and every extended order, then rdpToEpsilon over each grid. The cases lie
 * where the optimum leaves the default grid (large σ against q, Mironov 2017 §VI: the optimal order grows like
 * σ·√(2 log(1/δ))/q), with one and several round groups and both conversions; one case stays inside the grid.
 */
import { describe, expect, it } from 'vitest';
import { rdpToEpsilon, type Conversion } from './conversion.ts';
import { epsilonForRounds, type RoundGroup } from './epsilon.ts';
import { DEFAULT_ORDERS, EXTENDED_ORDERS, computeRdp } from './rdp.ts';

/** ε by every order for each conversion; the RDP totals (the costly part) are computed once for both. */
function exhaustive(rounds: readonly RoundGroup[], delta: number): Record<Conversion, { epsilon: number; order: number }> {
  const total = (orders: readonly number[]): Float64Array => {
    const sum = new Float64Array(orders.length);
    for (const r of rounds) {
      const one = computeRdp({ q: r.samplingRate, sigma: r.noiseMultiplier, steps: r.steps ?? 1, orders });
      one.forEach((v, i) => (sum[i] = (sum[i] as number) + v));
    }
    return sum;
  };
  const defaults = total(DEFAULT_ORDERS);
  const extended = total(EXTENDED_ORDERS);
  const at = (conversion: Conversion): { epsilon: number; order: number } => {
    const best = rdpToEpsilon({ orders: DEFAULT_ORDERS, rdp: defaults, delta, conversion });
    if (best.order !== DEFAULT_ORDERS[DEFAULT_ORDERS.length - 1] || !(best.epsilon > 0)) return best;
    const further = rdpToEpsilon({ orders: EXTENDED_ORDERS, rdp: extended, delta, conversion });
    return further.epsilon < best.epsilon ? further : best;
  };
  return { improved: at('improved'), classic: at('classic') };
}

const CASES: Array<[string, RoundGroup[], number]> = [
  ['q = 0.01, σ = 100, 1 step', [{ samplingRate: 0.01, noiseMultiplier: 100 }], 1e-5],
  ['q = 1e-4, σ = 12, 100 steps', [{ samplingRate: 1e-4, noiseMultiplier: 12, steps: 100 }], 1e-5],
  ['q = 1e-4, σ = 20, 5000 steps', [{ samplingRate: 1e-4, noiseMultiplier: 20, steps: 5000 }], 1e-8],
  ['two groups', [{ samplingRate: 0.001, noiseMultiplier: 15, steps: 10 }, { samplingRate: 0.002, noiseMultiplier: 18, steps: 3 }], 1e-5],
  ['inside the default grid: q = 0.1, σ = 1, 40 steps', [{ samplingRate: 0.1, noiseMultiplier: 1, steps: 40 }], 1e-5],
];

describe('ε past the default orders', () => {
  it.each(CASES)('%s: the same ε and order as every order tried (improved and classic)', (_, rounds, delta) => {
    const want = exhaustive(rounds, delta);
    for (const conversion of ['improved', 'classic'] as const) {
      const got = epsilonForRounds(rounds, { delta, conversion });
      expect({ epsilon: got.epsilon, order: got.order }).toEqual(want[conversion]);
    }
  });

  it('the cases reach past the default grid (the comparison is not vacuous)', () => {
    const past = CASES.filter(([, rounds, delta]) => (epsilonForRounds(rounds, { delta }).order ?? 0) > 1024);
    expect(past.length).toBeGreaterThanOrEqual(3);
  });
});
