/**
 * The fairness part of a simulation's output (issue 5 §7): per-group metrics over rounds as Markdown tables
 * (printed at the end of `tessera simulate` and written to --out as fairness.md) and SVG charts (accuracy over
 * rounds; selection rate and TPR per group over rounds) from the reports the coordinator wrote into each
 * round record's `fairness` slot. Also the `--fairness`/`--reweighing` convenience flags of the CLI.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChartSvg, type ChartSeries } from '../lib/chart.ts';
import { lastRoundFairness, type RoundFairness } from '../coordinator/features/fairness.ts';
import type { RoundRecord } from '../coordinator/round-records.ts';
import { groupMetricOverRoundsMarkdown, groupMetricSeries, type RoundReport } from '../governance/fairness/over-rounds.ts';
import { fairnessReportMarkdown, formatNumber, markdownTable } from '../governance/fairness/report-markdown.ts';
import type { FairnessReport } from '../governance/fairness/policy.ts';
import type { GroupMetricName, DisparityMetric } from '../governance/fairness/metrics.ts';
import { TesseraError } from '../protocol/errors.ts';
import { INTERSECTION_SEPARATOR } from '../protocol/job/fairness.ts';
import type { JobSpec } from '../protocol/job/spec.ts';

type Rounds = readonly Pick<RoundRecord, 'round' | 'accuracy' | 'extra'>[];

/** The rounds that carry a fairness report, in order. */
export function roundReports(rounds: Rounds): RoundReport[] {
  return rounds.flatMap((r) => {
    const f = r.extra.fairness;
    return f?.ok === true ? [{ round: r.round, report: f.report }] : [];
  });
}

/** The single (non-intersection) attributes of the reports, in layout order. */
function singleAttributes(reports: readonly RoundReport[]): string[] {
  const first = reports[0];
  return first ? first.report.settings.attributes.map((a) => a.name).filter((a) => !a.includes(INTERSECTION_SEPARATOR)) : [];
}

const TABLES: ReadonlyArray<{ metric: GroupMetricName; label: string; disparity: DisparityMetric }> = [
  { metric: 'selectionRate', label: 'Selection rate', disparity: 'demographicParityDifference' },
  { metric: 'tpr', label: 'True positive rate', disparity: 'equalOpportunityDifference' },
  { metric: 'accuracy', label: 'Accuracy', disparity: 'accuracyGap' },
];

/** Per-group metrics over rounds (one table per attribute and metric), then the last round's full report. */
export function fairnessOverRoundsMarkdown(rounds: Rounds, options: { title?: string; job?: Pick<JobSpec, 'fairness'>; /** Which over-rounds tables (default all three). */ tables?: readonly ('selectionRate' | 'tpr' | 'accuracy')[] } = {}): string | null {
  const reports = roundReports(rounds);
  const last = reports[reports.length - 1];
  if (last === undefined) return null;
  const out: string[] = [`## ${options.title ?? 'Fairness over rounds'}`, ''];
  const f = options.job?.fairness;
  if (f) {
    out.push(
      `Federated evaluation on each client's held-out split (${Math.round(f.heldOutFraction * 100)} % of its rows, stratified by label and ${f.sensitive.join(', ')}); ` +
        `counts summed over clients; groups with fewer than ${f.minGroupSize} examples suppressed. Reweighing: ${f.reweighing ? `on (${(f.reweighingAttributes.length > 0 ? f.reweighingAttributes : f.sensitive).join(INTERSECTION_SEPARATOR)})` : 'off'}.`,
      '',
    );
  }
  const policyRows = reports.map(({ round, report }) => [
    String(round),
    formatNumber(report.overall.suppressed ? null : report.overall.accuracy, 4),
    ...report.policy.rules.map((r) => `${r.status} (${formatNumber(r.value, 3)})`),
  ]);
  const ruleNames = last.report.policy.rules.map((r) => `${r.rule.metric} ${r.rule.attribute}${r.rule.max !== undefined ? ` ≤ ${r.rule.max}` : ''}${r.rule.min !== undefined ? ` ≥ ${r.rule.min}` : ''}`);
  out.push('### Overall and policy', '', markdownTable(['round', 'accuracy (held-out)', ...ruleNames], policyRows), '');
  for (const attribute of singleAttributes(reports)) {
    for (const t of TABLES.filter((t) => options.tables === undefined || (options.tables as readonly string[]).includes(t.metric))) {
      out.push(`### ${t.label} by ${attribute}`, '', groupMetricOverRoundsMarkdown(reports, { attribute, metric: t.metric, disparity: t.disparity }), '');
    }
  }
  out.push(fairnessReportMarkdown(last.report, { title: `Report of round ${last.round}`, headingLevel: 4 }));
  return `${out.join('\n').trimEnd()}\n`;
}

function safeName(s: string): string {
  return s.replace(/[^A-Za-z0-9_-]+/g, '-');
}

/**
 * Charts under `dir`: accuracy.svg (central test accuracy, federated held-out accuracy and, with fairness,
 * worst-group accuracy per attribute, over rounds) and, with fairness, fairness-<attr>-selection-rate.svg and
 * fairness-<attr>-tpr.svg (one line per group). Returns the file names written.
 */
