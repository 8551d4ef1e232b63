/**
 * `tessera fairness` in a child process: the JSON document's shape on a valid file, and exit code 2 with a
 * clear message for a missing column, non-binary labels and an empty group column (issue 5).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, type CliResult } from './support/cli.ts';


/** `tessera …` as a child process, as a user's shell would run it. */
const tessera = (args: readonly string[]): Promise<CliResult> => cli(...args);

const dir = mkdtempSync(join(tmpdir(), 'tessera-fairness-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

// 40 rows: sex F (20) and M (20), race a/b alternating; labels and predictions as ">50K"/"<=50K".
const rows = ['income,pred,score,sex,race'];
for (let i = 0; i < 40; i++) {
  const sex = i < 20 ? 'F' : 'M';
  const y = i % 4 === 0 ? '>50K' : '<=50K';
  const p = i % 5 === 0 || (sex === 'M' && i % 3 === 0) ? '>50K' : '<=50K';
  rows.push(`${y},${p},${p === '>50K' ? 0.8 : 0.2},${sex},${i % 2 === 0 ? 'a' : 'b'}`);
}
const good = file('good.csv', rows);
const base = ['fairness', '--label', 'income', '--prediction', 'pred', '--group', 'sex,race', '--positive', '>50K'];

describe('tessera fairness (child process)', () => {
  // The four runs start together: each pays the CLI's start-up once, in parallel.
  const runs = Promise.all([
    tessera([...base, '--predictions', good, '--score', 'score', '--json']),
    tessera([...base, '--predictions', good, '--group', 'sex,ethnicity']),
    tessera(['fairness', '--predictions', file('multi.csv', ['y,p,sex', '0,0,F', '1,1,M', '2,1,F']), '--label', 'y', '--prediction', 'p', '--group', 'sex']),
    tessera(['fairness', '--predictions', file('empty-group.csv', ['y,p,sex', '0,0,', '1,1,']), '--label', 'y', '--prediction', 'p', '--group', 'sex']),
  ]);

  it('prints one JSON document with groups, overall and disparities (intersections as sex×race)', async () => {
    const [ok] = await runs;
    expect(ok.code).toBe(0);
    const doc = JSON.parse(ok.stdout) as {
      groups: Record<string, Record<string, Record<string, unknown>>>;
      overall: Record<string, unknown>;
      disparities: Record<string, Record<string, unknown>>;
    };
    expect(Object.keys(doc.groups)).toEqual(['sex', 'race', 'sex×race']);
    expect(doc.groups.sex?.F).toMatchObject({ count: 20 });
    for (const key of ['count', 'accuracy', 'selectionRate', 'tpr', 'fpr', 'fnr', 'precision', 'expectedCalibrationError']) expect(doc.groups.sex?.F).toHaveProperty(key);
    expect(doc.overall).toMatchObject({ count: 40 });
    // F: predicted positive at i ∈ {0, 5, 10, 15} → 4/20 = 0.2; M (i = 20..39): i%5 = 0 or i%3 = 0 →
    // {20, 21, 24, 25, 27, 30, 33, 35, 36, 39} → 10/20 = 0.5. Difference 0.3, ratio 0.4.
    expect(doc.disparities.sex?.demographicParityDifference).toBeCloseTo(0.3, 12);
    expect(doc.disparities.sex?.demographicParityRatio).toBeCloseTo(0.4, 12);
    for (const key of ['equalizedOddsDifference', 'equalOpportunityDifference', 'accuracyGap', 'worstGroupAccuracy']) expect(doc.disparities.sex).toHaveProperty(key);
    // Intersections hold 10 rows each: suppressed at the default minimum of 20.
    expect(doc.groups['sex×race']?.['F×a']).toEqual({ suppressed: true, reason: 'fewer than 20 examples' });
  });

  it('exits 2 naming a missing column', async () => {
    const [, missing] = await runs;
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/TESSERA_ERR_FAIRNESS_INPUT.*no column "ethnicity"/);
  });

  it('exits 2 on non-binary labels', async () => {
    const [, , multi] = await runs;
    expect(multi.code).toBe(2);
    expect(multi.stderr).toMatch(/non-binary labels: column "y" has 3 distinct values/);
  });

  it('exits 2 on an empty group column', async () => {
    const [, , , empty] = await runs;
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/group column "sex" is empty/);
  });
});
