/**
 * Issue 3 on UCI Adult (../shared/data/adult): a contract inferred from adult.data passes adult.test once
 * the label normalisation (">50K." → ">50K") is declared, and a copy of adult.test with age + 15 years is
 * reported as drift on age and on no other column (checked by the CLI in a child process). The built-in
 * adult contract reproduces the counts published in ../shared/data/README.md.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readCsv } from '../lib/csv.ts';
import { checkData } from '../governance/contract/check.ts';
import { compileContract } from '../governance/contract/compile.ts';
import { inferContract } from '../governance/contract/infer.ts';
import { readContractTable, writeContract } from '../governance/contract/load.ts';
import { loadBuiltinContract } from '../datasets/contracts/index.ts';
import { SHARED_DATA_DIR } from './paths.ts';
import { cli, type CliResult } from './support/cli.ts';

const ADULT_COLUMNS = ['age', 'workclass', 'fnlwgt', 'education', 'education-num', 'marital-status', 'occupation', 'relationship', 'race', 'sex', 'capital-gain', 'capital-loss', 'hours-per-week', 'native-country', 'income'];
const DATA = join(SHARED_DATA_DIR, 'adult', 'adult.data');
const TEST = join(SHARED_DATA_DIR, 'adult', 'adult.test');

const dir = mkdtempSync(join(tmpdir(), 'tessera-contract-adult-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `tessera …` as a child process, as a user's shell would run it. */
const tessera = (args: readonly string[]): Promise<CliResult> => cli(...args);

describe('contract inferred from adult.data', () => {
  // The comment prefix lets the same contract read adult.test, whose first line is "|1x3 Cross validator".
  const inferred = inferContract(readCsv(DATA, { header: false, columns: ADULT_COLUMNS, commentPrefix: '|' }), {
    name: 'adult',
    label: 'income',
    sensitive: ['sex', 'race'],
    file: { commentPrefix: '|' },
  });

  it('infers the published schema: 6 numeric columns, 8 categories, ? as the missing marker', () => {
    expect(inferred.file.missingValues).toEqual(['?', '']);
    expect(inferred.columns.filter((c) => c.type === 'integer').map((c) => c.name)).toEqual(['age', 'fnlwgt', 'education-num', 'capital-gain', 'capital-loss', 'hours-per-week']);
    expect(inferred.columns.find((c) => c.name === 'native-country')?.categories).toHaveLength(41); // adult.names lists 41 countries
    expect(inferred.columns.filter((c) => c.nullable).map((c) => c.name)).toEqual(['workclass', 'occupation', 'native-country']);
    expect(inferred.label).toMatchObject({ values: ['<=50K', '>50K'], positive: '>50K' });
    expect(inferred.reference?.label?.frequencies['>50K']).toBeCloseTo(0.2408, 4); // README: 24.08% of train rows
  });

  it('rejects adult.test until the label normalisation is declared, then passes it', () => {
    const test = readContractTable(inferred, TEST);
    expect(test.rows).toHaveLength(16281);
    const before = checkData(inferred, test);
    expect(before.passed).toBe(false);
    expect(before.violations.map((v) => `${v.kind}:${v.column}:${v.count}`)).toEqual(['label-unknown:income:16281']);
    expect(before.violations[0]?.message).toContain('line 2: "<=50K."');

    const reviewed = { ...inferred, label: { ...inferred.label!, normalise: { '>50K.': '>50K', '<=50K.': '<=50K' } } };
    const after = checkData(reviewed, test);
    expect(after.violations).toEqual([]);
    expect(after.drift.filter((d) => d.drifted)).toEqual([]);
    expect(after.passed).toBe(true);
    writeContract(join(dir, 'adult.contract.json'), compileContract(reviewed).contract);
  });

  it('reports a copy of adult.test with age + 15 as drift on age and on no other column (CLI, exit 1)', async () => {
    // Shift the first field of every data line; keep the junk first line and everything else byte for byte.
    const shifted = readFileSync(TEST, 'utf8')
      .split('\n')
      .map((line) => (/^\d+,/.test(line) ? line.replace(/^(\d+)/, (age) => String(Number(age) + 15)) : line))
      .join('\n');
    writeFileSync(join(dir, 'adult-age15.test'), shifted);
    const run = await tessera(['contract', 'check', '--contract', join(dir, 'adult.contract.json'), '--data', join(dir, 'adult-age15.test'), '--json']);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as { passed: boolean; drift: { column: string; statistic: string; value: number; threshold: number; drifted: boolean }[]; violations: { column: string; kind: string }[] };
    expect(report.passed).toBe(false);
    const drifted = report.drift.filter((d) => d.drifted);
    expect(new Set(drifted.map((d) => d.column))).toEqual(new Set(['age']));
    expect(drifted.map((d) => d.statistic).sort()).toEqual(['ks', 'psi']);
    expect(report.drift.filter((d) => d.column !== 'age').length).toBeGreaterThan(10);
    // Ages above the widened maximum are range violations, on age only.
    expect(new Set(report.violations.map((v) => v.column))).toEqual(new Set(['age']));
  });
});

