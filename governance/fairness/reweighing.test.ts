import { describe, expect, it } from 'vitest';
import { applyReweighing, reweighingWeights } from './reweighing.ts';
import type { Examples } from '../../datasets/types.ts';

// N = 10. F: 4 rows (1 positive, 3 negative); M: 6 rows (4 positive, 2 negative). n_pos = 5, n_neg = 5.
// Kamiran & Calders (2012): w(g, y) = n_g · n_y / (N · n_{g,y})
//   w(F,1) = 4·5/(10·1) = 2      w(F,0) = 4·5/(10·3) = 2/3
//   w(M,1) = 6·5/(10·4) = 0.75   w(M,0) = 6·5/(10·2) = 1.5
const labels = [1, 0, 0, 0, 1, 1, 1, 1, 0, 0];
const sex = ['F', 'F', 'F', 'F', 'M', 'M', 'M', 'M', 'M', 'M'];

describe('reweighing', () => {
  const { weights, table } = reweighingWeights({ labels, groups: { sex } });

  it('matches the hand-computed weights', () => {
    const expected = [2, 2 / 3, 2 / 3, 2 / 3, 0.75, 0.75, 0.75, 0.75, 1.5, 1.5];
    expected.forEach((w, i) => expect(weights[i]).toBeCloseTo(w, 6));
    expect(table.cells).toEqual([
      { group: 'F', label: 0, count: 3, weight: 2 / 3 },
      { group: 'F', label: 1, count: 1, weight: 2 },
      { group: 'M', label: 0, count: 2, weight: 1.5 },
      { group: 'M', label: 1, count: 4, weight: 0.75 },
    ]);
    expect(table.groupCounts).toEqual({ F: 4, M: 6 });
    expect(table.labelCounts).toEqual({ '0': 5, '1': 5 });
  });

  it('keeps the total weight N and makes the label independent of the group', () => {
    // Σw = 1·2 + 3·(2/3) + 4·0.75 + 2·1.5 = 10; weighted positive share F: 2/(2+2) = 0.5, M: 3/(3+3) = 0.5.
    expect([...weights].reduce((a, b) => a + b, 0)).toBeCloseTo(10, 5);
    const share = (g: string): number => {
      let pos = 0;
      let all = 0;
      sex.forEach((s, i) => {
        if (s !== g) return;
        all += weights[i]!;
        if (labels[i] === 1) pos += weights[i]!;
      });
      return pos / all;
    };
    expect(share('F')).toBeCloseTo(0.5, 6);
    expect(share('M')).toBeCloseTo(0.5, 6);
  });

  it('uses the intersection of several attributes and multiplies existing weights', () => {
    const race = ['a', 'b', 'a', 'b', 'a', 'b', 'a', 'b', 'a', 'b'];
    const both = reweighingWeights({ labels, groups: { sex, race } });
    expect(both.table.attributes).toEqual(['sex', 'race']);
    expect(Object.keys(both.table.groupCounts)).toEqual(['F×a', 'F×b', 'M×a', 'M×b']);
    const ex: Examples = { x: new Float32Array(10), y: Int32Array.from(labels), n: 10, featureShape: [1], classes: 2, classNames: ['0', '1'], sensitive: { sex }, weights: new Float32Array(10).fill(2) };
    const applied = applyReweighing(ex);
    expect(applied.examples.weights?.[0]).toBeCloseTo(4, 6);
    expect(ex.weights?.[0]).toBe(2); // input untouched
    expect(() => reweighingWeights({ labels, groups: { sex }, attributes: ['race'] })).toThrow(/race/);
  });
});
