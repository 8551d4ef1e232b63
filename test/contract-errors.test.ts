/**
 * Further malformed inputs for data contracts, in-process (the CLI cases are in contract-cli.test.ts): each
 * is a TesseraError with the documented code and a message naming the problem, or a violation in the report.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkData } from '../governance/contract/check.ts';
import { loadContract, readContractTable, readExamples } from '../governance/contract/load.ts';
import { parseContract } from '../governance/contract/schema.ts';
import { loadBuiltinContract } from '../datasets/contracts/index.ts';
import { thrownTesseraError as error } from './support/thrown.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-contract-errors-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, content: string) => {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
};


const headerless = parseContract({ name: 'p', version: '1', file: { header: false }, columns: ['a', 'b', 'c'].map((name) => ({ name, type: 'number' })) });

describe('malformed data', () => {
  it('a file without a header that lacks a column is a column-count violation naming the expected columns', () => {
    const report = checkData(headerless, readContractTable(headerless, file('two.csv', '1,2\n3,4\n')));
    expect(report.passed).toBe(false);
    expect(report.violations).toEqual([expect.objectContaining({ kind: 'column-count', column: null, message: expect.stringContaining('the data has 2 fields per row but contract "p" lists 3 columns (a, b, c)') })]);
    expect(report.drift).toEqual([]);
  });

  it('a row with a missing field names its line', () => {
    const e = error(() => readContractTable(headerless, file('ragged.csv', '1,2,3\n4,5\n')));
    expect(e.code).toBe('TESSERA_ERR_DATA_MALFORMED');
    expect(e.message).toMatch(/ragged\.csv line 2 has 2 fields but line 1 has 3/);
  });

  it('prose is not CSV: the line whose field count differs is named', () => {
    const e = error(() => readContractTable(loadBuiltinContract('heart'), file('notes.txt', 'Meeting notes\nWe agreed, after some debate, to ship.\n')));
    expect(e.code).toBe('TESSERA_ERR_DATA_MALFORMED');
    expect(e.message).toMatch(/notes\.txt line 2 has 3 fields but line 1 has 1 \(delimiter ","\)/);
  });

  it('an extra column in a file with a header is a violation, unless the contract ignores extra columns', () => {
    const c = { name: 'q', version: '1', columns: [{ name: 'a', type: 'number' as const }] };
    const data = file('extra.csv', 'a,secret\n1,x\n');
    expect(checkData(c, readContractTable(parseContract(c), data)).violations).toEqual([expect.objectContaining({ kind: 'extra-column', column: 'secret', message: 'column "secret" is not in contract "q"' })]);
    const lenient = parseContract({ ...c, file: { extraColumns: 'ignore' } });
    expect(checkData(lenient, readContractTable(lenient, data)).passed).toBe(true);
  });
});

describe('readExamples (what the dataset loaders call)', () => {
  const heart = loadBuiltinContract('heart');
  const data = file('heart-bad.data', '63.0,1.0,1.0,145.0,233.0,1.0,2.0,150.0,0.0,2.3,3.0,0.0,6.0,0\nsixty,1,4,160,286,0,2,108,1,1.5,2,3,3,2\n67,1,4,120,0,0,2,129,1,2.6,2,2,7,1\n');

  it('drops rows that break the contract and says which', () => {
    const { examples, rejected, errors } = readExamples(heart, data);
    expect(examples.n).toBe(2);
    expect(Array.from(examples.y)).toEqual([0, 1]);
    expect(rejected).toEqual([2]);
    expect(errors).toEqual([expect.objectContaining({ line: 2, column: 'age', kind: 'type', value: 'sixty' })]);
  });

  it('with strict, fails the load naming the first bad line', () => {
    const e = error(() => readExamples(heart, data, { strict: true }));
    expect(e.code).toBe('TESSERA_ERR_DATA_MALFORMED');
    expect(e.message).toMatch(/heart-bad\.data: 1 row breaks contract "heart"; first at line 2: column "age": expected a number, got "sixty"/);
  });
});

describe('malformed contracts', () => {
  it('maxMissingRate on a column that is not nullable', () => {
    const e = error(() => parseContract({ name: 'x', version: '1', columns: [{ name: 'a', type: 'number', maxMissingRate: 0.2 }] }));
    expect(e.message).toContain('columns.0.maxMissingRate: maxMissingRate applies to nullable columns');
  });

  it('text that is neither JSON nor YAML', () => {
    const e = error(() => loadContract(file('broken.json', '{"name": "x", ')));
    expect(e.code).toBe('TESSERA_ERR_CONTRACT_INVALID');
    expect(e.message).toMatch(/broken\.json is neither valid JSON nor YAML/);
  });

  it('a contract file that does not exist', () => {
    const e = error(() => loadContract(join(dir, 'nope.json')));
    expect(e.code).toBe('TESSERA_ERR_FILE_UNREADABLE');
    expect(e.message).toMatch(/Cannot read contract .*nope\.json \(ENOENT\)/);
  });

  it('a YAML contract with a wrong field is named by its path', () => {
    const e = error(() => loadContract(file('c.yaml', 'name: x\nversion: "1"\ncolumns:\n  - name: a\n    type: number\n    maxMissingRate: 2\n')));
    expect(e.code).toBe('TESSERA_ERR_CONTRACT_INVALID');
    expect(e.message).toMatch(/c\.yaml: columns\.0\.maxMissingRate: /);
  });

  it('an unknown built-in contract', () => {
    expect(error(() => loadBuiltinContract('mnist')).message).toBe('No built-in contract "mnist"; built-in contracts: adult, heart');
  });
});
