/**
 * A sweep's table and report (issue 18 §4–5): per cell, the mean ± Student t 95 % interval over seeds of the
 * final accuracy and loss (simulations/sweep/interval.ts) and the ε spent; written as summary.json, summary.csv
 * and one self-contained report.html (inline SVG, no script; the curve also as privacy-utility.svg): the privacy–utility curve with its intervals when
 * the cells differ in their ε budget (cells without DP drawn as the ε = ∞ reference), accuracy per cell, and
 * accuracy over rounds per cell. Every number in it comes from the runs' done.json, which holds the figures of
 * each run's own results.json.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { escapeHtml, page, table } from '../report-html.ts';
import { renderSvg } from '../../lib/chart.ts';
import { inlineSvg, linesSpec, type LineSeries, type ReferenceLine } from '../report-charts.ts';
import { meanInterval95, type MeanInterval } from './interval.ts';
import type { SweepGrid } from './grid.ts';
import type { CellResult, SweepOutcome } from './run.ts';

export interface CellSummary {
  readonly id: string;
  readonly label: string;
  readonly values: Readonly<Record<string, unknown>>;
  /** The cell's ε budget; null when the cell runs without DP (ε = ∞). */
  readonly epsilonBudget: number | null;
  readonly noiseMultiplier: number | null;
  readonly seeds: number;
  readonly statuses: readonly string[];
  readonly accuracy: MeanInterval;
  readonly loss: MeanInterval;
  readonly epsilonSpent: MeanInterval;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function cellSummary(c: CellResult): CellSummary {
  const dp = isObject(c.cell.simulation.job.dp) ? c.cell.simulation.job.dp : {};
  const dpOn = dp.enabled === true;
  const sigma = c.plannedNoiseMultiplier ?? (typeof dp.noiseMultiplier === 'number' ? dp.noiseMultiplier : null);
  return {
    id: c.cell.id,
    label: c.cell.label,
    values: c.cell.values,
    epsilonBudget: dpOn && typeof dp.epsilon === 'number' ? dp.epsilon : null,
    noiseMultiplier: dpOn ? sigma : null,
    seeds: c.runs.length,
    statuses: [...new Set(c.runs.map((r) => r.status))],
    accuracy: meanInterval95(c.runs.map((r) => r.accuracy)),
    loss: meanInterval95(c.runs.map((r) => r.loss)),
    epsilonSpent: meanInterval95(c.runs.map((r) => r.epsilon)),
  };
}

const f4 = (v: number | null): string => (v === null ? '–' : v.toFixed(4));
const withInterval = (m: MeanInterval): string => (m.mean === null ? '–' : m.low === null || m.high === null ? f4(m.mean) : `${f4(m.mean)} [${f4(m.low)}, ${f4(m.high)}]`);

function csvCell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export function summaryCsv(rows: readonly CellSummary[]): string {
  const header = ['cell', 'label', 'epsilon_budget', 'noise_multiplier', 'seeds', 'accuracy_mean', 'accuracy_low95', 'accuracy_high95', 'loss_mean', 'loss_low95', 'loss_high95', 'epsilon_spent_mean', 'status'];
  const n = (v: number | null): string => (v === null ? '' : String(v));
  const lines = rows.map((r) => [r.id, r.label, r.epsilonBudget === null ? 'inf' : String(r.epsilonBudget), n(r.noiseMultiplier), String(r.seeds), n(r.accuracy.mean), n(r.accuracy.low), n(r.accuracy.high), n(r.loss.mean), n(r.loss.low), n(r.loss.high), n(r.epsilonSpent.mean), r.statuses.join('/')].map(csvCell).join(','));
  return `${[header.join(','), ...lines].join('\n')}\n`;
}

/** The grid's base configuration in one line (chart subtitles). */
function gridLine(grid: SweepGrid, outcome: SweepOutcome): string {
  const s = grid.simulation;
  const rounds = outcome.cells[0]?.runs[0]?.rounds;
  return [s.dataset, s.clients !== undefined ? `${s.clients} clients` : '', s.partition ?? '', rounds !== undefined ? `${rounds} rounds` : '', s.samplingRate !== undefined ? `q = ${s.samplingRate}` : '', `seeds ${grid.seeds.join(', ')}`, `axes: ${Object.keys(grid.axes).join(', ')}`].filter((p) => p !== '').join(' · ');
}

