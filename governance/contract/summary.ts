/**
 * What a client may tell the coordinator about its contract check: codes and counts, and per-column drift
 * statistics — numbers only, never raw values, messages or row numbers (DESIGN.md: no raw data leaves).
 * The coordinator records the summary of a client that declines a round; drift reaches it only as sums
 * (drift-extension.ts).
 */
import type { ContractReport } from './check.ts';
import { CONTRACT_DECLINE_CODE, ContractCheckSummary } from '../../protocol/data-check.ts';

export { CONTRACT_DECLINE_CODE, ContractCheckSummary } from '../../protocol/data-check.ts';

/** Strips a report down to codes, counts and drift numbers (no messages, examples, rates of single rows). */
export function summariseForCoordinator(report: ContractReport): ContractCheckSummary & { readonly rows: number } {
  const summary = ContractCheckSummary.parse({
    contractHash: report.contract.hash,
    passed: report.passed,
    ...(report.passed ? {} : { reason: CONTRACT_DECLINE_CODE }),
    rows: report.data.rows,
    violations: report.violations.map((v) => ({ code: v.kind, column: v.column, count: v.count })),
    drift: report.drift.map((d) => ({ column: d.column, statistic: d.statistic, value: d.value, threshold: d.threshold, drifted: d.drifted, n: d.n })),
  });
  return { ...summary, rows: report.data.rows };
}
