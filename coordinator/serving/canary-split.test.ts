/**
 * The canary split is random, sticky per (token, caller) and held to each token's share (issue 13 §7; review 3's
 * canary-steering finding), checked statistically with the real CSPRNG. Bounds are mean ± 5 standard deviations
 * of the binomial count (normal tail: a correct split fails one of these with probability below 1e-6), so the
 * tests cannot pass a biased or periodic split by luck.
 */
import { describe, expect, it } from 'vitest';
import { canaryQuota, canarySplit } from './canary-split.ts';

function within5Sd(count: number, n: number, p: number): void {
  const mean = n * p;
  const sd = Math.sqrt(n * p * (1 - p));
  expect(count).toBeGreaterThan(mean - 5 * sd);
  expect(count).toBeLessThan(mean + 5 * sd);
}

const anon = (tokenId: string) => ({ tokenId, caller: undefined });

describe('canarySplit', () => {
  it('sends a Binomial(n, p) share of requests without a caller header to the canary (CSPRNG)', () => {
    const split = canarySplit(10);
    let canary = 0;
    for (let i = 0; i < 100_000; i++) if (split.routes(anon(`tok-${i % 50}`))) canary++;
    within5Sd(canary, 100_000, 0.1);
  });

  it('cannot be predicted by request position: every 10th request is no more likely to be the canary (the old rule)', () => {
    const split = canarySplit(10);
    let hits = 0;
    let positions = 0;
    for (let i = 0; i < 100_000; i++) {
      const c = split.routes(anon('tok-a'));
      if (i % 10 === 9) {
        positions++;
        if (c) hits++;
      }
    }
    within5Sd(hits, positions, 0.1);
  });

  it('is sticky per (token, caller), with the share over callers close to p, and a new canary reshuffles callers', () => {
    const split = canarySplit(25);
    const callers = Array.from({ length: 20_000 }, (_, i) => ({ tokenId: 'tok-app', caller: `caller-${i}` }));
    const first = callers.map((c) => split.routes(c));
    const passes = [first];
    for (let k = 0; k < 3; k++) passes.push(callers.map((c) => split.routes(c)));
    // Sticky within the token's share quota: a caller ever sent to the canary is sent there on every request
    // while the token's canary count stays within canaryQuota(n), and to production beyond it (the quota's
    // documented price); every other caller only ever to production.
    const drawn = callers.map((_, i) => passes.some((p) => p[i]));
    let canary = 0;
    let n = 0;
    for (const p of passes) {
      p.forEach((toCanary, i) => {
        n++;
        const want = drawn[i] === true && canary + 1 <= canaryQuota(n, 0.25);
        if (toCanary !== want) expect.fail(`request ${n} (caller-${i}): ${String(toCanary)}, the rule says ${String(want)}`);
        if (toCanary) canary++;
      });
    }
    within5Sd(first.filter(Boolean).length, callers.length, 0.25);
    // Another canary (a new salt): assignments are independent of the old ones, so they disagree on
    // 2·p·(1−p) = 37.5 % of callers rather than on none.
    const next = canarySplit(25);
    within5Sd(callers.filter((c, i) => next.routes(c) !== first[i]).length, callers.length, 2 * 0.25 * 0.75);
  });

  it('keys on the token first: the same caller header under two tokens routes independently', () => {
    const split = canarySplit(25);
    const ids = Array.from({ length: 20_000 }, (_, i) => `caller-${i}`);
    const a = ids.map((caller) => split.routes({ tokenId: 'tok-a', caller }));
    const b = ids.map((caller) => split.routes({ tokenId: 'tok-b', caller }));
    within5Sd(ids.filter((_, i) => a[i] !== b[i]).length, ids.length, 2 * 0.25 * 0.75);
  });

  it('holds a token that searches caller headers to its share: the quota, not the header, decides', () => {
    const split = canarySplit(10);
    // The search: ids until one lands on the canary; then every request under it.
    let chosen: string | undefined;
    let n = 0;
    let canary = 0;
    for (let i = 0; i < 1000 && chosen === undefined; i++) {
      n++;
      if (split.routes({ tokenId: 'tok-steer', caller: `probe-${i}` })) {
        canary++;
        chosen = `probe-${i}`;
      }
    }
    expect(chosen).toBeDefined();
    for (let i = 0; i < 10_000; i++) {
      n++;
      if (split.routes({ tokenId: 'tok-steer', caller: chosen })) canary++;
    }
    // At most p·n + 3σ + 1 of its n requests (≈ 1,100 of 10,000+), not all 10,000.
    expect(canary).toBeLessThanOrEqual(Math.floor(canaryQuota(n, 0.1)));
    expect(canary / n).toBeLessThan(0.11);
    // Another token keeps its own share, untouched by the first one's search.
    let other = 0;
    for (let i = 0; i < 10_000; i++) if (split.routes({ tokenId: 'tok-honest', caller: `user-${i}` })) other++;
    within5Sd(other, 10_000, 0.1);
  });

  it('uses the injected random source and honours 0 and 100 percent', () => {
    expect(canarySplit(10, { randomUnit: () => 0.0999 }).routes(anon('t'))).toBe(true);
    expect(canarySplit(10, { randomUnit: () => 0.1 }).routes(anon('t'))).toBe(false);
    expect(canarySplit(0).routes({ tokenId: 't', caller: 'x' })).toBe(false);
    expect(canarySplit(100).routes({ tokenId: 't', caller: 'x' })).toBe(true);
  });
});
