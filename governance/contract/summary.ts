/**
 * What a client may tell the coordinator about its contract check: codes and counts, and per-column drift
 * statistics — numbers only, never raw values, messages or row numbers (DESIGN.md: no raw data leaves).
 * The coordinator records the summary of a client that declines a round, and aggregates drift per column.
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { ContractReport } from './check.ts';
import { CONTRACT_DECLINE_CODE, ContractCheckSummary } from '../../protocol/data-check.ts';
import { roundTo } from './stats.ts';

export { CONTRACT_DECLINE_CODE, ContractCheckSummary } from '../../protocol/data-check.ts';

/** Strips a report down to codes, counts and drift numbers (no messages, examples, rates of single rows). */
export function summariseForCoordinator(report: ContractReport): ContractCheckSummary {
  return ContractCheckSummary.parse({
    contractHash: report.contract.hash,
    passed: report.passed,
    ...(report.passed ? {} : { reason: CONTRACT_DECLINE_CODE }),
    rows: report.data.rows,
    violations: report.violations.map((v) => ({ code: v.kind, column: v.column, count: v.count })),
    drift: report.drift.map((d) => ({ column: d.column, statistic: d.statistic, value: d.value, threshold: d.threshold, drifted: d.drifted, n: d.n })),
  });
}

export interface DriftAggregate {
  readonly column: string;
  readonly statistic: 'psi' | 'ks';
  /** Clients that reported this statistic. */
  readonly clients: number;
  /** Clients whose own check found drift. */
  readonly driftedClients: number;
  /** Values the statistic was computed on, over all clients. */
  readonly n: number;
  /** Mean of the clients' statistics weighted by their n. */
  readonly meanValue: number;
  readonly maxValue: number;
  /** Mean of the clients' thresholds weighted by their n (KS thresholds depend on sample size). */
  readonly threshold: number;
  /** meanValue > threshold, or more than `alertFraction` of the clients drifted. */
  readonly alert: boolean;
}

/**
 * Aggregates drift per (column, statistic) over the summaries of one round. The weighted mean of per-client
 * statistics is not the statistic of the pooled data (that would need the clients' histograms, which we do
 * not collect); it answers "is drift typical across the federation", while `driftedClients` answers "where".
 */
export function aggregateDrift(summaries: readonly ContractCheckSummary[], options: { alertFraction?: number } = {}): DriftAggregate[] {
  const alertFraction = options.alertFraction ?? 0.5;
  const hashes = new Set(summaries.map((s) => s.contractHash));
  if (hashes.size > 1) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Drift summaries come from ${hashes.size} different contracts; aggregate one contract at a time`);
  const groups = new Map<string, ContractCheckSummary['drift']>();
  for (const s of summaries) {
    for (const d of ContractCheckSummary.shape.drift.parse(s.drift)) {
      const key = `${d.statistic}\u0000${d.column}`;
      const list = groups.get(key) ?? [];
      list.push(d);
      groups.set(key, list);
    }
  }
  const out: DriftAggregate[] = [];
  for (const list of groups.values()) {
    const first = list[0];
    if (!first) continue;
    const n = list.reduce((s, d) => s + d.n, 0);
    const w = (f: (d: (typeof list)[number]) => number) => (n === 0 ? 0 : list.reduce((s, d) => s + d.n * f(d), 0) / n);
    const meanValue = w((d) => d.value);
    const threshold = w((d) => d.threshold);
    const driftedClients = list.filter((d) => d.drifted).length;
    out.push({
      column: first.column,
      statistic: first.statistic,
      clients: list.length,
      driftedClients,
      n,
      meanValue: roundTo(meanValue),
      maxValue: Math.max(...list.map((d) => d.value)),
      threshold: roundTo(threshold),
      alert: meanValue > threshold || driftedClients > alertFraction * list.length,
    });
  }
  return out.sort((a, b) => (a.column === b.column ? (a.statistic < b.statistic ? -1 : 1) : a.column < b.column ? -1 : 1));
}
