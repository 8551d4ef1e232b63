/**
 * Computes the reference statistics stored in a contract (reference-schema.ts) from a reference data set's
 * typed values. Numbers only: the statistics travel with the contract, the data stays with its owner.
 */
import type { CategoricalReference, NumericReference } from './reference-schema.ts';
import { binShares, countAtMost, countOutside, meanStd, quantileType1, quantileType7, roundTo, tukeyFences } from './stats.ts';

/** Up to this many distinct values, the reference CDF is stored at every value (exact KS). */
const EXACT_CDF_MAX_DISTINCT = 256;

function uniqueAscending(xs: readonly number[]): number[] {
  return xs.filter((x, i) => i === 0 || x !== xs[i - 1]);
}

/**
 * Statistics of ascending `sorted` (the non-missing values). Histogram edges are the deciles (or
 * `bins`-iles) by the inverse empirical CDF, so that for discrete data every edge is an observed value;
 * the CDF is stored at every distinct value when there are few, else at the percentiles plus the maximum.
 */
export function numericReference(options: { sorted: Float64Array; missing: number; outlierK: number; bins?: number }): NumericReference {
  const { sorted, missing, outlierK } = options;
  const n = sorted.length;
  if (n === 0) throw new RangeError('numericReference needs at least one value');
  const bins = options.bins ?? 10;
  const min = sorted[0] ?? 0;
  const max = sorted[n - 1] ?? 0;
  const { mean, std } = meanStd(sorted);
  const quartiles: [number, number, number] = [quantileType7(sorted, 0.25), quantileType7(sorted, 0.5), quantileType7(sorted, 0.75)];
  const fences = tukeyFences(quartiles, outlierK);
  const outliers = countOutside(sorted, fences);

  const edges = uniqueAscending(Array.from({ length: bins - 1 }, (_, i) => quantileType1(sorted, (i + 1) / bins))).filter((e) => e < max);
  const distinct = uniqueAscending(Array.from(sorted));
  const complete = distinct.length <= EXACT_CDF_MAX_DISTINCT;
  const points = complete ? distinct : uniqueAscending([...Array.from({ length: 99 }, (_, i) => quantileType1(sorted, (i + 1) / 100)), max]);

  return {
    kind: 'numeric',
    count: n,
    missingRate: roundTo(missing / (n + missing)),
    min,
    max,
    mean: roundTo(mean),
    std: roundTo(std),
    quartiles: [roundTo(quartiles[0]), roundTo(quartiles[1]), roundTo(quartiles[2])],
    outlierRate: roundTo(outliers / n),
    histogram: { edges, frequencies: binShares(sorted, edges).map((f) => roundTo(f)) },
    cdf: { points, cumulative: points.map((p) => roundTo(countAtMost(sorted, p) / n)), complete },
  };
}

/** Category frequencies (canonical strings → share of non-missing values), largest first. */
export function categoricalReference(options: { counts: ReadonlyMap<string, number>; missing: number }): CategoricalReference {
  const n = [...options.counts.values()].reduce((a, b) => a + b, 0);
  if (n === 0) throw new RangeError('categoricalReference needs at least one value');
  const frequencies: Record<string, number> = {};
  for (const [k, c] of [...options.counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))) frequencies[k] = roundTo(c / n);
  return { kind: 'categorical', count: n, missingRate: roundTo(options.missing / (n + options.missing)), frequencies };
}
