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
import { selectRows, type Examples } from './types.ts';

export function loadAdult(options: { dataDir: string; trainLimit?: number; testLimit?: number }): { train: Examples; test: Examples; sensitive: string[] } {
  const contract = compileContract(loadBuiltinContract('adult'));
  const read = (file: string, limit?: number): Examples => {
    const { examples } = readExamples(contract, join(options.dataDir, 'adult', file), { strict: true });
    return limit !== undefined && limit < examples.n ? selectRows(examples, Array.from({ length: limit }, (_, i) => i)) : examples;
  };
  return { train: read('adult.data', options.trainLimit), test: read('adult.test', options.testLimit), sensitive: [...contract.contract.sensitive] };
}
