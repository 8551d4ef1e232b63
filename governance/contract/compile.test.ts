import { describe, expect, it } from 'vitest';
import { parseCsvText } from '../../lib/csv.ts';
import { compileContract } from './compile.ts';
import type { ContractInput } from './schema.ts';

const contract: ContractInput = {
  name: 'clinic',
  version: '1.0.0',
  file: { missingValues: ['?', ''] },
  columns: [
    { name: 'age', type: 'integer', min: 0, max: 120 },
    { name: 'chol', type: 'number', nullable: true, missingSentinels: [0] },
    { name: 'sex', type: 'integer', categories: ['0', '1'], valueLabels: { '0': 'female', '1': 'male' } },
    { name: 'cp', type: 'integer', categories: ['1', '2', '3'] },
    { name: 'income', type: 'number', min: 0 },
    { name: 'smoker', type: 'boolean' },
    { name: 'num', type: 'integer' },
  ],
  label: { column: 'num', values: ['absent', 'present'], normalise: { '0': 'absent', '1': 'present', '2': 'present' } },
  sensitive: ['sex'],
  features: [
    { column: 'age', transform: 'standardise', mean: 50, std: 10 },
    { column: 'age', transform: 'bucketise', boundaries: [40, 60] },
    { column: 'chol', transform: 'minmax', min: 100, max: 300, clip: true },
    { column: 'sex', transform: 'passthrough' },
    { column: 'cp', transform: 'onehot', categories: ['1', '2', '3'] },
    { column: 'income', transform: 'log', offset: 1 },
    { column: 'smoker', transform: 'passthrough' },
  ],
};

const csv = ['age,chol,sex,cp,income,smoker,num', '30,200,1,2,0,true,0', '70.0,0,0,3,99,no,2', '55,?,1,1,e,yes,1', 'x,150,2,4,-5,maybe,7', '50,400,0,1,0,false,0'].join('\n');

describe('compileContract', () => {
  const compiled = compileContract(contract);
  const table = parseCsvText(csv, {}, 'clinic.csv');

  it('lists feature names in transform order', () => {
    expect(compiled.featureNames).toEqual(['age', 'age<=40', '40<age<=60', 'age>60', 'chol', 'sex', 'cp=1', 'cp=2', 'cp=3', 'income', 'smoker']);
    expect(compiled.featureCount).toBe(11);
  });

  it('the row schema types cells, turns markers and sentinels into null, and normalises the label', () => {
    expect(compiled.rowSchema.parse({ age: '70.0', chol: '0', sex: '0', cp: '3', income: '99', smoker: 'no', num: '2' })).toEqual({ age: 70, chol: null, sex: 0, cp: 3, income: 99, smoker: false, num: 'present' });
    const bad = compiled.rowSchema.safeParse({ age: 'x', chol: '150', sex: '2', cp: '1', income: '-5', smoker: 'true', num: '7' });
    expect(bad.success).toBe(false);
    const issues = bad.error?.issues.map((i) => [i.path[0], (i as { params?: { kind?: string } }).params?.kind]);
    expect(issues).toEqual([
      ['age', 'type'],
      ['sex', 'category'],
      ['income', 'range'],
      ['num', 'label'],
    ]);
  });

  it('parseRows keeps valid rows and names row, file line, column, kind and value of every broken rule', () => {
    const r = compiled.parseRows(table.header, table.rows, { lines: table.lines });
    expect(r.rows).toHaveLength(3);
    expect(r.rejected).toEqual([3, 4]);
    const summary = r.errors.map((e) => `${e.line}:${e.column}:${e.kind}:${e.value}`);
    expect(summary).toEqual(['4:income:type:e', '5:age:type:x', '5:sex:category:2', '5:cp:category:4', '5:income:range:-5', '5:smoker:type:maybe', '5:num:label:7']);
    expect(r.errors[0]?.message).toBe('column "income": expected a number, got "e"');
    expect(() => compiled.parseRows(['age'], [['1']])).toThrow(/lacks columns "chol", "sex"/);
  });

  it('toExamples applies the transforms, maps labels to class indices and keeps sensitive values by their labels', () => {
    const { rows } = compiled.parseRows(table.header, table.rows);
    const ex = compiled.toExamples(rows);
    expect(ex.n).toBe(3);
    expect(ex.featureShape).toEqual([11]);
    expect(ex.classNames).toEqual(['absent', 'present']);
    expect(Array.from(ex.y)).toEqual([0, 1, 0]);
    expect(ex.sensitive).toEqual({ sex: ['male', 'female', 'female'] });
    const row = (i: number) => Array.from(ex.x.subarray(i * 11, (i + 1) * 11)).map((v) => Math.round(v * 1e6) / 1e6);
    // age 30: (30 − 50)/10 = −2, bucket ≤ 40; chol (200 − 100)/200 = 0.5; cp 2; ln(0 + 1) = 0; smoker true.
    expect(row(0)).toEqual([-2, 1, 0, 0, 0.5, 1, 0, 1, 0, 0, 1]);
    // age 70: 2, bucket > 60; chol 0 is the missing sentinel → 0 after the transform; ln(100) = 4.60517.
    expect(row(1)).toEqual([2, 0, 0, 1, 0, 0, 0, 0, 1, 4.60517, 0]);
    // chol 400 is clipped to 1 by min-max with clip.
    expect(row(2)).toEqual([0, 0, 1, 0, 1, 0, 1, 0, 0, 0, 0]);
  });

  it('refuses to make examples without a label', () => {
    const { label: _label, ...unlabelled } = contract;
    expect(() => compileContract(unlabelled).toExamples([])).toThrow(/declares no label/);
  });
});
