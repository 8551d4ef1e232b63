import { describe, expect, it } from 'vitest';
import { Z_95, wilsonInterval } from './wilson.ts';

describe('wilsonInterval', () => {
  // Published values: R. G. Newcombe, "Two-sided confidence intervals for the single proportion: comparison
  // of seven methods", Statistics in Medicine 17:857–872 (1998), Table I, method 3 (Wilson score, no
  // continuity correction), 95 % intervals to four decimals.
  it.each([
    [81, 263, 0.2553, 0.3662],
    [15, 148, 0.0624, 0.1605],
    [0, 20, 0.0, 0.1611],
    [1, 29, 0.0061, 0.1718],
    [29, 29, 0.883, 1.0],
  ])('%i/%i matches Newcombe (1998) Table I', (k, n, lo, hi) => {
    const ci = wilsonInterval({ successes: k, trials: n });
    expect(ci).not.toBeNull();
    expect(ci?.[0]).toBeCloseTo(lo, 4);
    expect(ci?.[1]).toBeCloseTo(hi, 4);
  });

  it('follows the closed form on 8/10 (arithmetic written out)', () => {
    // p̂ = 0.8, z² = 3.841459, z²/n = 0.3841459, centre = (0.8 + 0.19207295)/1.3841459 = 0.716738…,
    // half = (1.959964/1.3841459)·√(0.016 + 0.0096036) = 1.416010·0.160011 = 0.226577…
    const z2 = Z_95 * Z_95;
    const centre = (0.8 + z2 / 20) / (1 + z2 / 10);
    const half = (Z_95 / (1 + z2 / 10)) * Math.sqrt(0.016 + z2 / 400);
    const ci = wilsonInterval({ successes: 8, trials: 10 });
    expect(ci?.[0]).toBeCloseTo(centre - half, 12);
    expect(ci?.[1]).toBeCloseTo(centre + half, 12);
    expect(ci?.[0]).toBeCloseTo(0.4902, 4);
    expect(ci?.[1]).toBeCloseTo(0.9433, 4);
  });

  it('is null with no trials and rejects impossible counts', () => {
    expect(wilsonInterval({ successes: 0, trials: 0 })).toBeNull();
    expect(() => wilsonInterval({ successes: 3, trials: 2 })).toThrow(RangeError);
    expect(() => wilsonInterval({ successes: 0.5, trials: 2 })).toThrow(RangeError);
  });
});
