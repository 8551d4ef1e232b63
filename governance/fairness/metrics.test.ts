import { describe, expect, it } from 'vitest';
import { countsLayout } from './layout.ts';
import { countsFromPredictions, decodeCounts, type GroupCounts } from './counts.ts';
import { disparities, expectedCalibrationError, fairnessMetrics, groupMetrics, type GroupMetrics } from './metrics.ts';
import { wilsonInterval } from './wilson.ts';

/** Rows realising the given confusion counts for one group value. */
function rows(group: string, tp: number, fp: number, tn: number, fn: number): Array<[number, number, string]> {
  const out: Array<[number, number, string]> = [];
  const push = (k: number, y: number, p: number): void => {
    for (let i = 0; i < k; i++) out.push([y, p, group]);
  };
  push(tp, 1, 1);
  push(fp, 0, 1);
  push(tn, 0, 0);
  push(fn, 1, 0);
  return out;
}

// Hand-built evaluation over one attribute `g` with four values:
//   A: TP 5, FP 3, TN 15, FN 2  (25 examples)
//   B: TP 10, FP 2, TN 12, FN 6 (30 examples)
//   C: TP 1, FP 1, TN 2, FN 1   (5 examples → suppressed at minGroupSize 20)
//   D: TP 0, FP 4, TN 16, FN 0  (20 examples, no positive examples)
//   E: declared but absent      (0 examples → suppressed)
const data = [...rows('A', 5, 3, 15, 2), ...rows('B', 10, 2, 12, 6), ...rows('C', 1, 1, 2, 1), ...rows('D', 0, 4, 16, 0)];
const layout = countsLayout({ attributes: [{ name: 'g', values: ['A', 'B', 'C', 'D', 'E'] }], calibrationBins: 0 });
const counts = decodeCounts(
  countsFromPredictions({ labels: data.map((r) => r[0]), predictedPositive: data.map((r) => r[1]), groups: { g: data.map((r) => r[2]) }, layout }),
  layout,
);
const m = fairnessMetrics(counts, { minGroupSize: 20 });
const group = (v: string): GroupMetrics => {
  const r = m.groups.g?.[v];
  if (!r || r.suppressed) throw new Error(`group ${v} is suppressed`);
  return r;
};

describe('per-group metrics', () => {
  it('pins every rate of group A', () => {
    const a = group('A');
    expect(a.count).toBe(25);
    expect(a.accuracy).toBeCloseTo((5 + 15) / 25, 12); // 0.8
    expect(a.selectionRate).toBeCloseTo((5 + 3) / 25, 12); // 0.32
    expect(a.tpr).toBeCloseTo(5 / (5 + 2), 12); // 0.714285…
    expect(a.fpr).toBeCloseTo(3 / (3 + 15), 12); // 0.1666…
    expect(a.fnr).toBeCloseTo(2 / (5 + 2), 12); // 0.285714…
    expect(a.precision).toBeCloseTo(5 / (5 + 3), 12); // 0.625
    expect(a.intervals.tpr).toEqual(wilsonInterval({ successes: 5, trials: 7 }));
    expect(a.intervals.accuracy).toEqual(wilsonInterval({ successes: 20, trials: 25 }));
    expect(a.expectedCalibrationError).toBeNull();
    expect(a.nullReasons.expectedCalibrationError).toMatch(/no scores/);
  });

  it('pins every rate of group B', () => {
    const b = group('B');
    expect(b.count).toBe(30);
    expect(b.accuracy).toBeCloseTo(22 / 30, 12); // 0.7333…
    expect(b.selectionRate).toBeCloseTo(12 / 30, 12); // 0.4
    expect(b.tpr).toBeCloseTo(10 / 16, 12); // 0.625
    expect(b.fpr).toBeCloseTo(2 / 14, 12); // 0.142857…
    expect(b.fnr).toBeCloseTo(6 / 16, 12); // 0.375
    expect(b.precision).toBeCloseTo(10 / 12, 12); // 0.8333…
  });

  it('gives a group with no positives null TPR/FNR with a reason, never NaN', () => {
    const d = group('D');
    expect(d.tpr).toBeNull();
    expect(d.fnr).toBeNull();
    expect(d.intervals.tpr).toBeNull();
    expect(d.nullReasons.tpr).toBe('no positive examples (TP + FN = 0)');
    expect(d.fpr).toBeCloseTo(4 / 20, 12); // 0.2
    expect(d.precision).toBe(0); // 0 TP of 4 predicted positives
    expect(d.accuracy).toBeCloseTo(16 / 20, 12);
    expect(JSON.stringify(m)).not.toMatch(/NaN|Infinity/);
  });

  it('suppresses small and empty groups without numbers', () => {
    expect(m.groups.g?.C).toEqual({ suppressed: true, reason: 'fewer than 20 examples' });
    expect(m.groups.g?.E).toEqual({ suppressed: true, reason: 'no examples' });
    expect(m.overall).toMatchObject({ suppressed: false, count: 80 });
  });

  it('gives precision null when nothing is predicted positive', () => {
    const r = groupMetrics({ tp: 0, fp: 0, tn: 15, fn: 5, bins: [] }, { minGroupSize: 20 });
    expect(r.suppressed).toBe(false);
    if (!r.suppressed) {
      expect(r.precision).toBeNull();
      expect(r.nullReasons.precision).toMatch(/no positive predictions/);
      expect(r.selectionRate).toBe(0);
      expect(r.fnr).toBe(1);
    }
  });
});

