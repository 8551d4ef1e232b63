import { describe, expect, it } from 'vitest';
import { countsLayout } from './layout.ts';
import { countsFromPredictions, decodeCounts } from './counts.ts';
import { fairnessReport, type FairnessReport } from './policy.ts';
import { fairnessReportMarkdown, markdownCell } from './report-markdown.ts';
import { disparitySeries, groupMetricOverRoundsMarkdown, groupMetricSeries } from './over-rounds.ts';

const layout = countsLayout({ attributes: [{ name: 'sex', values: ['F', 'M', 'X'] }], calibrationBins: 0 });

/** F: `fPos` of 20 predicted positive (all labels positive); M: 10 of 20; X: 5 rows (suppressed). */
function report(fPos: number): FairnessReport {
  const labels: number[] = [];
  const pred: number[] = [];
  const sex: string[] = [];
  for (let i = 0; i < 20; i++) {
    labels.push(1, 1);
    pred.push(i < fPos ? 1 : 0, i < 10 ? 1 : 0);
    sex.push('F', 'M');
  }
  for (let i = 0; i < 5; i++) {
    labels.push(0);
    pred.push(0);
    sex.push('X');
  }
  const counts = decodeCounts(countsFromPredictions({ labels, predictedPositive: pred, groups: { sex }, layout }), layout);
  return fairnessReport({ counts, rules: [{ metric: 'demographicParityDifference', attribute: 'sex', max: 0.2 }] });
}

describe('fairnessReportMarkdown', () => {
  const md = fairnessReportMarkdown(report(4), { title: 'Round 1' });

  it('renders groups with Wilson intervals, suppressed rows, n/a reasons, disparities and policy', () => {
    expect(md).toContain('## Round 1');
    // F: selection 4/20 = 0.2, accuracy 4/20 = 0.2; Wilson 95 % for 4/20 is [0.081, 0.416].
    expect(md).toContain('| F | 20 | 0.200 [0.081, 0.416] | 0.200 [0.081, 0.416] |');
    expect(md).toContain('| X | suppressed (fewer than 20 examples) |');
    // All labels positive → FPR undefined in F and M.
    expect(md).toContain('- F: fpr n/a — no negative examples (FP + TN = 0)');
    // DP difference 0.5 − 0.2 = 0.3 > 0.2 → fail.
    expect(md).toContain('### Policy: FAILED');
    expect(md).toMatch(/\| demographicParityDifference on sex ≤ 0\.2 \| 0\.300 \| fail \|/);
    expect(md).toContain('ECE is n/a: no scores were given.');
    expect(md).not.toMatch(/NaN/);
  });

  it('escapes table-breaking characters', () => {
    expect(markdownCell('a|b\nc')).toBe('a\\|b c');
  });
});

describe('over rounds', () => {
  const rounds = [
    { round: 1, report: report(4) },
    { round: 2, report: report(8) },
    { round: 3, report: report(10) },
  ];
  it('builds one series per reportable group and one per attribute for a disparity', () => {
    const s = groupMetricSeries(rounds, { attribute: 'sex', metric: 'selectionRate' });
    expect(s.map((x) => x.name)).toEqual(['F', 'M']); // X is suppressed in every round
    expect(s[0]?.points.map((p) => p.y)).toEqual([0.2, 0.4, 0.5]);
    expect(groupMetricSeries(rounds, { attribute: 'sex', metric: 'selectionRate', includeSuppressed: true })[2]?.points.map((p) => p.y)).toEqual([null, null, null]);
    const d = disparitySeries(rounds, { attributes: ['sex'], metric: 'demographicParityDifference' });
    expect(d[0]?.points.map((p) => Number(p.y?.toFixed(12)))).toEqual([0.3, 0.1, 0]);
  });
  it('renders a round-by-round table with the policy verdict', () => {
    const t = groupMetricOverRoundsMarkdown(rounds, { attribute: 'sex', metric: 'selectionRate', disparity: 'demographicParityDifference' });
    expect(t.split('\n')).toEqual([
      '| round | F | M | X | demographicParityDifference | policy |',
      '|---|---|---|---|---|---|',
      '| 1 | 0.200 | 0.500 | suppressed | 0.300 | fail |',
      '| 2 | 0.400 | 0.500 | suppressed | 0.100 | pass |',
      '| 3 | 0.500 | 0.500 | suppressed | 0.000 | pass |',
    ]);
  });
});
