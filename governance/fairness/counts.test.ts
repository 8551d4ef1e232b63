import { describe, expect, it } from 'vitest';
import { countsLayout, layoutFingerprint, layoutForJob, attributesFromData, sensitiveValuesFromContract } from './layout.ts';
import { loadBuiltinContract } from '../../datasets/contracts/index.ts';
import { countsFromPredictions, decodeCounts, maxCellValue, sumCounts } from './counts.ts';
import { FairnessSection } from '../../protocol/job/fairness.ts';

const attributes = [
  { name: 'sex', values: ['F', 'M'] },
  { name: 'race', values: ['A', 'B', 'C'] },
];

describe('countsLayout', () => {
  it('has one block for overall, each value of each attribute, and each value pair of the intersection', () => {
    const layout = countsLayout({ attributes, calibrationBins: 2 });
    // blocks = 1 (overall) + 2 (sex) + 3 (race) + 2·3 (sex×race) = 12; block = 4 confusion + 2 bins × 3 = 10 cells.
    expect(layout.blocks).toBe(12);
    expect(layout.blockSize).toBe(10);
    expect(layout.length).toBe(120);
    expect(layout.groupings.map((g) => [g.name, g.firstBlock])).toEqual([
      ['sex', 1],
      ['race', 3],
      ['sex×race', 6],
    ]);
    expect(layout.groupings[2]?.values).toEqual(['F×A', 'F×B', 'F×C', 'M×A', 'M×B', 'M×C']);
  });

  it('leaves intersections out at maxIntersectionOrder 1 and refuses bad declarations', () => {
    expect(countsLayout({ attributes, calibrationBins: 0, maxIntersectionOrder: 1 }).length).toBe((1 + 2 + 3) * 4);
    expect(() => countsLayout({ attributes: [{ name: 'sex', values: ['F', 'F'] }] })).toThrow(/listed twice/);
    expect(() => countsLayout({ attributes: [{ name: 'a×b', values: ['x'] }] })).toThrow(/contains/);
    expect(() => countsLayout({ attributes: [{ name: 'sex', values: [] }] })).toThrow(/no allowed values/);
  });

  it('comes from the job spec values or the contract categories, with a fingerprint that tells layouts apart', () => {
    const fairness = FairnessSection.parse({ sensitive: ['sex', 'race'], groupValues: { sex: ['F', 'M'] }, calibrationBins: 2 });
    const layout = layoutForJob(fairness, { race: ['A', 'B', 'C'] });
    expect(layoutFingerprint(layout)).toBe(layoutFingerprint(countsLayout({ attributes, calibrationBins: 2 })));
    expect(layoutFingerprint(layout)).not.toBe(layoutFingerprint(countsLayout({ attributes, calibrationBins: 3 })));
    expect(() => layoutForJob(fairness)).toThrow(/race/);
    expect(attributesFromData({ sex: ['M', 'F', 'M'] })).toEqual([{ name: 'sex', values: ['F', 'M'] }]);
  });

  it('takes the values from the built-in data contracts (valueLabels applied)', () => {
    expect(sensitiveValuesFromContract(loadBuiltinContract('heart'))).toEqual({ sex: ['female', 'male'] });
    const adult = sensitiveValuesFromContract(loadBuiltinContract('adult'));
    expect(adult.sex).toEqual(['Female', 'Male']);
    expect([...(adult.race ?? [])].sort()).toEqual(['Amer-Indian-Eskimo', 'Asian-Pac-Islander', 'Black', 'Other', 'White']);
    const layout = layoutForJob(FairnessSection.parse({ sensitive: ['sex', 'race'] }), adult);
    expect(layout.groupings.map((g) => g.name)).toEqual(['sex', 'race', 'sex×race']);
  });
});

