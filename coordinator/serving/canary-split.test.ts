/**
 * The canary split is random and sticky (issue 13 §7), checked statistically with the real CSPRNG. Bounds are
 * mean ± 5 standard deviations of the binomial count (Chernoff/normal tail: a correct split fails one of
 * these with probability below 1e-6), so the tests cannot pass a biased or periodic split by luck.
 */
import { describe, expect, it } from 'vitest';
import { canarySplit } from './canary-split.ts';

function within5Sd(count: number, n: number, p: number): void {
  const mean = n * p;
  const sd = Math.sqrt(n * p * (1 - p));
  expect(count).toBeGreaterThan(mean - 5 * sd);
  expect(count).toBeLessThan(mean + 5 * sd);
}

describe('canarySplit', () => {
  it('sends a Binomial(n, p) share of anonymous requests to the canary (CSPRNG)', () => {
    const split = canarySplit(10);
    let canary = 0;
    for (let i = 0; i < 100_000; i++) if (split.routes(undefined)) canary++;
    within5Sd(canary, 100_000, 0.1);
  });

  it('cannot be predicted by request position: every 10th request is no more likely to be the canary (the old rule)', () => {
    const split = canarySplit(10);
    let hits = 0;
    let positions = 0;
    for (let i = 0; i < 100_000; i++) {
      const c = split.routes(undefined);
      if (i % 10 === 9) {
        positions++;
        if (c) hits++;
      }
    }
    within5Sd(hits, positions, 0.1);
  });

  it('is sticky per caller, with the share over callers close to p, and a new canary reshuffles callers', () => {
    const split = canarySplit(25);
    const callers = Array.from({ length: 20_000 }, (_, i) => `caller-${i}`);
    const first = callers.map((c) => split.routes(c));
    for (let k = 0; k < 3; k++) expect(callers.map((c) => split.routes(c))).toEqual(first);
    within5Sd(first.filter(Boolean).length, callers.length, 0.25);
    // Another canary (a new salt): assignments are independent of the old ones, so they disagree on
    // 2·p·(1−p) = 37.5 % of callers rather than on none.
    const next = canarySplit(25);
    within5Sd(callers.filter((c, i) => next.routes(c) !== first[i]).length, callers.length, 2 * 0.25 * 0.75);
  });

  it('uses the injected random source and honours 0 and 100 percent', () => {
    expect(canarySplit(10, { randomUnit: () => 0.0999 }).routes(undefined)).toBe(true);
    expect(canarySplit(10, { randomUnit: () => 0.1 }).routes(undefined)).toBe(false);
    expect(canarySplit(0).routes('x')).toBe(false);
    expect(canarySplit(100).routes('x')).toBe(true);
  });
});
