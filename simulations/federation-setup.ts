/**
 * Splits a loaded data set into the simulated clients' local data (the partition scheme), deterministically
 * from the seed.
 */
import { TesseraError } from '../protocol/errors.ts';
import { deriveSeed, seededRandom } from '../privacy/random.ts';
import type { LoadedDataset } from '../datasets/index.ts';
import { selectTableRows, type CsvTable } from '../lib/csv.ts';
import type { Examples } from '../datasets/types.ts';
import { featureNoiseStd, parsePartition, partitionDirichlet, partitionIid, partitionQuantity, withFeatureNoise } from './partition.ts';

export interface SimulatedClientData {
  readonly clientId: string;
  readonly orgId: string;
  readonly train: Examples;
  /** The raw rows behind `train`, when the data set was read through a data contract. */
  readonly table?: CsvTable;
}

/**
 * `shared`: each client's rows are built on shared memory (a parallel simulation's workers read them in place),
 * rather than built and then copied there.
 */
export function partitionClients(dataset: LoadedDataset, options: { clients: number; partition: string; seed: string | number; shared?: boolean }): SimulatedClientData[] {
  const scheme = parsePartition(options.partition);
  if (scheme.kind === 'natural') {
    if (!dataset.natural) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--partition natural needs a data set with a natural split (heart); ${dataset.name} has none`);
    if (options.clients !== dataset.natural.length) {
      throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--partition natural gives ${dataset.natural.length} clients for ${dataset.name} (${dataset.natural.map((p) => p.name).join(', ')}); got --clients ${options.clients}`);
    }
    return dataset.natural.map((p) => ({ clientId: `client-${p.name}`, orgId: p.name, train: p.examples, ...(p.table ? { table: p.table } : {}) }));
  }
  if (options.clients > dataset.train.n) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--clients ${options.clients} exceeds the ${dataset.train.n} training rows`);
  const rng = seededRandom(deriveSeed(options.seed, 'partition'));
  const parts =
    scheme.kind === 'dirichlet'
      ? partitionDirichlet(dataset.train.y, dataset.train.classes, options.clients, scheme.alpha, rng)
      : scheme.kind === 'quantity'
        ? partitionQuantity(dataset.train.n, options.clients, scheme.beta, rng)
        : partitionIid(dataset.train.n, options.clients, rng);
  const width = String(options.clients).length;
  return parts.map((rows, i) => {
    const id = String(i + 1).padStart(width, '0');
    const sorted = rows.sort((a, b) => a - b);
    const table = dataset.trainTable ? selectTableRows(dataset.trainTable, sorted) : undefined;
    let train = dataset.selectTrain(sorted, { shared: options.shared === true });
    if (scheme.kind === 'feature-noise') {
      // Feature skew: the rows are an IID deal, the features of client i carry noise of std σ·i/(N − 1). The raw rows
      // (`table`, for the data-contract check) stay as read.
      const noise = seededRandom(deriveSeed(options.seed, 'feature-noise', `client-${id}`));
      train = { ...train, x: withFeatureNoise(train.x, featureNoiseStd(scheme.sigma, i, options.clients), noise) };
    }
    return { clientId: `client-${id}`, orgId: `org-${id}`, train, ...(table ? { table } : {}) };
  });
}
