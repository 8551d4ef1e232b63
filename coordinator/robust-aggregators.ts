/**
 * Byzantine-robust aggregation of the individual updates, for the plain (non-secure) training path only: each
 * needs every participant's update, which secure aggregation exists to hide (coordinator/strategy-compat.ts
 * refuses the combination). Each returns an estimate of the mean update; the round hands it to the server
 * strategy as an aggregate of total weight 1, so FedAvg or an adaptive optimiser applies it as it would the mean.
 * Every participant counts once (these estimators are defined on the multiset of updates, unweighted).
 * Pure; the inputs are never modified. Updates arrive sorted by client id, so ties break the same way every run.
 */
import { TesseraError } from '../protocol/errors.ts';
import type { AggregatorSection } from '../protocol/job/sections.ts';

export interface RobustAggregator {
  readonly name: string;
  /** Fewest updates the rule is defined for (Krum: 2f + 3); a round with fewer releases nothing. */
  readonly minUpdates: number;
  aggregate(updates: readonly Float32Array[]): Float64Array;
}

/**
 * Coordinate-wise median (Yin, Chen, Ramchandran & Bartlett 2018, "Byzantine-Robust Distributed Learning:
 * Towards Optimal Statistical Rates", ICML, Algorithm 1 option I); for an even count the mean of the two middle
 * values.
 */
export function coordinateMedian(updates: readonly Float32Array[]): Float64Array {
  return perCoordinate(updates, (col) => {
    const n = col.length;
    const mid = n >> 1;
    return n % 2 === 1 ? (col[mid] as number) : ((col[mid - 1] as number) + (col[mid] as number)) / 2;
  });
}

/**
 * Coordinate-wise β-trimmed mean (Yin et al. 2018, Algorithm 1 option II, Definition 2): for each coordinate the
 * ⌊β·n⌋ largest and ⌊β·n⌋ smallest values are removed and the rest averaged. β < 1/2 leaves at least one value.
 */
export function trimmedMean(updates: readonly Float32Array[], beta: number): Float64Array {
  if (!(beta >= 0 && beta < 0.5)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `trimmed mean needs 0 ≤ β < 1/2, got ${beta}`);
  const k = Math.floor(beta * updates.length);
  return perCoordinate(updates, (col) => {
    let s = 0;
    for (let j = k; j < col.length - k; j++) s += col[j] as number;
    return s / (col.length - 2 * k);
  });
}

/**
 * Krum and Multi-Krum (Blanchard, El Mhamdi, Guerraoui & Stainer 2017, "Machine Learning with Adversaries:
 * Byzantine Tolerant Gradient Descent", NeurIPS, §4): each update V_i is scored by the sum of squared distances
 * to its n − f − 2 nearest other updates, s(i) = Σ_{i→j} ‖V_i − V_j‖²; Krum returns the update of least score
 * (its Proposition 1 needs 2f + 2 < n). Multi-Krum averages the m updates of least score (m = 1 is Krum).
 * Ties go to the earlier update (client-id order).
 */
export function krum(updates: readonly Float32Array[], f: number, m = 1): Float64Array {
  const n = updates.length;
  if (n < 2 * f + 3) throw new TesseraError('TESSERA_ERR_STRATEGY_INCOMPATIBLE', `Krum with f = ${f} needs at least 2f + 3 = ${2 * f + 3} updates, got ${n}`);
  const dist = Array.from({ length: n }, () => new Float64Array(n));
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = updates[i] as Float32Array;
      const b = updates[j] as Float32Array;
      let s = 0;
      for (let c = 0; c < a.length; c++) {
        const x = (a[c] as number) - (b[c] as number);
        s += x * x;
      }
      (dist[i] as Float64Array)[j] = s;
      (dist[j] as Float64Array)[i] = s;
    }
  }
  const neighbours = n - f - 2;
  const scores = dist.map((row, i) => {
    const others = Array.from(row).filter((_, j) => j !== i).sort((x, y) => x - y);
    return others.slice(0, neighbours).reduce((s, x) => s + x, 0);
  });
  const order = scores.map((s, i) => ({ s, i })).sort((x, y) => x.s - y.s || x.i - y.i);
  const chosen = order.slice(0, Math.min(m, n)).map((o) => updates[o.i] as Float32Array);
  const d = (updates[0] as Float32Array).length;
  const out = new Float64Array(d);
  for (const u of chosen) for (let c = 0; c < d; c++) out[c] = (out[c] as number) + (u[c] as number);
  for (let c = 0; c < d; c++) out[c] = (out[c] as number) / chosen.length;
  return out;
}

/** The robust aggregator a job's `strategy.aggregator` names, or null for the (weighted) mean. */
export function robustAggregatorFor(section: AggregatorSection | undefined): RobustAggregator | null {
  if (section === undefined || section.kind === 'mean') return null;
  switch (section.kind) {
    case 'median':
      return { name: 'median', minUpdates: 1, aggregate: coordinateMedian };
    case 'trimmed-mean':
      return { name: `trimmed-mean(${section.trimFraction})`, minUpdates: 1, aggregate: (u) => trimmedMean(u, section.trimFraction) };
    case 'krum': {
      const m = section.select ?? 1;
      return { name: m === 1 ? `krum(f=${section.byzantine})` : `multi-krum(f=${section.byzantine},m=${m})`, minUpdates: 2 * section.byzantine + 3, aggregate: (u) => krum(u, section.byzantine, m) };
    }
  }
}

/** Applies `stat` to each coordinate's values, sorted ascending (one reused column buffer). */
function perCoordinate(updates: readonly Float32Array[], stat: (sortedColumn: Float64Array) => number): Float64Array {
  const n = updates.length;
  if (n === 0) throw new TesseraError('TESSERA_ERR_INTERNAL', 'robust aggregation of no updates');
  const d = (updates[0] as Float32Array).length;
  const out = new Float64Array(d);
  const col = new Float64Array(n);
  for (let c = 0; c < d; c++) {
    for (let i = 0; i < n; i++) col[i] = (updates[i] as Float32Array)[c] as number;
    col.sort();
    out[c] = stat(col);
  }
  return out;
}