describe('built-in adult contract', () => {
  const contract = loadBuiltinContract('adult');
  const compiled = compileContract(contract);

  it('loads adult.data into examples with the published counts', () => {
    const t = readContractTable(contract, DATA);
    const { rows, errorCount } = compiled.parseRows(t.header, t.rows, { lines: t.lines });
    expect(errorCount).toBe(0);
    const ex = compiled.toExamples(rows);
    // README: 32,561 rows; 24.08% >50K; Male 21,790 rows (30.57% positive), Female 10,771 (10.95% positive).
    expect(ex.n).toBe(32561);
    expect(ex.featureShape).toEqual([105]); // 6 standardised + 8 + 16 + 7 + 14 + 6 + 5 + 2 + 41 one-hot
    expect(ex.classNames).toEqual(['<=50K', '>50K']);
    expect(ex.y.reduce((a, b) => a + b, 0) / ex.n).toBeCloseTo(0.2408, 4);
    const sex = ex.sensitive.sex ?? [];
    const rate = (g: string) => {
      let n = 0;
      let pos = 0;
      sex.forEach((s, i) => {
        if (s !== g) return;
        n++;
        pos += ex.y[i] ?? 0;
      });
      return [n, pos / n];
    };
    expect(rate('Male')[0]).toBe(21790);
    expect(rate('Male')[1]).toBeCloseTo(0.3057, 4);
    expect(rate('Female')[0]).toBe(10771);
    expect(rate('Female')[1]).toBeCloseTo(0.1095, 4);
    expect(Object.keys(ex.sensitive)).toEqual(['sex', 'race']);
  });

  it("parseRows' per-cell fast path gives the row schema's rows exactly, and broken rows still get the schema's errors", () => {
    const t = readContractTable(contract, DATA);
    const some = t.rows.filter((_, i) => i % 7 === 0);
    const { rows } = compiled.parseRows(t.header, some);
    const viaSchema = some.map((cells) => compiled.rowSchema.parse(Object.fromEntries(t.header.map((h, j) => [h, cells[j] ?? '']))));
    expect(rows).toEqual(viaSchema);
    // Same keys in the same order (toExamples and the checks iterate them).
    expect(rows.map((r) => Object.keys(r).join())).toEqual(viaSchema.map((r) => Object.keys(r).join()));
    // A row with a broken cell among clean ones: rejected with the schema's own issues, the others kept.
    const broken = [some[0] ?? [], (some[1] ?? []).map((c, j) => (j === 0 ? 'old' : j === 9 ? 'Other' : c)), some[2] ?? []];
    const r = compiled.parseRows(t.header, broken);
    expect(r.rows).toHaveLength(2);
    expect(r.rejected).toEqual([2]);
    const schemaIssues = compiled.rowSchema.safeParse(Object.fromEntries(t.header.map((h, j) => [h, broken[1]?.[j] ?? '']))).error?.issues.map((i) => i.message);
    expect(r.errors.map((e) => e.message)).toEqual(schemaIssues);
    expect(r.errors.map((e) => [e.column, e.kind])).toEqual([
      ['age', 'type'],
      ['sex', 'category'],
    ]);
  });

  it('passes adult.test with its declared label normalisation', () => {
    const report = checkData(compiled, readContractTable(contract, TEST));
    expect(report.violations).toEqual([]);
    expect(report.passed).toBe(true);
    expect(report.label?.counts['>50K']).toBe(3846); // 16,281 test rows, 23.62% positive
  });
});
