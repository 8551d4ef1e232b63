/**
 * Issue 5 acceptance: on UCI Adult with sex and race and 20 clients, the per-client count vectors summed
 * equal the counts computed centrally on the union of the clients' held-out splits — exactly.
 * The predictor is fixed (no training): predict >50K when education-num ≥ 13 (Bachelors or more), with
 * score education-num / 16 as its "probability".
 */
import { describe, expect, it } from 'vitest';
import { selectRows } from '../datasets/types.ts';
import { deriveSeed } from '../privacy/random.ts';
import { countsLayout } from '../governance/fairness/layout.ts';
import { countsFromPredictions, decodeCounts, sumCounts } from '../governance/fairness/counts.ts';
import { holdoutSplit } from '../governance/fairness/holdout.ts';
import { fairnessReport } from '../governance/fairness/policy.ts';
import { ADULT_RACE, ADULT_SEX, loadAdult } from './fairness-adult-data.ts';

const CLIENTS = 20;
const JOB_SEED = 42;

describe('federated fairness counts on Adult', () => {
  const { examples, educationNum } = loadAdult();
  const layout = countsLayout({ attributes: [{ name: 'sex', values: ADULT_SEX }, { name: 'race', values: ADULT_RACE }], calibrationBins: 10 });
  const predict = (rows: readonly number[]) => ({
    predictedPositive: rows.map((r) => ((educationNum[r] ?? 0) >= 13 ? 1 : 0)),
    scores: rows.map((r) => (educationNum[r] ?? 0) / 16),
  });

  it('reads the data set the README describes', () => {
    // /work/shared/data/README.md: 32,561 rows; Male 21,790 and Female 10,771; 24.08 % positive.
    expect(examples.n).toBe(32561);
    expect(examples.sensitive.sex?.filter((s) => s === 'Male').length).toBe(21790);
    expect(examples.sensitive.sex?.filter((s) => s === 'Female').length).toBe(10771);
    expect([...examples.y].filter((v) => v === 1).length / examples.n).toBeCloseTo(0.2408, 4);
  });

  it('sums 20 client vectors to exactly the central counts of the union of held-out splits', () => {
    const per = Math.ceil(examples.n / CLIENTS);
    const clientVectors: Uint32Array[] = [];
    const unionRows: number[] = [];
    for (let c = 0; c < CLIENTS; c++) {
      const rows = Array.from({ length: Math.min(per, examples.n - c * per) }, (_, i) => c * per + i);
      const local = selectRows(examples, rows);
      const split = holdoutSplit(local, { fraction: 0.2, seed: deriveSeed(JOB_SEED, 'client', c), strataAttributes: ['sex', 'race'] });
      const globalRows = split.heldOutIndices.map((i) => rows[i] as number);
      unionRows.push(...globalRows);
      // The client only uses its own held-out examples and the model's outputs on them.
      clientVectors.push(countsFromPredictions({ labels: split.heldOut.y, ...predict(globalRows), groups: split.heldOut.sensitive, layout }));
    }
    const federated = sumCounts(clientVectors);

    const union = selectRows(examples, unionRows);
    const central = countsFromPredictions({ labels: union.y, ...predict(unionRows), groups: union.sensitive, layout });
    expect(federated.length).toBe(layout.length);
    expect([...federated]).toEqual([...central]);

    const decoded = decodeCounts(federated, layout);
    const total = decoded.overall.tp + decoded.overall.fp + decoded.overall.tn + decoded.overall.fn;
    expect(total).toBe(unionRows.length);
    // Each client holds out round(0.2 · n_c) rows: 19 clients of 1,629 rows (326 each) and one of 1,610 (322).
    expect(total).toBe(19 * 326 + 322);

    // The report from the federated sum is the report from the central counts, hash included.
    const fed = fairnessReport({ counts: decoded, rules: [{ metric: 'demographicParityDifference', attribute: 'sex', max: 0.1 }] });
    const cen = fairnessReport({ counts: decodeCounts(central, layout), rules: [{ metric: 'demographicParityDifference', attribute: 'sex', max: 0.1 }] });
    expect(fed).toEqual(cen);
    expect(Object.keys(fed.groups)).toEqual(['sex', 'race', 'sex×race']);
    // Small intersections (e.g. Female×Other) are suppressed, not reported as numbers.
    expect(fed.disparities['sex×race']?.suppressedGroups.length).toBeGreaterThan(0);
    const female = fed.groups.sex?.Female;
    const male = fed.groups.sex?.Male;
    expect(female?.suppressed === false && male?.suppressed === false).toBe(true);
  });
});
