import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { countsLayout } from './layout.ts';
import { countsFromPredictions, decodeCounts } from './counts.ts';
import { canonicalReportJson, evaluatePolicy, fairnessReport, reportHash } from './policy.ts';
import { FairnessSection, type FairnessRule } from '../../protocol/job/fairness.ts';

// Two groups of `sex`: F with 10 predicted positive of 50 (selection 0.2), M with 14 of 50 (0.28).
// F: TP 8, FP 2, TN 36, FN 4 → accuracy 44/50 = 0.88; M: TP 10, FP 4, TN 30, FN 6 → accuracy 40/50 = 0.8.
function dataset(): { labels: number[]; predicted: number[]; sex: string[] } {
  const labels: number[] = [];
  const predicted: number[] = [];
  const sex: string[] = [];
  const add = (s: string, k: number, y: number, p: number): void => {
    for (let i = 0; i < k; i++) {
      labels.push(y);
      predicted.push(p);
      sex.push(s);
    }
  };
  add('F', 8, 1, 1); add('F', 2, 0, 1); add('F', 36, 0, 0); add('F', 4, 1, 0);
  add('M', 10, 1, 1); add('M', 4, 0, 1); add('M', 30, 0, 0); add('M', 6, 1, 0);
  return { labels, predicted, sex };
}

const layout = countsLayout({ attributes: [{ name: 'sex', values: ['F', 'M'] }], calibrationBins: 0 });
const d = dataset();
const counts = decodeCounts(countsFromPredictions({ labels: d.labels, predictedPositive: d.predicted, groups: { sex: d.sex }, layout }), layout);

describe('fairness policy', () => {
  const rules: FairnessRule[] = [
    { metric: 'demographicParityDifference', attribute: 'sex', max: 0.1 }, // 0.28 − 0.2 = 0.08 → pass
    { metric: 'worstGroupAccuracy', attribute: 'sex', min: 0.85 }, // min(0.88, 0.8) = 0.8 → fail
    { metric: 'demographicParityDifference', attribute: 'sex', max: 0.08 }, // 0.28 − 0.2 is 0.08000000000000002 in floats; bound is inclusive → pass
    { metric: 'accuracyGap', attribute: 'race', max: 0.1 }, // not in the report → not computable
  ];
  const report = fairnessReport({ counts, rules, context: { job: 'unit', round: 3 } });

  it('records pass / fail / not-computable per rule and fails overall', () => {
    expect(report.policy.rules.map((r) => r.status)).toEqual(['pass', 'fail', 'pass', 'not-computable']);
    expect(report.policy.rules[0]?.value).toBeCloseTo(0.08, 12);
    expect(report.policy.rules[1]?.reason).toBe('worstGroupAccuracy 0.8 < min 0.85');
    expect(report.policy.rules[3]?.reason).toMatch(/no attribute "race"/);
    expect(report.policy.passed).toBe(false);
    expect(evaluatePolicy([rules[0] as FairnessRule], report.disparities).passed).toBe(true);
    expect(evaluatePolicy([], report.disparities).passed).toBe(true);
  });

  it('a rule over an undefined metric does not pass', () => {
    const r = evaluatePolicy([{ metric: 'equalOpportunityDifference', attribute: 'sex', max: 1 }], {
      sex: { ...report.disparities.sex!, equalOpportunityDifference: null, nullReasons: { equalOpportunityDifference: 'fewer than two reportable groups define this rate' } },
    });
    expect(r.rules[0]).toMatchObject({ status: 'not-computable', value: null });
    expect(r.passed).toBe(false);
  });

  it('hashes the RFC 8785 canonical JSON: stable under key order, sensitive to content', () => {
    const json = canonicalReportJson(report);
    expect(reportHash(report)).toBe(createHash('sha256').update(json).digest('hex'));
    const shuffled = Object.fromEntries(Object.entries(report).reverse()) as typeof report;
    expect(Object.keys(shuffled)[0]).not.toBe(Object.keys(report)[0]);
    expect(reportHash(shuffled)).toBe(reportHash(report));
    expect(reportHash({ ...report, context: { job: 'unit', round: 4 } })).not.toBe(reportHash(report));
    expect(json).not.toMatch(/NaN/);
  });

  it('carries the settings a reader needs', () => {
    expect(report.settings).toEqual({ minGroupSize: 20, calibrationBins: 0, z: 1.959963984540054, attributes: [{ name: 'sex', values: ['F', 'M'] }], maxIntersectionOrder: 1 });
    expect(report.schema).toBe('tessera.fairness-report/1');
  });
});

describe('FairnessSection (job spec)', () => {
  it('parses rules and rejects rules that name undeclared attributes or have no bound', () => {
    const ok = FairnessSection.parse({ sensitive: ['sex', 'race'], policy: [{ metric: 'demographicParityDifference', attribute: 'sex×race', max: 0.1 }] });
    expect(ok.policy).toHaveLength(1);
    expect(ok.minGroupSize).toBe(20);
    expect(FairnessSection.safeParse({ sensitive: ['sex'], policy: [{ metric: 'accuracyGap', attribute: 'race', max: 0.1 }] }).success).toBe(false);
    expect(FairnessSection.safeParse({ sensitive: ['sex'], policy: [{ metric: 'accuracyGap', attribute: 'sex' }] }).success).toBe(false);
    expect(FairnessSection.safeParse({ sensitive: ['sex'], policy: [{ metric: 'accuracy', attribute: 'sex', max: 1 }] }).success).toBe(false);
  });
});
