import { describe, expect, it } from 'vitest';
import { areNeighbours, checkDegree, neighbourGraph, neighboursOf } from './graph.ts';
import { hypergeometricPmf, logFactorial } from './hypergeometric.ts';

const seed = (b: number): Uint8Array => new Uint8Array(32).fill(b);

describe('neighbour graph', () => {
  it('is k-regular and symmetric, for several (n, k)', () => {
    for (const [n, k] of [[5, 2], [20, 8], [101, 26], [500, 58], [7, 6]] as const) {
      const g = neighbourGraph({ n, k, seed: seed(n) });
      for (let u = 0; u < n; u++) {
        const nb = neighboursOf(g, u);
        expect(nb).toHaveLength(k);
        expect(new Set(nb).size).toBe(k);
        expect(nb.includes(u)).toBe(false);
        for (const v of nb) {
          expect(neighboursOf(g, v).includes(u)).toBe(true);
          expect(areNeighbours(g, u, v)).toBe(true);
        }
      }
    }
  });

  it('is rebuilt identically from the same public seed, and differently from another', () => {
    const a = neighbourGraph({ n: 50, k: 10, seed: seed(1) });
    const b = neighbourGraph({ n: 50, k: 10, seed: seed(1) });
    const c = neighbourGraph({ n: 50, k: 10, seed: seed(2) });
    expect(Array.from(a.client)).toEqual(Array.from(b.client));
    expect(Array.from(a.client)).not.toEqual(Array.from(c.client));
    expect([...a.client].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('k = n − 1 is the complete graph (the original SecAgg)', () => {
    const g = neighbourGraph({ n: 6, k: 5, seed: seed(3) });
    expect(g.complete).toBe(true);
    expect(neighboursOf(g, 2)).toEqual([0, 1, 3, 4, 5]);
  });

  it('refuses degrees that do not define a regular Harary graph', () => {
    expect(() => checkDegree(10, 3)).toThrow(/even/);
    expect(() => checkDegree(10, 10)).toThrow(/n − 1 = 9/);
    expect(() => checkDegree(1, 0)).toThrow(/at least 2/);
    expect(() => neighbourGraph({ n: 10, k: 4, seed: new Uint8Array(16) })).toThrow(/32 bytes/);
  });

  it('places clients uniformly: over many seeds, each client is client 0’s neighbour about k/(n−1) of the time', () => {
    const n = 20;
    const k = 4;
    const counts = new Array<number>(n).fill(0);
    const trials = 2000;
    for (let s = 0; s < trials; s++) {
      const b = new Uint8Array(32);
      new DataView(b.buffer).setUint32(0, s);
      for (const v of neighboursOf(neighbourGraph({ n, k, seed: b }), 0)) counts[v] = (counts[v] as number) + 1;
    }
    // Expected 2000·4/19 ≈ 421 per client; binomial sd ≈ 18, so ±100 is > 5σ.
    for (let v = 1; v < n; v++) expect(Math.abs((counts[v] as number) - (trials * k) / (n - 1))).toBeLessThan(100);
  });
});

describe('hypergeometric helpers', () => {
  it('logFactorial: table and Stirling series agree across the switch at 1024', () => {
    let exact = 0;
    for (let i = 2; i <= 2000; i++) {
      exact += Math.log(i);
      if (i >= 1023 && i <= 1030) expect(Math.abs(logFactorial(i) - exact) / exact).toBeLessThan(1e-13);
    }
    expect(Math.abs(logFactorial(2000) - exact) / exact).toBeLessThan(1e-13);
  });

  it('pmf sums to 1 and matches a hand count: drawing 2 of {3 marked, 2 unmarked}', () => {
    // C(3,x)·C(2,2−x)/C(5,2): x = 0 → 1/10, 1 → 6/10, 2 → 3/10.
    const h = { population: 5, marked: 3, draws: 2 };
    expect([0, 1, 2].map((x) => hypergeometricPmf(h, x))).toEqual([expect.closeTo(0.1, 12), expect.closeTo(0.6, 12), expect.closeTo(0.3, 12)]);
    const big = { population: 1000, marked: 330, draws: 72 };
    let total = 0;
    for (let x = 0; x <= 72; x++) total += hypergeometricPmf(big, x);
    // Each term carries about 1e-13 relative error from differences of ln-factorials near 5900.
    expect(total).toBeCloseTo(1, 10);
  });
});
