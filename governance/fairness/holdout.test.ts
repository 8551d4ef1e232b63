import { describe, expect, it } from 'vitest';
import { holdoutSplit } from './holdout.ts';
import type { Examples } from '../../datasets/types.ts';

/** 1000 rows: feature = row index; label 1 on every 4th row; sex F on every 3rd row. */
function synthetic(n = 1000): Examples {
  const x = new Float32Array(n);
  const y = new Int32Array(n);
  const sex: string[] = [];
  for (let i = 0; i < n; i++) {
    x[i] = i;
    y[i] = i % 4 === 0 ? 1 : 0;
    sex.push(i % 3 === 0 ? 'F' : 'M');
  }
  return { x, y, n, featureShape: [1], classes: 2, classNames: ['no', 'yes'], sensitive: { sex } };
}

describe('holdoutSplit', () => {
  const e = synthetic();
  const s = holdoutSplit(e, { fraction: 0.2, seed: 42, strataAttributes: ['sex'] });

  it('holds out round(fraction · n) rows, disjoint from train, covering all rows', () => {
    expect(s.heldOut.n).toBe(200);
    expect(s.train.n).toBe(800);
    const all = new Set([...s.trainIndices, ...s.heldOutIndices]);
    expect(all.size).toBe(1000);
    // selectRows carried the rows: the feature is the original row index.
    expect([...s.heldOut.x]).toEqual(s.heldOutIndices);
  });

  it('is stratified: each (label, sex) stratum gets ⌊0.2·size⌋ or ⌈0.2·size⌉ rows', () => {
    const stratum = (ex: Examples, y: number, sex: string): number => {
      let k = 0;
      for (let i = 0; i < ex.n; i++) if (ex.y[i] === y && ex.sensitive.sex?.[i] === sex) k++;
      return k;
    };
    for (const y of [0, 1]) {
      for (const sex of ['F', 'M']) {
        const size = stratum(e, y, sex);
        const held = stratum(s.heldOut, y, sex);
        expect(held).toBeGreaterThanOrEqual(Math.floor(0.2 * size));
        expect(held).toBeLessThanOrEqual(Math.ceil(0.2 * size));
      }
    }
  });

  it('is deterministic from the seed and differs between seeds', () => {
    expect(holdoutSplit(e, { fraction: 0.2, seed: 42, strataAttributes: ['sex'] }).heldOutIndices).toEqual(s.heldOutIndices);
    expect(holdoutSplit(e, { fraction: 0.2, seed: 43, strataAttributes: ['sex'] }).heldOutIndices).not.toEqual(s.heldOutIndices);
  });

  it('refuses a bad fraction or an unknown stratum attribute', () => {
    expect(() => holdoutSplit(e, { fraction: 1, seed: 1 })).toThrow(/fraction/);
    expect(() => holdoutSplit(e, { fraction: 0.2, seed: 1, strataAttributes: ['race'] })).toThrow(/race/);
  });
});