describe('disparities (Fairlearn definitions)', () => {
  const d = m.disparities.g;
  it('compares only reportable groups', () => {
    expect(d?.groupsCompared).toEqual(['A', 'B', 'D']);
    expect(d?.suppressedGroups).toEqual(['C', 'E']);
  });
  it('demographic parity: max − min and min / max selection rate', () => {
    // selection rates A 0.32, B 0.40, D 0.20 → difference 0.40 − 0.20 = 0.20, ratio 0.20 / 0.40 = 0.5
    expect(d?.demographicParityDifference).toBeCloseTo(0.2, 12);
    expect(d?.demographicParityRatio).toBeCloseTo(0.5, 12);
  });
  it('equal opportunity and equalised odds leave D out of the TPR comparison', () => {
    // TPR A 5/7 = 0.714286, B 0.625 (D undefined) → 5/7 − 5/8 = 5/56 = 0.0892857
    expect(d?.equalOpportunityDifference).toBeCloseTo(5 / 56, 12);
    // FPR A 1/6, B 1/7, D 1/5 → 1/5 − 1/7 = 2/35 = 0.0571; equalised odds = max(5/56, 2/35) = 5/56
    expect(d?.equalizedOddsDifference).toBeCloseTo(5 / 56, 12);
    expect(d?.notes).toContain('tpr: D left out (no positive examples (TP + FN = 0))');
  });
  it('accuracy gap and worst-group accuracy', () => {
    // accuracy A 0.8, B 22/30 = 0.7333, D 0.8 → gap 0.8 − 0.7333 = 0.0667, worst 0.7333 (B)
    expect(d?.accuracyGap).toBeCloseTo(0.8 - 22 / 30, 12);
    expect(d?.worstGroupAccuracy).toBeCloseTo(22 / 30, 12);
    expect(d?.worstGroup).toBe('B');
  });
  it('is null with a reason when fewer than two groups are reportable', () => {
    const one = disparities({ A: group('A'), C: { suppressed: true, reason: 'small' } });
    expect(one.demographicParityDifference).toBeNull();
    expect(one.nullReasons.demographicParityDifference).toMatch(/fewer than two/);
    expect(one.worstGroupAccuracy).toBeCloseTo(0.8, 12); // defined for one group
    const none = disparities({ C: { suppressed: true, reason: 'small' } });
    expect(none.worstGroupAccuracy).toBeNull();
    expect(none.nullReasons.worstGroupAccuracy).toBe('no reportable group');
  });
  it('demographic parity ratio is null (not 0/0) when nobody is selected', () => {
    const zero = (tn: number, fn: number): GroupCounts => ({ tp: 0, fp: 0, tn, fn, bins: [] });
    const r = disparities({ A: groupMetrics(zero(20, 5)), B: groupMetrics(zero(30, 0)) });
    expect(r.demographicParityDifference).toBe(0);
    expect(r.demographicParityRatio).toBeNull();
    expect(r.nullReasons.demographicParityRatio).toMatch(/0\/0/);
  });
});

describe('expectedCalibrationError', () => {
  it('matches Σ_b (n_b/n)|acc_b − conf_b| on a hand example', () => {
    // Two bins. Bin 0: scores 0.2 (y=0), 0.4 (y=1) → positives 1, Σs = 0.6. Bin 1: 0.7 (y=1), 0.9 (y=1) → 2, 1.6.
    // ECE = (2/4)·|1/2 − 0.3| + (2/4)·|2/2 − 0.8| = 0.1 + 0.1 = 0.2
    const c: GroupCounts = { tp: 0, fp: 0, tn: 0, fn: 0, bins: [{ examples: 2, positives: 1, scoreSum: 600 }, { examples: 2, positives: 2, scoreSum: 1600 }] };
    expect(expectedCalibrationError(c).value).toBeCloseTo(0.2, 12);
  });
  it('is computed from counts produced by countsFromPredictions', () => {
    const l = countsLayout({ attributes: [{ name: 'g', values: ['x'] }], calibrationBins: 2 });
    const v = countsFromPredictions({ labels: [0, 1, 1, 1], predictedPositive: [0, 0, 1, 1], scores: [0.2, 0.4, 0.7, 0.9], groups: { g: ['x', 'x', 'x', 'x'] }, layout: l });
    const r = groupMetrics(decodeCounts(v, l).overall, { minGroupSize: 1 });
    expect(r.suppressed ? null : r.expectedCalibrationError).toBeCloseTo(0.2, 12);
  });
});
