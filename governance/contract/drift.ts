/**
 * Drift of one column against the contract's reference statistics: PSI over the reference bins (numeric) or
 * categories, and the two-sample Kolmogorov–Smirnov statistic against the stored reference CDF (numeric).
 */
import type { CompiledColumn } from './columns.ts';
import type { NumericReference } from './reference-schema.ts';
import type { Contract } from './schema.ts';
import { binShares, ksAgainstCdf, ksCriticalValue, psi, roundTo } from './stats.ts';

export interface DriftResult {
  readonly column: string;
  readonly statistic: 'psi' | 'ks';
  readonly value: number;
  readonly threshold: number;
  readonly drifted: boolean;
  /** Non-missing values the statistic was computed on. */
  readonly n: number;
}

export interface DriftThresholds {
  readonly psiThreshold: number;
  readonly ksAlpha: number;
  readonly ksMinStatistic: number;
}

/** The bucket for categories the reference never saw. */
export const OTHER_CATEGORY = '(other)';

/**
 * PSI over the reference histogram's bins, and KS against the reference CDF. The KS threshold is the larger
 * of the test's critical value at ksAlpha for these sample sizes (n here, m in the reference) and
 * ksMinStatistic, so that huge samples do not flag differences too small to matter.
 */
export function numericDrift(options: { column: string; reference: NumericReference; sorted: Float64Array } & DriftThresholds): DriftResult[] {
  const { column, reference, sorted } = options;
  const n = sorted.length;
  if (n === 0) return [];
  const psiValue = psi({ actual: binShares(sorted, reference.histogram.edges), expected: reference.histogram.frequencies });
  const ks = ksAgainstCdf({ sorted, points: reference.cdf.points, cumulative: reference.cdf.cumulative, complete: reference.cdf.complete });
  const ksThreshold = Math.max(options.ksMinStatistic, ksCriticalValue({ alpha: options.ksAlpha, n, m: reference.count }));
  return [
    { column, statistic: 'psi', value: roundTo(psiValue), threshold: options.psiThreshold, drifted: psiValue > options.psiThreshold, n },
    { column, statistic: 'ks', value: roundTo(ks), threshold: roundTo(ksThreshold), drifted: ks > ksThreshold, n },
  ];
}

/** PSI over the reference categories plus one bucket for categories the reference never saw. */
export function categoricalDrift(options: { column: string; expected: Readonly<Record<string, number>>; counts: ReadonlyMap<string, number>; psiThreshold: number }): DriftResult | null {
  const { column, expected, counts } = options;
  const n = [...counts.values()].reduce((a, b) => a + b, 0);
  if (n === 0) return null;
  const keys = Object.keys(expected);
  const known = new Set(keys);
  let other = 0;
  for (const [k, c] of counts) if (!known.has(k)) other += c;
  const refOther = Math.max(0, 1 - keys.reduce((s, k) => s + (expected[k] ?? 0), 0));
  const value = psi({ actual: [...keys.map((k) => (counts.get(k) ?? 0) / n), other / n], expected: [...keys.map((k) => expected[k] ?? 0), refOther] });
  return { column, statistic: 'psi', value: roundTo(value), threshold: options.psiThreshold, drifted: value > options.psiThreshold, n };
}

/** The drift thresholds that apply to one column: its own `drift` entry over the contract's. */
export function columnThresholds(contract: Contract, col: CompiledColumn): DriftThresholds & { enabled: boolean } {
  return {
    enabled: col.spec.drift?.enabled !== false,
    psiThreshold: col.spec.drift?.psiThreshold ?? contract.drift.psiThreshold,
    ksAlpha: contract.drift.ksAlpha,
    ksMinStatistic: col.spec.drift?.ksMinStatistic ?? contract.drift.ksMinStatistic,
  };
}

/**
 * Drift of one (non-label) column's values against the contract's reference: PSI and KS for numeric columns,
 * PSI for categorical ones; nothing when the column has no reference or drift is off for it. The one
 * definition for a data check (check.ts) and for served inputs (coordinator/serving/drift-window.ts).
 */
export function columnDrift(contract: Contract, col: CompiledColumn, values: { sorted: Float64Array; counts: ReadonlyMap<string, number> }): DriftResult[] {
  const ref = col.isLabel ? undefined : contract.reference?.columns[col.spec.name];
  const t = columnThresholds(contract, col);
  if (!t.enabled || ref === undefined) return [];
  if (ref.kind === 'numeric') return col.numeric ? numericDrift({ column: col.spec.name, reference: ref, sorted: values.sorted, ...t }) : [];
  const d = categoricalDrift({ column: col.spec.name, expected: ref.frequencies, counts: values.counts, psiThreshold: t.psiThreshold });
  return d ? [d] : [];
}
