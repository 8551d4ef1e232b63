/**
 * Per-group metrics over rounds, from the fairness reports of successive federated evaluations: series for
 * lib/chart.ts (one line per group, or one per attribute for a disparity) and Markdown tables (one row per
 * round). Suppressed groups and undefined metrics become null (a gap / "n/a"), never a number.
 * The series shape matches lib/chart.ts's ChartSeries without importing it (pure governance code).
 */
import type { FairnessReport } from './policy.ts';
import type { DisparityMetric, GroupMetricName } from './metrics.ts';
import { formatNumber, markdownTable } from './report-markdown.ts';

export interface RoundReport {
  round: number;
  report: FairnessReport;
}

export interface Series {
  name: string;
  points: Array<{ x: number; y: number | null }>;
}

/** Group values of `attribute` in layout order (taken from the first report that has the attribute). */
function groupNames(reports: readonly RoundReport[], attribute: string): string[] {
  for (const r of reports) {
    const groups = r.report.groups[attribute];
    if (groups) return Object.keys(groups);
  }
  return [];
}

/** One series per group of `attribute`: metric value per round (null when suppressed or undefined). */
export function groupMetricSeries(reports: readonly RoundReport[], options: { attribute: string; metric: GroupMetricName | 'count'; includeSuppressed?: boolean }): Series[] {
  const names = groupNames(reports, options.attribute);
  const series = names.map((name) => ({
    name,
    points: reports.map(({ round, report }) => {
      const g = report.groups[options.attribute]?.[name];
      return { x: round, y: g === undefined || g.suppressed ? null : g[options.metric] };
    }),
  }));
  // A group suppressed in every round would only add an empty legend entry.
  return options.includeSuppressed ? series : series.filter((s) => s.points.some((p) => p.y !== null));
}

/** One series per attribute: a disparity metric per round. */
export function disparitySeries(reports: readonly RoundReport[], options: { attributes: readonly string[]; metric: DisparityMetric }): Series[] {
  return options.attributes.map((attribute) => ({
    name: attribute,
    points: reports.map(({ round, report }) => ({ x: round, y: report.disparities[attribute]?.[options.metric] ?? null })),
  }));
}

/** Markdown table: one row per round, one column per group of `attribute`, plus the policy verdict. */
export function groupMetricOverRoundsMarkdown(reports: readonly RoundReport[], options: { attribute: string; metric: GroupMetricName; digits?: number; disparity?: DisparityMetric }): string {
  const digits = options.digits ?? 3;
  const names = groupNames(reports, options.attribute);
  const header = ['round', ...names, ...(options.disparity ? [options.disparity] : []), 'policy'];
  const rows = reports.map(({ round, report }) => {
    const cells = names.map((name) => {
      const g = report.groups[options.attribute]?.[name];
      if (g === undefined) return 'n/a';
      return g.suppressed ? 'suppressed' : formatNumber(g[options.metric], digits);
    });
    const disparity = options.disparity ? [formatNumber(report.disparities[options.attribute]?.[options.disparity] ?? null, digits)] : [];
    const policy = report.policy.rules.length === 0 ? '—' : report.policy.passed ? 'pass' : 'fail';
    return [String(round), ...cells, ...disparity, policy];
  });
  return markdownTable(header, rows);
}
