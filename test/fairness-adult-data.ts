/**
 * A minimal reader of UCI Adult (Becker & Kohavi 1996, doi:10.24432/C5XW20) for the fairness tests, through
 * the project's CSV reader. Features are a small fixed preprocessing (enough for a logistic model); the
 * sensitive attributes `sex` and `race` are kept as raw categories in Examples.sensitive.
 */
import { join } from 'node:path';
import { readCsv } from '../lib/csv.ts';
import type { Examples } from '../datasets/types.ts';
import { SHARED_DATA_DIR } from './paths.ts';

export const ADULT_COLUMNS = [
  'age', 'workclass', 'fnlwgt', 'education', 'education-num', 'marital-status', 'occupation', 'relationship',
  'race', 'sex', 'capital-gain', 'capital-loss', 'hours-per-week', 'native-country', 'income',
] as const;

/** The values adult.names declares for the two sensitive attributes, in a fixed order. */
export const ADULT_SEX = ['Female', 'Male'] as const;
export const ADULT_RACE = ['Amer-Indian-Eskimo', 'Asian-Pac-Islander', 'Black', 'Other', 'White'] as const;

/**
 * Numeric features are standardised with fixed constants (mean, standard deviation over adult.data, rounded)
 * so that a few rounds of training converge; the two indicators stay 0/1.
 */
export const ADULT_FEATURES = ['z(age)', 'z(education-num)', 'z(hours-per-week)', 'z(log1p(capital-gain))', 'z(log1p(capital-loss))', 'married-civ-spouse', 'male'] as const;
const z = (v: number, mean: number, sd: number): number => (v - mean) / sd;

export interface AdultRows {
  examples: Examples;
  /** education-num per row (for a fixed, training-free predictor). */
  educationNum: Int32Array;
}

export function loadAdult(file: 'adult.data' | 'adult.test' = 'adult.data'): AdultRows {
  const table = readCsv(join(SHARED_DATA_DIR, 'adult', file), { header: false, columns: ADULT_COLUMNS, skipLines: file === 'adult.test' ? 1 : 0 });
  const col = (name: (typeof ADULT_COLUMNS)[number]): number => table.header.indexOf(name);
  const [age, edu, marital, race, sex, gain, loss, hours, income] = (['age', 'education-num', 'marital-status', 'race', 'sex', 'capital-gain', 'capital-loss', 'hours-per-week', 'income'] as const).map(col) as number[] as [number, number, number, number, number, number, number, number, number];
  const n = table.rows.length;
  const d = ADULT_FEATURES.length;
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  const educationNum = new Int32Array(n);
  const sexCol: string[] = [];
  const raceCol: string[] = [];
  table.rows.forEach((row, i) => {
    const num = (j: number): number => Number(row[j]);
    x.set(
      [
        z(num(age), 38.58, 13.64),
        z(num(edu), 10.08, 2.57),
        z(num(hours), 40.44, 12.35),
        z(Math.log1p(num(gain)), 0.73, 2.45),
        z(Math.log1p(num(loss)), 0.35, 1.58),
        row[marital] === 'Married-civ-spouse' ? 1 : 0,
        row[sex] === 'Male' ? 1 : 0,
      ],
      i * d,
    );
    y[i] = (row[income] ?? '').startsWith('>50K') ? 1 : 0; // adult.test labels end in '.'
    educationNum[i] = num(edu);
    sexCol.push(row[sex] ?? '');
    raceCol.push(row[race] ?? '');
  });
  return { examples: { x, y, n, featureShape: [d], classes: 2, classNames: ['<=50K', '>50K'], sensitive: { sex: sexCol, race: raceCol } }, educationNum };
}
