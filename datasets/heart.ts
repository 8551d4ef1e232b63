/**
 * UCI Heart Disease, four hospitals (Janosi, Steinbrunn, Pfisterer, Detrano; CC BY 4.0): a natural
 * federation, one client per hospital. Parsing and preprocessing come from the built-in data contract
 * (cholesterol 0 = not measured, `?` = missing). There is no published test split, so each hospital keeps a
 * held-out 20%, stratified by label and sex and deterministic from the seed; the test set is their union.
 */
import { join } from 'node:path';
import { compileContract } from '../governance/contract/compile.ts';
import { readExamples } from '../governance/contract/load.ts';
import { holdoutSplit } from '../governance/fairness/holdout.ts';
import { deriveSeed } from '../privacy/random.ts';
import { loadBuiltinContract } from './contracts/index.ts';
import { selectTableRows, type CsvTable } from '../lib/csv.ts';
import { concatExamples, type Examples } from './types.ts';

export const HEART_HOSPITALS = ['cleveland', 'hungarian', 'switzerland', 'va'] as const;

export const HEART_TEST_FRACTION = 0.2;

export function loadHeart(options: { dataDir: string; seed: string | number }): {
  train: Examples;
  test: Examples;
  natural: Array<{ name: string; examples: Examples; table: CsvTable }>;
  sensitive: string[];
} {
  const contract = compileContract(loadBuiltinContract('heart'));
  const parts = HEART_HOSPITALS.map((name) => {
    const { examples, table } = readExamples(contract, join(options.dataDir, 'heart', `processed.${name}.data`), { strict: true });
    const split = holdoutSplit(examples, { fraction: HEART_TEST_FRACTION, seed: deriveSeed(options.seed, 'heart-test', name), strataAttributes: ['sex'] });
    return { name, train: split.train, test: split.heldOut, table: selectTableRows(table, split.trainIndices) };
  });
  return {
    train: concatExamples(parts.map((p) => p.train)),
    test: concatExamples(parts.map((p) => p.test)),
    natural: parts.map((p) => ({ name: p.name, examples: p.train, table: p.table })),
    sensitive: [...contract.contract.sensitive],
  };
}