/** The privacy–utility curve: final accuracy against the ε budget, cells without DP as the ε = ∞ line. */
function privacyUtility(rows: readonly CellSummary[], outcome: SweepOutcome, sub: string): Parameters<typeof linesSpec>[0] | null {
  const dp = rows.filter((r) => r.epsilonBudget !== null);
  if (new Set(dp.map((r) => r.epsilonBudget)).size < 2) return null;
  // One curve per combination of the axes that do not set ε (e.g. with and without reweighing).
  const privacyAxes = new Set(Object.keys(rows[0]?.values ?? {}).filter((axis) => rows.some((r) => r.values[axis] !== rows[0]?.values[axis] && r.epsilonBudget !== rows[0]?.epsilonBudget)));
  const key = (r: CellSummary): string => Object.entries(r.values).filter(([a]) => !privacyAxes.has(a)).map(([a, v]) => `${a} = ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(', ') || 'federated';
  const groups = new Map<string, CellSummary[]>();
  for (const r of dp) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  const series: LineSeries[] = [...groups.entries()].map(([name, cells]) => ({ name: name === 'federated' ? 'federated with DP' : name, points: [...cells].sort((a, b) => (a.epsilonBudget ?? 0) - (b.epsilonBudget ?? 0)).map((c) => ({ x: c.epsilonBudget ?? 0, y: c.accuracy.mean, low: c.accuracy.low, high: c.accuracy.high })) }));
  const references: ReferenceLine[] = rows.filter((r) => r.epsilonBudget === null && r.accuracy.mean !== null).map((r) => ({ name: `no DP, ε = ∞ (${key(r)})`, y: r.accuracy.mean ?? 0 }));
  const pooled = meanInterval95(outcome.cells.flatMap((c) => c.runs.map((r) => r.baselines?.pooled ?? null)));
  if (pooled.mean !== null) references.push({ name: 'baseline: pooled (mean)', y: pooled.mean });
  const local = meanInterval95(outcome.cells.flatMap((c) => c.runs.map((r) => r.baselines?.local ?? null)));
  if (local.mean !== null) references.push({ name: 'baseline: local only (mean)', y: local.mean });
  return { title: 'Privacy–utility: final test accuracy against the ε budget (mean and 95 % t interval over seeds)', subtitle: sub, xLabel: 'ε budget (log scale)', yLabel: 'final test accuracy', series, references, intervals: 'bars', xScale: 'log' };
}

/** The privacy–utility curve as a standalone SVG document, when the cells differ in their ε budget. */
export async function privacyUtilitySvg(grid: SweepGrid, outcome: SweepOutcome, rows: readonly CellSummary[]): Promise<string | null> {
  const curve = privacyUtility(rows, outcome, gridLine(grid, outcome));
  return curve ? renderSvg(linesSpec(curve)) : null;
}

export async function sweepReportHtml(grid: SweepGrid, outcome: SweepOutcome, rows: readonly CellSummary[], curveSvg: string | null): Promise<string> {
  const sub = gridLine(grid, outcome);
  const figures: string[] = [];
  if (curveSvg !== null) figures.push('<h2>Privacy–utility curve</h2>', `<figure>${curveSvg.replace(/^<\?xml[^>]*>\s*/, '')}</figure>`);
  figures.push('<h2>Accuracy per cell</h2>', `<figure>${await inlineSvg(linesSpec({ title: 'Final test accuracy per cell (mean, 95 % t interval over seeds)', subtitle: sub, xLabel: 'cell (numbered as in the table)', yLabel: 'final test accuracy', intervals: 'bars', series: [{ name: 'cells', points: rows.map((r, i) => ({ x: i + 1, y: r.accuracy.mean, low: r.accuracy.low, high: r.accuracy.high })) }] }))}</figure>`);
  const overRounds: LineSeries[] = outcome.cells.map((c, i) => {
    const rounds = Math.max(0, ...c.runs.map((r) => r.accuracyByRound.length));
    return { name: `${i + 1}: ${c.cell.label}`, points: Array.from({ length: rounds }, (_, k) => { const m = meanInterval95(c.runs.map((r) => r.accuracyByRound[k] ?? null)); return { x: k + 1, y: m.mean, low: m.low, high: m.high }; }) };
  });
  figures.push(`<figure>${await inlineSvg(linesSpec({ title: 'Test accuracy over rounds per cell (mean, 95 % t interval over seeds)', subtitle: sub, xLabel: 'round', yLabel: 'test accuracy', series: overRounds }))}</figure>`);
  const tableRows = rows.map((r, i) => [String(i + 1), r.label, r.epsilonBudget === null ? '∞ (no DP)' : String(r.epsilonBudget), r.noiseMultiplier === null ? '–' : r.noiseMultiplier.toPrecision(6), String(r.seeds), withInterval(r.accuracy), withInterval(r.loss), f4(r.epsilonSpent.mean), r.statuses.join(', '), r.id]);
  return page(`Tessera sweep report — ${grid.name}`, [
    `<h1>Sweep report: ${escapeHtml(grid.name)}</h1>`,
    `<p>${escapeHtml(sub)}. ${outcome.cells.length} cells × ${grid.seeds.length} seeds. Intervals: Student t, 95 %, over seeds (Student 1908). Each run's own report, results.json and reproducibility manifest are under <code>cells/&lt;cell&gt;/seed-&lt;seed&gt;/</code>.</p>`,
    table(['#', 'cell', 'ε budget', 'σ', 'seeds', 'accuracy (mean [95 % CI])', 'loss (mean [95 % CI])', 'ε spent', 'status', 'directory'], tableRows),
    ...figures,
  ]);
}

export async function writeSweepOutputs(out: string, grid: SweepGrid, outcome: SweepOutcome): Promise<CellSummary[]> {
  const rows = outcome.cells.map(cellSummary);
  writeFileSync(join(out, 'summary.json'), `${JSON.stringify({ name: grid.name, seeds: grid.seeds, ran: outcome.ran, skipped: outcome.skipped, cells: rows }, null, 2)}\n`);
  writeFileSync(join(out, 'summary.csv'), summaryCsv(rows));
  const curve = await privacyUtilitySvg(grid, outcome, rows);
  if (curve !== null) writeFileSync(join(out, 'privacy-utility.svg'), curve);
  writeFileSync(join(out, 'report.html'), await sweepReportHtml(grid, outcome, rows, curve));
  return rows;
}
