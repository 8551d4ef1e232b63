/**
 * The data sets a sweep's runs read, each loaded once per thread instead of once per run (a sweep over ε × seeds on
 * Adult parsed the same CSV files 18 times: about 0.4 s of a 1.6 s run). Scoped to one sweep — runSweep makes one
 * for its thread, each run thread its own (simulations/sweep/) — so a long-lived process never holds a stale copy.
 *
 * Safe to share because nothing changes a loaded data set in place: every client's share, held-out split,
 * reshape and noisy copy is a new array (selectTrain, selectRows, withFeatureNoise). test/sweep.test.ts checks a run
 * that got the data from the memo against the same run loading its own.
 */
import { resolve } from 'node:path';
import { defaultDataDir, loadDataset, type LoadedDataset, type LoadOptions } from '../datasets/index.ts';

export class DatasetMemo {
  private readonly loaded = new Map<string, LoadedDataset>();

  /** loadDataset(name, options), from memory when this memo loaded the same data set with the same options. */
  load(name: string, options: LoadOptions = {}): LoadedDataset {
    const key = JSON.stringify([name, resolve(options.dataDir ?? defaultDataDir()), options.seed ?? null, options.trainLimit ?? null, options.testLimit ?? null]);
    let dataset = this.loaded.get(key);
    if (!dataset) {
      dataset = loadDataset(name, options);
      this.loaded.set(key, dataset);
    }
    return dataset;
  }
}
