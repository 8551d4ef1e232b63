/**
 * Markdown tables of a fairness report (for the CLI, simulation output and model cards): the overall row,
 * one table per attribute with Wilson intervals, the disparities, and the policy verdict. Undefined values
 * print as "n/a" with their reasons listed under the table; suppressed groups print as "suppressed".
 */
import type { FairnessReport, RuleResult } from './policy.ts';
import type { Disparities, GroupResult, RateMetric } from './metrics.ts';
import { DISPARITY_METRICS } from './metrics.ts';

export interface MarkdownOptions {
  /** Heading for the whole report; omitted when empty. */
  title?: string;
  /** Decimal places. Default 3. */
  digits?: number;
  /** Show Wilson intervals after each rate. Default true. */
  intervals?: boolean;
  /** Heading level of the sections (2 → "##"). Default 3. */
  headingLevel?: number;
}

const RATE_LABELS: ReadonlyArray<[RateMetric, string]> = [
  ['accuracy', 'accuracy'],
  ['selectionRate', 'selection rate'],
  ['tpr', 'TPR'],
  ['fpr', 'FPR'],
  ['fnr', 'FNR'],
  ['precision', 'precision'],
];

const DISPARITY_LABELS: Record<(typeof DISPARITY_METRICS)[number], string> = {
  demographicParityDifference: 'DP difference',
  demographicParityRatio: 'DP ratio',
  equalizedOddsDifference: 'EO difference',
  equalOpportunityDifference: 'equal opportunity diff.',
  accuracyGap: 'accuracy gap',
  worstGroupAccuracy: 'worst-group accuracy',
};

/** Escapes the characters that would break a Markdown table cell. */
export function markdownCell(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.map(markdownCell).join(' | ')} |`;
  return [line(header), `|${header.map(() => '---').join('|')}|`, ...rows.map(line)].join('\n');
}

export function formatNumber(value: number | null, digits = 3): string {
  return value === null ? 'n/a' : value.toFixed(digits);
}

type Resolved = Required<Omit<MarkdownOptions, 'title'>> & { scores: boolean };

function groupRow(name: string, g: GroupResult, o: Resolved, reasons: string[]): string[] {
  if (g.suppressed) return [name, `suppressed (${g.reason})`, ...RATE_LABELS.map(() => ''), ''];
  const rate = (m: RateMetric): string => {
    const v = formatNumber(g[m], o.digits);
    const ci = g.intervals[m];
    return o.intervals && ci ? `${v} [${ci[0].toFixed(o.digits)}, ${ci[1].toFixed(o.digits)}]` : v;
  };
  // Without scores ECE is n/a everywhere; that is said once in the preamble rather than on every row.
  for (const [metric, why] of Object.entries(g.nullReasons)) if (metric !== 'expectedCalibrationError' || o.scores) reasons.push(`${name}: ${metric} n/a — ${why}`);
  return [name, String(g.count), ...RATE_LABELS.map(([m]) => rate(m)), formatNumber(g.expectedCalibrationError, o.digits)];
}

function disparityRow(attribute: string, d: Disparities, digits: number): string[] {
  return [attribute, ...DISPARITY_METRICS.map((m) => formatNumber(d[m], digits)), d.worstGroup ?? 'n/a'];
}

function ruleText(r: RuleResult): string {
  const bounds = [r.rule.min === undefined ? null : `≥ ${r.rule.min}`, r.rule.max === undefined ? null : `≤ ${r.rule.max}`].filter((b) => b !== null).join(' and ');
  return `${r.rule.metric} on ${r.rule.attribute} ${bounds}`;
}

/** The whole report as Markdown. */
export function fairnessReportMarkdown(report: FairnessReport, options: MarkdownOptions = {}): string {
  const o: Resolved = { digits: options.digits ?? 3, intervals: options.intervals ?? true, headingLevel: options.headingLevel ?? 3, scores: report.settings.calibrationBins > 0 };
  const h = '#'.repeat(o.headingLevel);
  const header = ['group', 'count', ...RATE_LABELS.map(([, label]) => label), 'ECE'];
  const out: string[] = [];
  if (options.title) out.push(`${'#'.repeat(Math.max(1, o.headingLevel - 1))} ${options.title}`, '');
  const ci = o.intervals ? ` Rates show [95 % Wilson interval] (z = ${report.settings.z.toFixed(2)}).` : '';
  const ece = o.scores ? ` ECE over ${report.settings.calibrationBins} probability bins.` : ' ECE is n/a: no scores were given.';
  out.push(`Groups with fewer than ${report.settings.minGroupSize} examples are suppressed.${ci}${ece}`, '');
  const overallReasons: string[] = [];
  out.push(`${h} Overall`, '', markdownTable(header, [groupRow('all', report.overall, o, overallReasons)]), '');
  if (overallReasons.length > 0) out.push(...overallReasons.map((r) => `- ${r}`), '');
  for (const [attribute, groups] of Object.entries(report.groups)) {
    const reasons: string[] = [];
    const rows = Object.entries(groups).map(([name, g]) => groupRow(name, g, o, reasons));
    out.push(`${h} ${attribute}`, '', markdownTable(header, rows), '');
    if (reasons.length > 0) out.push(...reasons.map((r) => `- ${r}`), '');
  }
  const dispRows = Object.entries(report.disparities).map(([a, d]) => disparityRow(a, d, o.digits));
  out.push(`${h} Disparities`, '', markdownTable(['attribute', ...DISPARITY_METRICS.map((m) => DISPARITY_LABELS[m]), 'worst group'], dispRows), '');
  const notes = Object.entries(report.disparities).flatMap(([a, d]) => [
    ...Object.entries(d.nullReasons).map(([m, why]) => `${a}: ${m} n/a — ${why}`),
    ...d.notes.map((n) => `${a}: ${n}`),
  ]);
  if (notes.length > 0) out.push(...notes.map((n) => `- ${n}`), '');
  if (report.policy.rules.length > 0) {
    const rows = report.policy.rules.map((r) => [ruleText(r), formatNumber(r.value, o.digits), r.status, r.reason ?? '']);
    out.push(`${h} Policy: ${report.policy.passed ? 'PASSED' : 'FAILED'}`, '', markdownTable(['rule', 'value', 'status', 'reason'], rows), '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}
