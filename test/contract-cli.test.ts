/**
 * `tessera contract` in child processes (issue 3): malformed inputs — a text value in a numeric column, a
 * missing column, an empty file, a file that is not CSV, a contract that is not valid — each end with a
 * clear message naming the problem and the documented exit code, never a stack trace; and infer → check
 * on Cleveland. Each child process loads the whole CLI (seconds), so further error cases are checked
 * in-process in contract-errors.test.ts.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { contractHash } from '../governance/contract/schema.ts';
import { loadContract } from '../governance/contract/load.ts';
import { SHARED_DATA_DIR } from './paths.ts';
import { cli, type CliResult } from './support/cli.ts';


/** `tessera …` as a child process, as a user's shell would run it. */
const tessera = (args: readonly string[]): Promise<CliResult> => cli('contract', ...args);

const dir = mkdtempSync(join(tmpdir(), 'tessera-contract-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string | Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};

const contract = file(
  'people.contract.json',
  JSON.stringify({
    name: 'people',
    version: '1.0.0',
    columns: [
      { name: 'age', type: 'integer', min: 0, max: 120 },
      { name: 'chol', type: 'number' },
      { name: 'sex', type: 'category', categories: ['F', 'M'] },
    ],
  }),
);
const good = file('good.csv', 'age,chol,sex\n40,200,F\n50,210,M\n');

/** A stack trace has lines like "    at fn (file:line:col)". */
const STACK = /^\s+at\s/m;

function expectClean(run: CliResult): void {
  expect(run.stderr).not.toMatch(STACK);
  expect(run.stdout).not.toMatch(STACK);
}

describe.concurrent('tessera contract check on malformed input', () => {
  it('a text value in a numeric column: exit 1, naming column, line and value', async () => {
    const run = await tessera(['check', '--contract', contract, '--data', file('text.csv', 'age,chol,sex\n40,200,F\nforty,210,M\n'), '--json']);
    expect(run.code).toBe(1);
    const report = JSON.parse(run.stdout) as { passed: boolean; violations: { column: string; kind: string; message: string; examples: unknown[] }[] };
    expect(report.passed).toBe(false);
    expect(report.violations).toEqual([
      expect.objectContaining({ column: 'age', kind: 'type', message: 'column "age": 1 value is not an integer (line 3: "forty")', examples: [{ row: 2, line: 3, value: 'forty' }] }),
    ]);
    expectClean(run);
  });

  it('a missing column: exit 1, naming the column', async () => {
    const run = await tessera(['check', '--contract', contract, '--data', file('nochol.csv', 'age,sex\n40,F\n')]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('[missing-column] column "chol" is missing from the data');
    expectClean(run);
  });

  it('an empty file: exit 2, TESSERA_ERR_DATA_EMPTY', async () => {
    const run = await tessera(['check', '--contract', contract, '--data', file('empty.csv', '')]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error \[TESSERA_ERR_DATA_EMPTY\]: Data file .*empty\.csv is empty\n$/);
    expectClean(run);
  });

  it('a binary file: exit 2, "not a delimited text file"', async () => {
    const run = await tessera(['check', '--contract', contract, '--data', file('data.csv.gz', gzipSync('age,chol,sex\n40,200,F\n')), '--json']);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual({ error: expect.objectContaining({ code: 'TESSERA_ERR_DATA_MALFORMED' }) });
    expect(run.stderr).toMatch(/data\.csv\.gz is not a delimited text file: it contains binary data/);
    expectClean(run);
  });

  it('a contract that breaks the schema: exit 2, naming the field', async () => {
    const bad = file('bad.contract.json', JSON.stringify({ name: 'x', version: '1', columns: [{ name: 'age', type: 'float' }] }));
    const run = await tessera(['check', '--contract', bad, '--data', good]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error \[TESSERA_ERR_CONTRACT_INVALID\]: Invalid contract .*bad\.contract\.json: columns\.0\.type: /);
    expectClean(run);
  });
});

describe('tessera contract infer → check', () => {
  it('round-trips on Cleveland (file without a header, columns named on the command line)', async () => {
    const out = join(dir, 'heart.contract.yaml');
    const cleveland = join(SHARED_DATA_DIR, 'heart', 'processed.cleveland.data');
    const infer = await tessera(['infer', '--data', cleveland, '--columns', 'age,sex,cp,trestbps,chol,fbs,restecg,thalach,exang,oldpeak,slope,ca,thal,num', '--label', 'num', '--sensitive', 'sex', '--out', out, '--json']);
    expect(infer.code).toBe(0);
    const written = JSON.parse(infer.stdout) as { hash: string; rows: number };
    expect(written.rows).toBe(303);
    expect(written.hash).toBe(contractHash(loadContract(out)));
    const check = await tessera(['check', '--contract', out, '--data', cleveland, '--json']);
    expect(check.code).toBe(0);
    expect((JSON.parse(check.stdout) as { passed: boolean }).passed).toBe(true);
  });
});