describe('countsFromPredictions', () => {
  const layout = countsLayout({ attributes, calibrationBins: 2 });
  // Four examples: (label, prediction, score, sex, race)
  //  0: 1, 1, 0.9, M, B  → TP, bin 1
  //  1: 0, 1, 0.6, M, B  → FP, bin 1
  //  2: 0, 0, 0.2, F, A  → TN, bin 0
  //  3: 1, 0, 0.4, F, C  → FN, bin 0
  const input = {
    labels: [1, 0, 0, 1],
    predictedPositive: [1, 1, 0, 0],
    scores: [0.9, 0.6, 0.2, 0.4],
    groups: { sex: ['M', 'M', 'F', 'F'], race: ['B', 'B', 'A', 'C'] },
    layout,
  };

  it('puts each example into the overall block and one block per grouping', () => {
    const v = countsFromPredictions(input);
    const d = decodeCounts(v, layout);
    expect(d.overall).toEqual({ tp: 1, fp: 1, tn: 1, fn: 1, bins: [{ examples: 2, positives: 1, scoreSum: 600 }, { examples: 2, positives: 1, scoreSum: 1500 }] });
    expect(d.groupings.sex?.M).toEqual({ tp: 1, fp: 1, tn: 0, fn: 0, bins: [{ examples: 0, positives: 0, scoreSum: 0 }, { examples: 2, positives: 1, scoreSum: 1500 }] });
    expect(d.groupings['sex×race']?.['F×C']).toMatchObject({ tp: 0, fp: 0, tn: 0, fn: 1 });
    expect(d.groupings['sex×race']?.['M×A']).toMatchObject({ tp: 0, fp: 0, tn: 0, fn: 0 });
    // M×B is block 6 + (1·3 + 1) = 10 → cells 100..103 hold TP, FP, TN, FN.
    expect([...v.subarray(100, 104)]).toEqual([1, 1, 0, 0]);
    // Every example is counted once per grouping: each grouping's totals equal the overall total.
    const total = (g: Record<string, { tp: number; fp: number; tn: number; fn: number }>): number => Object.values(g).reduce((s, c) => s + c.tp + c.fp + c.tn + c.fn, 0);
    for (const g of Object.values(d.groupings)) expect(total(g)).toBe(4);
  });

  it('rejects undeclared values, non-binary labels, bad scores and missing scores', () => {
    expect(() => countsFromPredictions({ ...input, groups: { sex: ['M', 'M', 'F', 'X'], race: input.groups.race } })).toThrow(/"X" of "sex" is not one of the declared values/);
    expect(() => countsFromPredictions({ ...input, labels: [1, 0, 2, 1] })).toThrow(/label of example 2 must be 0 or 1/);
    expect(() => countsFromPredictions({ ...input, scores: [0.9, 1.2, 0.2, 0.4] })).toThrow(/probability/);
    const { scores: _scores, ...noScores } = input;
    expect(() => countsFromPredictions(noScores)).toThrow(/no scores/);
    expect(() => countsFromPredictions({ ...input, groups: { sex: input.groups.sex } })).toThrow(/race/);
  });

  it('sums element-wise, refuses mixed layouts and 32-bit overflow, and decodes only matching lengths', () => {
    const v = countsFromPredictions(input);
    const s = sumCounts([v, v, v]);
    expect(decodeCounts(s, layout).overall.tp).toBe(3);
    expect(() => sumCounts([v, v.subarray(1)])).toThrow(/differ in length/);
    expect(() => sumCounts([Uint32Array.of(0xffffffff), Uint32Array.of(1)])).toThrow(/32-bit/);
    expect(() => sumCounts([])).toThrow(/at least one/);
    expect(() => decodeCounts(v.subarray(1), layout)).toThrow(/layout expects 120/);
  });

  it('bounds every cell for the secure-aggregation modulus', () => {
    const v = countsFromPredictions({ ...input, scores: [1, 1, 1, 1] });
    // All four scores are 1 → the overall block's last bin holds a score sum of 4 · 1000 = the bound.
    expect(Math.max(...v)).toBe(maxCellValue(layout, 4));
    expect(maxCellValue(countsLayout({ attributes, calibrationBins: 0 }), 4)).toBe(4);
  });
});
