/**
 * Issue 3 on the UCI Heart Disease data (../shared/data/heart): a contract inferred from Cleveland passes
 * Cleveland and, on Switzerland, names cholesterol (0 written for "not measured") and the label-balance
 * shift; the built-in heart contract is the preprocessing definition of the four-hospital federation.
 * Label and sex shares are those published in ../shared/data/README.md.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCsv } from '../lib/csv.ts';
import { checkData } from '../governance/contract/check.ts';
import { compileContract } from '../governance/contract/compile.ts';
import { inferContract } from '../governance/contract/infer.ts';
import { readContractTable } from '../governance/contract/load.ts';
import { summariseForCoordinator } from '../governance/contract/summary.ts';
import { dataContractContribution, decodeDataContractSum, driftLayout } from '../governance/contract/drift-extension.ts';
import { parseJobSpec } from '../protocol/job/spec.ts';
import { loadBuiltinContract } from '../datasets/contracts/index.ts';
import { SHARED_DATA_DIR } from './paths.ts';

const HEART_COLUMNS = ['age', 'sex', 'cp', 'trestbps', 'chol', 'fbs', 'restecg', 'thalach', 'exang', 'oldpeak', 'slope', 'ca', 'thal', 'num'];
const HOSPITALS = ['cleveland', 'hungarian', 'switzerland', 'va'] as const;
const path = (h: string) => join(SHARED_DATA_DIR, 'heart', `processed.${h}.data`);
const read = (h: string) => readCsv(path(h), { header: false, columns: HEART_COLUMNS });

describe('contract inferred from Cleveland', () => {
  const contract = inferContract(read('cleveland'), { name: 'heart-cleveland', label: 'num', sensitive: ['sex'] });

  it('infers the coded columns as categories and the measurements as ranges', () => {
    const col = (name: string) => contract.columns.find((c) => c.name === name);
    expect(col('cp')?.categories).toEqual(['1', '2', '3', '4']);
    expect(col('thal')).toMatchObject({ categories: ['3', '6', '7'], nullable: true }); // 2 of 303 rows are '?'
    expect(col('chol')).toMatchObject({ type: 'integer', nullable: false });
    expect(col('chol')?.min).toBeGreaterThan(0); // observed 126–564
    expect(contract.label?.values).toEqual(['0', '1', '2', '3', '4']);
    expect(contract.reference?.label?.frequencies['0']).toBeCloseTo(164 / 303, 6);
  });

  it('passes Cleveland itself: no violation, every drift statistic 0', () => {
    const report = checkData(contract, read('cleveland'));
    expect(report.violations).toEqual([]);
    expect(report.passed).toBe(true);
    expect(report.drift.length).toBeGreaterThan(10);
    for (const d of report.drift) expect(d.value).toBe(0);
  });

  it('on Switzerland, names cholesterol 0 as a violation and as drift, and reports the label-balance shift', () => {
    const report = checkData(contract, read('switzerland'));
    expect(report.passed).toBe(false);
    const chol = report.violations.filter((v) => v.column === 'chol');
    expect(chol.map((v) => v.kind)).toContain('range');
    expect(chol.find((v) => v.kind === 'range')).toMatchObject({ count: 123, examples: expect.arrayContaining([{ row: 1, line: 1, value: '0' }]) });
    expect(chol.find((v) => v.kind === 'range')?.message).toMatch(/^column "chol": 123 values are outside \[82, 608\]/);
    // All 123 values are 0 and the reference has none below 126: the KS statistic is exactly 1.
    expect(report.drift.find((d) => d.column === 'chol' && d.statistic === 'ks')).toMatchObject({ value: 1, drifted: true });
    // Label: Cleveland has 54.1% in class 0 (164/303), Switzerland 6.5% (8/123).
    const balance = report.violations.filter((v) => v.kind === 'label-balance');
    expect(balance.map((v) => v.message)).toContain('label "0": share 6.5% of 123 rows is outside [44.1%, 64.2%]');
    expect(report.drift.find((d) => d.column === 'num')).toMatchObject({ statistic: 'psi', drifted: true });
    // The summary for the coordinator names the column and kind, with counts only.
    const summary = summariseForCoordinator(report);
    expect(summary.violations).toContainEqual({ code: 'range', column: 'chol', count: 123 });
    expect(summary.violations).toContainEqual({ code: 'label-balance', column: 'num', count: 8 });
  });
});

describe('built-in heart contract', () => {
  const contract = loadBuiltinContract('heart');
  const compiled = compileContract(contract);

  it('accepts Cleveland, Hungarian and VA (drift only warns) and excludes Switzerland for cholesterol', () => {
    const reports = Object.fromEntries(HOSPITALS.map((h) => [h, checkData(compiled, readContractTable(contract, path(h)))]));
    expect(reports.cleveland?.passed).toBe(true);
    expect(reports.hungarian?.passed).toBe(true);
    expect(reports.va?.passed).toBe(true);
    expect(reports.va?.drift.some((d) => d.drifted)).toBe(true);
    const swiss = reports.switzerland;
    expect(swiss?.passed).toBe(false);
    // 0 is declared "not measured": all 123 Switzerland values count as missing, over the 30% limit.
    expect(swiss?.violations.find((v) => v.column === 'chol')).toMatchObject({ kind: 'missing-rate', count: 123, rate: 1, limit: 0.3 });
    // VA: 49 zeros + 7 '?' = 56 of 200 = 28% missing, within the limit.
    expect(reports.va?.columns.find((c) => c.column === 'chol')).toMatchObject({ missing: 56, missingRate: 0.28 });

    // What the coordinator sees: the sum of the hospitals' contract-check vectors (drift-extension.ts), decoded.
    const job = parseJobSpec({ model: { kind: 'logistic', inputs: 15, classes: 2 }, data: { dataset: 'heart' }, rounds: 1, sampling: { mode: 'poisson', rate: 1 } });
    const layout = driftLayout(contract);
    const vectors = HOSPITALS.map((h) => dataContractContribution(summariseForCoordinator(reports[h] as NonNullable<(typeof reports)[string]>), layout, job));
    const sum = vectors.reduce((acc, v) => acc.map((x, i) => x + (v[i] as number)));
    const decoded = decodeDataContractSum(sum, layout);
    expect(decoded).toMatchObject({ checked: 4, passed: 3 });
    const thalach = decoded.drift.find((a) => a.column === 'thalach' && a.statistic === 'ks');
    expect(thalach).toMatchObject({ clients: 4 });
    expect(thalach?.driftedClients).toBeGreaterThanOrEqual(2);
  });

  it('is the preprocessing definition: every row of each hospital becomes an example; shares match the README', () => {
    // ../shared/data/README.md: share positive 45.9%, 36.1%, 93.5%, 74.5%; share male 68%, 72%, 92%, 97%.
    const expected = { cleveland: [303, 0.459, 0.68], hungarian: [294, 0.361, 0.72], switzerland: [123, 0.935, 0.92], va: [200, 0.745, 0.97] } as const;
    expect(compiled.featureNames).toEqual(['age', 'sex', 'cp=1', 'cp=2', 'cp=3', 'cp=4', 'trestbps', 'chol', 'fbs', 'restecg=0', 'restecg=1', 'restecg=2', 'thalach', 'exang', 'oldpeak']);
    for (const h of HOSPITALS) {
      const t = readContractTable(contract, path(h));
      const { rows, errors } = compiled.parseRows(t.header, t.rows, { lines: t.lines });
      expect(errors).toEqual([]);
      const ex = compiled.toExamples(rows);
      const [n, positive, male] = expected[h];
      expect(ex.n).toBe(n);
      expect(ex.classNames).toEqual(['absent', 'present']);
      expect(ex.y.reduce((a, b) => a + b, 0) / n).toBeCloseTo(positive, 3);
      expect((ex.sensitive.sex ?? []).filter((s) => s === 'male').length / n).toBeCloseTo(male, 2);
      expect(ex.x.every(Number.isFinite)).toBe(true);
    }
  });
});
