/**
 * UCI Adult (Becker & Kohavi 1996, CC BY 4.0): DIR/adult/adult.data for training and DIR/adult/adult.test
 * for testing. Parsing, missing values (`?`), label normalisation (`>50K.` → `>50K`) and preprocessing
 * (standardise, one-hot) all come from the built-in data contract — the one definition used by training,
 * evaluation and serving. Rows that break the contract are refused with row and column named.
 */
import { join } from 'node:path';
import { compileContract } from '../governance/contract/compile.ts';
import { readExamples } from '../governance/contract/load.ts';
import { loadBuiltinContract } from './contracts/index.ts';
import { selectTableRows, type CsvTable } from '../lib/csv.ts';
import { selectRows, type Examples } from './types.ts';

export function loadAdult(options: { dataDir: string; trainLimit?: number; testLimit?: number }): { train: Examples; test: Examples; trainTable: CsvTable; sensitive: string[] } {
  const contract = compileContract(loadBuiltinContract('adult'));
  const read = (file: string, limit?: number): { examples: Examples; table: CsvTable } => {
    const { examples, table } = readExamples(contract, join(options.dataDir, 'adult', file), { strict: true });
    if (limit === undefined || limit >= examples.n) return { examples, table };
    const rows = Array.from({ length: limit }, (_, i) => i);
    return { examples: selectRows(examples, rows), table: selectTableRows(table, rows) };
  };
  const train = read('adult.data', options.trainLimit);
  return { train: train.examples, trainTable: train.table, test: read('adult.test', options.testLimit).examples, sensitive: [...contract.contract.sensitive] };
}
