import { describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { TesseraError } from '../../protocol/errors.ts';
import { parseContractText } from './load.ts';
import type { ContractInput } from './schema.ts';
import { contractHash, parseContract } from './schema.ts';

const base: ContractInput = {
  name: 'toy',
  version: '1.0.0',
  columns: [
    { name: 'age', type: 'integer', min: 0, max: 120 },
    { name: 'colour', type: 'category', categories: ['red', 'blue'], nullable: true },
    { name: 'y', type: 'category' },
  ],
  label: { column: 'y', values: ['no', 'yes'], normalise: { 'yes.': 'yes' } },
  features: [
    { column: 'age', transform: 'standardise', mean: 40, std: 10 },
    { column: 'colour', transform: 'onehot', categories: ['red', 'blue'] },
  ],
};

function invalid(input: unknown): string {
  try {
    parseContract(input);
  } catch (e) {
    if (e instanceof TesseraError && e.code === 'TESSERA_ERR_CONTRACT_INVALID') return e.message;
    throw e;
  }
  throw new Error('expected TESSERA_ERR_CONTRACT_INVALID');
}

describe('contract schema', () => {
  it('fills defaults (format, file options, drift thresholds, outlier rule)', () => {
    const c = parseContract(base);
    expect(c.format).toBe('tessera.data-contract/v1');
    expect(c.file).toMatchObject({ header: true, delimiter: ',', missingValues: [''], extraColumns: 'error' });
    expect(c.drift).toEqual({ psiThreshold: 0.25, ksAlpha: 0.05, ksMinStatistic: 0.1, onDrift: 'fail' });
    expect(c.outliers).toEqual({ rule: 'tukey', k: 3 });
  });

  it('names the field of each cross-field error', () => {
    expect(invalid({ ...base, label: { column: 'nope', values: ['a', 'b'] } })).toContain('label.column: label column "nope" is not among the columns');
    expect(invalid({ ...base, sensitive: ['sex'] })).toContain('sensitive.0: sensitive attribute "sex" is not among the columns');
    expect(invalid({ ...base, features: [{ column: 'colour', transform: 'standardise', mean: 0, std: 1 }] })).toContain('transform "standardise" does not fit category column "colour"');
    expect(invalid({ ...base, features: [{ column: 'y', transform: 'onehot', categories: ['no'] }] })).toContain('the label column "y" cannot be a feature');
    expect(invalid({ ...base, columns: [{ name: 'age', type: 'integer', min: 5, max: 1 }, ...(base.columns ?? []).slice(1)] })).toContain('min 5 exceeds max 1');
    expect(invalid({ ...base, label: { column: 'y', values: ['no', 'yes'], normalise: { x: 'maybe' } } })).toContain('label.normalise.x: "maybe" is not one of label.values');
    expect(invalid({ ...base, columns: [...(base.columns ?? []), { name: 'age', type: 'number' }] })).toContain('duplicate column "age"');
  });

  it('rejects unknown keys and wrong types, naming them', () => {
    expect(invalid({ ...base, colums: [] })).toMatch(/Unrecognized key.*colums/);
    expect(invalid({ ...base, columns: [{ name: 'age', type: 'float' }] })).toContain('columns.0.type');
    expect(invalid({ name: 'x' })).toMatch(/version.*columns|columns.*version/s);
  });

  it('hashes the same agreement identically whatever its spelling (JSON, YAML, key order, defaults written out)', () => {
    const h = contractHash(base);
    expect(h).toMatch(/^[0-9a-f]{64}$/);
    expect(contractHash(parseContract(base))).toBe(h);
    expect(contractHash(parseContractText(toYaml(base), 'toy.yaml'))).toBe(h);
    const reordered = JSON.parse(JSON.stringify({ features: base.features, label: base.label, columns: base.columns, version: base.version, name: base.name })) as ContractInput;
    expect(contractHash(reordered)).toBe(h);
    expect(contractHash({ ...base, drift: { psiThreshold: 0.25 } })).toBe(h);
    // Any change to the agreement changes the hash.
    expect(contractHash({ ...base, drift: { psiThreshold: 0.2 } })).not.toBe(h);
    expect(contractHash({ ...base, version: '1.0.1' })).not.toBe(h);
  });

  it('parses JSON text, falls back to YAML, and names the problem with text that is neither', () => {
    expect(parseContractText(JSON.stringify(base), 'toy.json').name).toBe('toy');
    expect(parseContractText(toYaml(base), 'toy.contract').name).toBe('toy');
    expect(() => parseContractText('{"name": ', 'broken.json')).toThrow(/neither valid JSON nor YAML/);
    expect(() => parseContractText('- a\n- b\n', 'list.yaml')).toThrow(/must be a JSON\/YAML object, got an array/);
  });
});
