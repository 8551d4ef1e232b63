import { describe, expect, it } from 'vitest';
import { parseCsvText } from '../../lib/csv.ts';
import { auditPredictions, parsePredictions } from './predictions-file.ts';
import { fairnessReportMarkdown } from './report-markdown.ts';

const csv = (text: string) => parseCsvText(text, {}, 'preds.csv');
const cols = { label: 'y', prediction: 'p', groups: ['sex'] };

/** 24 F rows (TP 6, FP 2, TN 14, FN 2) and 3 M rows, as CSV text. */
function sample(): string {
  const lines = ['y,p,s,sex'];
  const add = (k: number, y: string, p: string, s: string, sex: string): void => {
    for (let i = 0; i < k; i++) lines.push(`${y},${p},${s},${sex}`);
  };
  add(6, '1', '1', '0.9', 'F');
  add(2, '0', '1', '0.7', 'F');
  add(14, '0', '0', '0.1', 'F');
  add(2, '1', '0', '0.3', 'F');
  add(3, '0', '0', '0.2', 'M');
  return lines.join('\n');
}

describe('parsePredictions / auditPredictions', () => {
  it('reports per group and suppresses the small group', () => {
    const report = auditPredictions(parsePredictions(csv(sample()), { ...cols, score: 's' }));
    const f = report.groups.sex?.F;
    if (!f || f.suppressed) throw new Error('F should be reportable');
    expect(f.count).toBe(24);
    expect(f.accuracy).toBeCloseTo(20 / 24, 12); // (6 + 14) / 24
    expect(f.selectionRate).toBeCloseTo(8 / 24, 12); // (6 + 2) / 24
    // ECE over 10 bins: bin 9 {0.9 ×6: 6 positives, Σs 5.4}, bin 7 {0.7 ×2: 0, 1.4}, bin 1 {0.1 ×14: 0, 1.4},
    // bin 3 {0.3 ×2: 2, 0.6} → (|6 − 5.4| + |0 − 1.4| + |0 − 1.4| + |2 − 0.6|) / 24 = 4.8 / 24 = 0.2
    expect(f.expectedCalibrationError).toBeCloseTo(0.2, 12);
    expect(report.groups.sex?.M).toEqual({ suppressed: true, reason: 'fewer than 20 examples' });
    expect(report.disparities.sex?.demographicParityDifference).toBeNull();
    expect(report.context).toMatchObject({ rows: 27, positiveLabel: '1' });
    expect(fairnessReportMarkdown(report)).toContain('| M | suppressed (fewer than 20 examples) |');
  });

  it('uses --positive for textual labels', () => {
    const p = parsePredictions(csv('y,p,sex\n>50K,<=50K,F\n<=50K,<=50K,M\n'), { ...cols, positive: '>50K' });
    expect([...p.labels]).toEqual([1, 0]);
    expect([...p.predictedPositive]).toEqual([0, 0]);
    expect(() => parsePredictions(csv('y,p,sex\n>50K,<=50K,F\n'), cols)).toThrow(/--positive/);
  });

  it('names what is wrong', () => {
    expect(() => parsePredictions(csv('y,q,sex\n1,1,F\n'), cols)).toThrow(/no column "p"; its columns are "y", "q", "sex"/);
    expect(() => parsePredictions(csv('y,p,sex\n1,1,F\n2,1,F\n0,0,M\n'), cols)).toThrow(/non-binary labels: column "y" has 3 distinct values/);
    expect(() => parsePredictions(csv('y,p,sex\n1,1,\n0,0,\n'), cols)).toThrow(/group column "sex" is empty: none of its 2 rows/);
    expect(() => parsePredictions(csv('y,p,sex\n1,1,F\n0,0,\n'), cols)).toThrow(/preds.csv line 3: group column "sex" is empty \(1 of 2 rows\)/);
    expect(() => parsePredictions(csv('y,p,s,sex\n1,1,1.5,F\n'), { ...cols, score: 's' })).toThrow(/not a probability/);
    expect(() => parsePredictions(csv('y,p,sex\n1,,F\n'), cols)).toThrow(/prediction column "p" is empty/);
  });
});
