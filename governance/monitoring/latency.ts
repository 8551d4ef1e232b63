/**
 * Prediction latency as a histogram (issue 20 §2): the bucket bounds the prom-client histogram exposes
 * (coordinator/metric-families.ts) and the durable counters keep (store.ts), and the quantiles read from them.
 *
 * Quantiles are estimated as Prometheus's `histogram_quantile` does (Prometheus documentation, "Histograms and
 * summaries", and promql/quantile.go): find the bucket holding rank q·n and interpolate linearly inside it,
 * assuming observations spread evenly over the bucket. The estimate is exact at bucket bounds and off by at most
 * the bucket's width elsewhere, so the bounds are dense where latency targets sit (5 ms … 1 s). Ranks falling in
 * the last, open bucket (+Inf) report its lower bound, as Prometheus does.
 */

/** Upper bounds in seconds (each bucket counts observations ≤ its bound and > the previous one). */
export const LATENCY_BUCKETS_SECONDS: readonly number[] = [0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5];

/** Non-cumulative counts per bucket, plus one for the open bucket above the last bound. */
export type LatencyCounts = number[];

export function emptyLatencyCounts(): LatencyCounts {
  return new Array<number>(LATENCY_BUCKETS_SECONDS.length + 1).fill(0);
}

/** Adds one observation (seconds). */
export function observeLatency(counts: LatencyCounts, seconds: number): void {
  let i = LATENCY_BUCKETS_SECONDS.findIndex((b) => seconds <= b);
  if (i < 0) i = LATENCY_BUCKETS_SECONDS.length;
  counts[i] = (counts[i] ?? 0) + 1;
}

/** The q-quantile (0 < q < 1) in seconds, or null without observations. */
export function histogramQuantile(counts: readonly number[], q: number): number | null {
  const n = counts.reduce((a, b) => a + b, 0);
  if (n === 0) return null;
  const rank = q * n;
  let below = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i] ?? 0;
    if (below + c >= rank && c > 0) {
      const lower = i === 0 ? 0 : (LATENCY_BUCKETS_SECONDS[i - 1] ?? 0);
      const upper = LATENCY_BUCKETS_SECONDS[i];
      if (upper === undefined) return lower;
      return lower + (upper - lower) * ((rank - below) / c);
    }
    below += c;
  }
  return LATENCY_BUCKETS_SECONDS[LATENCY_BUCKETS_SECONDS.length - 1] ?? null;
}