export async function writeSimulationCharts(dir: string, rounds: Rounds): Promise<string[]> {
  const written: string[] = [];
  const reports = roundReports(rounds);
  // Short legend names: vega truncates legend labels at 160 px.
  const accuracy: ChartSeries[] = [{ name: 'test (central)', points: rounds.map((r) => ({ x: r.round, y: r.accuracy })) }];
  const federated = rounds.map((r) => ({ x: r.round, y: r.extra.federatedEvaluation?.accuracy ?? null }));
  if (federated.some((p) => p.y !== null)) accuracy.push({ name: 'held-out (fed.)', points: federated });
  const attributes = singleAttributes(reports);
  for (const a of attributes) accuracy.push({ name: `worst ${a} group`, points: reports.map(({ round, report }) => ({ x: round, y: report.disparities[a]?.worstGroupAccuracy ?? null })) });
  const values = accuracy.flatMap((s) => s.points.flatMap((p) => (p.y === null ? [] : [p.y])));
  if (values.length > 0) {
    // A fitted range in steps of 0.05: accuracies of 0.80–0.85 would be a flat line on a 0–1 axis.
    const yDomain = [Math.max(0, Math.floor((Math.min(...values) - 0.01) * 20) / 20), Math.min(1, Math.ceil((Math.max(...values) + 0.01) * 20) / 20)] as const;
    writeFileSync(join(dir, 'accuracy.svg'), await lineChartSvg({ title: 'Accuracy over rounds', xLabel: 'round', yLabel: 'accuracy', yDomain, series: accuracy }));
    written.push('accuracy.svg');
  }
  for (const a of attributes) {
    for (const [metric, label, file] of [
      ['selectionRate', 'selection rate', 'selection-rate'],
      ['tpr', 'true positive rate', 'tpr'],
    ] as const) {
      const series = groupMetricSeries(reports, { attribute: a, metric });
      if (series.length === 0) continue;
      const name = `fairness-${safeName(a)}-${file}.svg`;
      writeFileSync(join(dir, name), await lineChartSvg({ title: `${label[0]?.toUpperCase()}${label.slice(1)} by ${a} over rounds`, xLabel: 'round', yLabel: label, yDomain: [0, 1], series }));
      written.push(name);
    }
  }
  return written;
}

/** Writes fairness.md under `dir` when the run has fairness reports; returns whether it did. */
export function writeFairnessMarkdown(dir: string, rounds: Rounds, job?: Pick<JobSpec, 'fairness'>): boolean {
  const md = fairnessOverRoundsMarkdown(rounds, job ? { job } : {});
  if (md === null) return false;
  writeFileSync(join(dir, 'fairness.md'), md);
  return true;
}

/** The compact form of a round's fairness slot for the JSON summary (the full report stays in results.json). */
export type CompactRoundFairness =
  | { readonly ok: false; readonly error: string }
  | (Pick<Extract<RoundFairness, { ok: true }>, 'ok' | 'hash' | 'passed' | 'rules'> & { readonly accuracy: number | null; readonly disparities: FairnessReport['disparities'] });

export function compactRoundFairness(f: RoundFairness): CompactRoundFairness {
  if (!f.ok) return { ok: false, error: f.error };
  return { ok: true, hash: f.hash, passed: f.passed, rules: f.rules, accuracy: f.report.overall.suppressed ? null : f.report.overall.accuracy, disparities: f.report.disparities };
}

/** What the JSON summary carries about fairness: the last report in full, with its round, hash and verdict. */
export function fairnessSummary(rounds: Rounds): { round: number; hash: string; passed: boolean; report: unknown } | null {
  const last = lastRoundFairness(rounds);
  return last ? { round: last.round, hash: last.fairness.hash, passed: last.fairness.passed, report: last.fairness.report } : null;
}

/**
 * `--fairness sex,race` and `--reweighing`, merged over the job file's `fairness` section: --fairness turns
 * fairness evaluation on for those attributes, --reweighing turns on Kamiran–Calders reweighing.
 */
export function withFairnessFlags(job: Record<string, unknown>, flags: { fairness?: string; reweighing?: boolean }): Record<string, unknown> {
  const sensitive = flags.fairness
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (sensitive === undefined && flags.reweighing !== true) return job;
  const fromFile = typeof job.fairness === 'object' && job.fairness !== null && !Array.isArray(job.fairness) ? (job.fairness as Record<string, unknown>) : {};
  if (sensitive?.length === 0) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', '--fairness needs attribute names, e.g. --fairness sex,race');
  const declared = sensitive ?? (Array.isArray(fromFile.sensitive) ? fromFile.sensitive : []);
  if (flags.reweighing === true && declared.length === 0) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', '--reweighing needs the sensitive attributes: add --fairness ATTR[,ATTR…] (or fairness.sensitive in the --job file)');
  return {
    ...job,
    fairness: {
      ...fromFile,
      ...(sensitive !== undefined ? { enabled: true, sensitive } : {}),
      ...(flags.reweighing === true ? { reweighing: true } : {}),
    },
  };
}
