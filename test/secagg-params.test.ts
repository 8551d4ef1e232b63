/**
 * The SecAgg+ parameter finder against a production finder's published choices
 * (../shared/vectors/secagg-graph-parameters.md: Google fcp graph_parameter_finder test expectations), against
 * its own bounds recomputed, and against a Monte Carlo run of the events it bounds.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { neighbourGraph, neighboursOf } from '../privacy/secagg/graph.ts';
import { hypergeometricPmf, lowerQuantile, upperQuantile } from '../privacy/secagg/hypergeometric.ts';
import { findSecAggParams, log2DisconnectBound } from '../privacy/secagg/params.ts';
import { seededRandom, shuffleInPlace } from '../privacy/random.ts';
import { SHARED_VECTORS_DIR } from './paths.ts';

interface Row {
  threatModel: 'semi-honest' | 'semi-malicious';
  corrupt: number;
  dropout: number;
  byN: Array<{ n: number; k: number; t: number }>;
}

/** Parses the markdown table (so the test reads the reference file, not a copy of it). */
function referenceRows(): Row[] {
  const text = readFileSync(join(SHARED_VECTORS_DIR, 'secagg-graph-parameters.md'), 'utf8');
  const header = text.split('\n').find((l) => l.startsWith('| Threat model')) as string;
  const ns = header.split('|').slice(3, -1).map((c) => 10 ** Number(/10\^(\d+)/.exec(c)?.[1]));
  return text
    .split('\n')
    .filter((l) => /^\| semi-/.test(l))
    .map((l) => {
      const cells = l.split('|').slice(1, -1).map((c) => c.trim());
      const [corrupt, dropout] = (cells[1] as string).split('/').map((p) => Number.parseFloat(p) / 100) as [number, number];
      return {
        threatModel: cells[0] as Row['threatModel'],
        corrupt,
        dropout,
        byN: cells.slice(2).map((c, i) => {
          const [k, t] = c.split('/').map((x) => Number(x.trim())) as [number, number];
          return { n: ns[i] as number, k, t };
        }),
      };
    });
}

describe('SecAgg+ parameter finder', () => {
  const rows = referenceRows();

  it('reads all 12 reference points', () => {
    expect(rows).toHaveLength(3);
    expect(rows.flatMap((r) => r.byN)).toHaveLength(12);
  });

  it('semi-honest: the same (k, t) as the production finder at all 8 reference points', () => {
    for (const row of rows.filter((r) => r.threatModel === 'semi-honest')) {
      for (const ref of row.byN) {
        const p = findSecAggParams({ clients: ref.n, dropoutRate: row.dropout, corruptRate: row.corrupt, threatModel: row.threatModel });
        expect({ n: ref.n, k: p.k, t: p.t }).toEqual(ref);
      }
    }
  });

  it('semi-malicious: the same at n = 10^3 and 10^4, at most 1.1% larger k above (one more share per client)', () => {
    // Our clients also hold one share of their own self-mask seed. A coordinator lying about dropouts gets that
    // share too, so we need 2t > k + 1 + t1 where the production finder needs 2t > k + t1: slightly larger
    // t, hence k, at large n. More conservative, never less.
    const row = rows.find((r) => r.threatModel === 'semi-malicious') as Row;
    const ours = row.byN.map((ref) => ({ ref, p: findSecAggParams({ clients: ref.n, dropoutRate: row.dropout, corruptRate: row.corrupt, threatModel: 'semi-malicious' }) }));
    expect(ours.map(({ p }) => [p.k, p.t])).toEqual([
      [398, 223],
      [746, 420],
      [890, 501],
      [980, 551],
    ]);
    for (const { ref, p } of ours) {
      expect(p.k).toBeGreaterThanOrEqual(ref.k);
      expect(p.t).toBeGreaterThanOrEqual(ref.t);
      expect(p.k / ref.k).toBeLessThan(1.011);
    }
  });

  it('the returned (k, t) meet both targets when the bounds are recomputed', () => {
    for (const [n, d, g] of [[1000, 0.33, 0.05], [100, 0.3, 0.05], [500, 0.3, 0.05], [10_000, 0.1, 0.2]] as const) {
      const p = findSecAggParams({ clients: n, dropoutRate: d, corruptRate: g });
      const A = Math.floor(g * n + 1e-9);
      const D = Math.floor(d * n + 1e-9);
      expect(log2DisconnectBound(n, p.k, A + D)).toBeLessThanOrEqual(-41);
      // P(corrupt neighbours ≥ t) and P(surviving neighbours < t), summed exactly.
      let tailCorrupt = 0;
      for (let x = p.t; x <= p.k; x++) tailCorrupt += hypergeometricPmf({ population: n - 1, marked: A, draws: p.k }, x);
      let headAlive = 0;
      for (let x = 0; x < p.t; x++) headAlive += hypergeometricPmf({ population: n - 1, marked: n - 1 - D, draws: p.k }, x);
      expect(n * tailCorrupt).toBeLessThanOrEqual(2 ** -41);
      expect(n * headAlive).toBeLessThanOrEqual(2 ** -20);
      // And k − 2 would not have done (the search returns the smallest even k).
      if (p.k > 2 && !p.complete) {
        const smaller = p.k - 2;
        const t1 = upperQuantile({ population: n - 1, marked: A, draws: smaller }, 2 ** -41 / n);
        const t2 = lowerQuantile({ population: n - 1, marked: n - 1 - D, draws: smaller }, 2 ** -20 / n);
        expect(log2DisconnectBound(n, smaller, A + D) > -41 || Math.max(2, t1 + 1) > t2).toBe(true);
      }
    }
  });

  it('Monte Carlo: in 100 random rounds at n = 1000 (δ = 0.33, γ = 0.05) no client falls below t or reaches t corrupt neighbours', () => {
    const p = findSecAggParams({ clients: 1000, dropoutRate: 0.33, corruptRate: 0.05 });
    const rng = seededRandom('mc');
    let minAlive = Infinity;
    let maxCorrupt = 0;
    for (let trial = 0; trial < 100; trial++) {
      const seed = new Uint8Array(32);
      rng.fillBytes(seed);
      const g = neighbourGraph({ n: 1000, k: p.k, seed });
      const order = shuffleInPlace(rng, Array.from({ length: 1000 }, (_, i) => i));
      const corrupt = new Set(order.slice(0, 50));
      const dropped = new Set(order.slice(50, 380));
      for (let u = 0; u < 1000; u++) {
        const nb = neighboursOf(g, u);
        minAlive = Math.min(minAlive, nb.filter((v) => !dropped.has(v)).length);
        if (!corrupt.has(u)) maxCorrupt = Math.max(maxCorrupt, nb.filter((v) => corrupt.has(v)).length);
      }
    }
    expect(minAlive).toBeGreaterThanOrEqual(p.t);
    expect(maxCorrupt).toBeLessThan(p.t);
  });

  it('small rounds fall back to the complete graph; impossible targets are refused with a reason', () => {
    const small = findSecAggParams({ clients: 5, dropoutRate: 0.3, corruptRate: 0.05 });
    expect([small.k, small.complete]).toEqual([4, true]);
    expect(() => findSecAggParams({ clients: 10, dropoutRate: 0.9, corruptRate: 0.2 })).toThrow(/no threshold is both secure and live/);
    expect(() => findSecAggParams({ clients: 1, dropoutRate: 0.1, corruptRate: 0.05 })).toThrow(/at least 2 clients/);
  });
});
