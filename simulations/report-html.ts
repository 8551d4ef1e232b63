/**
 * The self-contained HTML report of one simulation (issue 18 §5): every chart is a Vega-Lite spec rendered to
 * SVG here and inlined, so the file opens offline and holds no script and no external reference. It shows
 * accuracy and loss per round with the baselines as reference lines, ε over rounds against the budget,
 * participation and declines per organisation, fairness over rounds (disparities against the policy's
 * thresholds; per-group selection rates with their Wilson intervals; group sizes), the cost per round (client
 * compute, coordinator time, bytes each way), and the reproducibility manifest. Sweeps have their own page
 * (simulations/sweep/report.ts) built from the same pieces.
 */
import type { RoundRecord } from '../coordinator/round-records.ts';
import { groupMetricSeries } from '../governance/fairness/over-rounds.ts';
import type { JobSpec } from '../protocol/job/spec.ts';
import { roundReports } from './fairness-report.ts';
import type { Manifest } from './manifest.ts';
import type { SimulationSummary } from './report.ts';
import { barsSpec, inlineSvg, linesSpec, type LineSeries, type ReferenceLine } from './report-charts.ts';

/** What results.json holds (simulations/report.ts writeSimulationOutputs). */
export type RunResults = SimulationSummary & { readonly job: JobSpec; readonly roundRecords: readonly RoundRecord[]; readonly manifest: Manifest };

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** One line naming a run's configuration: the subtitle of each of its charts. */
export function configLine(job: JobSpec, config: Record<string, unknown>): string {
  const parts = [String(config.dataset ?? job.data.dataset ?? ''), `${String(config.clients ?? '?')} clients`, String(config.partition ?? ''), `${job.rounds} rounds`, `seed ${String(job.seed)}`, job.model.kind];
  if (job.sampling.mode === 'poisson') parts.push(`q = ${job.sampling.rate}`);
  if (job.dp.enabled) parts.push(`DP ${job.dp.placement} σ = ${job.dp.noiseMultiplier.toPrecision(4)}, C = ${job.dp.clipNorm}, ε budget ${job.dp.epsilon ?? '–'}`);
  if (job.secagg.enabled) parts.push('SecAgg+');
  if (job.fairness.enabled && job.fairness.reweighing) parts.push('reweighing');
  return parts.filter((p) => p !== '').join(' · ');
}

const fmt = (v: number | null | undefined, digits = 4): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '–');

export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const th = headers.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const tr = rows.map((r) => `<tr>${r.map((c) => `<td>${escapeHtml(c)}</td>`).join('')}</tr>`).join('\n');
  return `<table><thead><tr>${th}</tr></thead><tbody>\n${tr}\n</tbody></table>`;
}

export const STYLE = 'body{font-family:sans-serif;max-width:980px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0;font-size:13px}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}th{background:#f3f3f3}figure{margin:1.5em 0}code{font-size:12px}';

export function page(title: string, body: readonly string[]): string {
  return `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>\n${body.join('\n')}\n</body></html>\n`;
}

export function manifestSection(m: Manifest): string {
  const rows: string[][] = [
    ['commit', `${m.commit.hash ?? 'unknown'}${m.commit.dirty === true ? ' (uncommitted changes)' : ''}`],
    ['package-lock.json SHA-256', m.lockfileSha256 ?? 'none'],
    ['Node / tfjs / wasm backend', `${m.runtime.node} / ${m.runtime.tfjs ?? '?'} / ${m.runtime.tfjsBackendWasm ?? '?'} (${m.runtime.backend}${m.runtime.simd === true ? ', SIMD' : ''})`],
    ['seed', String(m.seed)],
    ['job spec SHA-256 (RFC 8785)', m.jobSpecSha256],
    ['final weights SHA-256', m.result.weightsSha256],
    ['reproducible', m.reproducible ? 'yes (`tessera simulate --replay results.json` checks it)' : `no: ${m.notReproducibleBecause ?? ''}`],
    ...m.data.files.map((f) => [`data ${m.data.dataset}/${f.name} (${f.bytes} bytes)`, f.sha256]),
  ];
  return `<h2>Reproducibility manifest</h2>\n${table(['item', 'value'], rows)}`;
}

function baselineRefs(r: RunResults, key: 'accuracy' | 'loss'): ReferenceLine[] {
  const b = r.baselines;
  if (!b) return [];
  return [
    { name: 'baseline: pooled', y: b.pooled[key] },
    { name: 'baseline: local only (mean)', y: b.local[key] },
    ...(b.nonPrivate && b.nonPrivate[key] !== null ? [{ name: 'baseline: federated, no DP', y: b.nonPrivate[key] }] : []),
  ];
}

async function figure(spec: Parameters<typeof inlineSvg>[0]): Promise<string> {
  return `<figure>${await inlineSvg(spec)}</figure>`;
}

/** Charts of one run, in report order. */
export async function runCharts(r: RunResults): Promise<string[]> {
  const sub = configLine(r.job, r.config);
  const out: string[] = [];
  const byRound = (f: (x: RoundRecord) => number | null | undefined): LineSeries['points'] => r.roundRecords.map((x) => ({ x: x.round, y: f(x) ?? null }));
  const accuracy: LineSeries[] = [{ name: 'test accuracy (central)', points: byRound((x) => x.accuracy) }];
  if (r.roundRecords.some((x) => x.extra.federatedEvaluation)) accuracy.push({ name: 'held-out accuracy (federated)', points: byRound((x) => x.extra.federatedEvaluation?.accuracy) });
  out.push('<h2>Accuracy and loss</h2>', await figure(linesSpec({ title: 'Accuracy per round', subtitle: sub, xLabel: 'round', yLabel: 'accuracy', series: accuracy, references: baselineRefs(r, 'accuracy') })));
  out.push(await figure(linesSpec({ title: 'Loss per round', subtitle: sub, xLabel: 'round', yLabel: 'cross-entropy loss', series: [{ name: 'test loss (central)', points: byRound((x) => x.loss) }], references: baselineRefs(r, 'loss') })));
  if (r.roundRecords.some((x) => x.extra.privacy)) {
    const budget = r.job.dp.epsilon;
    out.push('<h2>Privacy</h2>', await figure(linesSpec({ title: 'ε spent over rounds', subtitle: sub, xLabel: 'round', yLabel: `ε (δ = ${r.job.dp.delta})`, series: [{ name: 'ε spent (ledger)', points: byRound((x) => x.extra.privacy?.epsilon) }], references: budget !== undefined ? [{ name: 'ε budget', y: budget }] : [] })));
  }
  out.push('<h2>Participation</h2>', await figure(barsSpec({ title: 'Rounds taken part in, declined and dropped, per organisation', subtitle: sub, xLabel: 'organisation', yLabel: 'rounds', data: participation(r.roundRecords) })));
  out.push(...(await fairnessCharts(r, sub)));
  out.push('<h2>Cost per round</h2>');
  out.push(await figure(linesSpec({ title: 'Time per round', subtitle: sub, xLabel: 'round', yLabel: 'milliseconds', series: [
    { name: 'client compute (sum)', points: r.rounds.map((x) => ({ x: x.round, y: x.cost.clientTrainMs })) },
    { name: 'slowest client', points: r.rounds.map((x) => ({ x: x.round, y: x.cost.slowestTrainMs })) },
    { name: 'coordinator (round − slowest)', points: r.rounds.map((x) => ({ x: x.round, y: x.cost.coordinatorMs })) },
  ] })));
  const bytes = r.rounds.flatMap((x) => [
    { category: String(x.round), part: 'sent by clients', value: x.cost.bytesFromClients ?? 0 },
    { category: String(x.round), part: 'received by clients', value: x.cost.bytesToClients ?? 0 },
  ]);
  out.push(await figure(barsSpec({ title: 'Bytes on the wire per round (socket.io encoding)', subtitle: sub, xLabel: 'round', yLabel: 'bytes', data: bytes, grouped: true })));
  return out;
}

function participation(rounds: readonly RoundRecord[]): Array<{ category: string; part: string; value: number }> {
  const counts = new Map<string, { took: number; declined: number; dropped: number }>();
  const at = (org: string): { took: number; declined: number; dropped: number } => {
    let c = counts.get(org);
    if (c === undefined) {
      c = { took: 0, declined: 0, dropped: 0 };
      counts.set(org, c);
    }
    return c;
  };
  for (const r of rounds) {
    for (const o of r.participantOrgs) at(o).took++;
    for (const d of r.declined) at(d.orgId).declined++;
    for (const d of r.dropped) at(d.orgId).dropped++;
  }
  return [...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).flatMap(([org, c]) => [
    { category: org, part: 'took part', value: c.took },
    { category: org, part: 'declined', value: c.declined },
    { category: org, part: 'dropped', value: c.dropped },
  ]);
}

const DISPARITIES = ['demographicParityDifference', 'equalOpportunityDifference', 'equalizedOddsDifference', 'accuracyGap'] as const;

async function fairnessCharts(r: RunResults, sub: string): Promise<string[]> {
  const reports = roundReports(r.roundRecords);
  const last = reports.at(-1);
  if (last === undefined) return [];
  const out: string[] = ['<h2>Fairness (federated evaluation on held-out splits)</h2>'];
  const attributes = last.report.settings.attributes.map((a) => a.name);
  for (const attribute of attributes) {
    const series: LineSeries[] = DISPARITIES.map((metric) => ({ name: metric, points: reports.map(({ round, report }) => ({ x: round, y: report.disparities[attribute]?.[metric] ?? null })) })).filter((s) => s.points.some((p) => p.y !== null));
    const thresholds: ReferenceLine[] = last.report.policy.rules.filter((p) => p.rule.attribute === attribute).flatMap((p) => [
      ...(p.rule.max !== undefined ? [{ name: `policy: ${p.rule.metric} ≤ ${p.rule.max}`, y: p.rule.max }] : []),
      ...(p.rule.min !== undefined ? [{ name: `policy: ${p.rule.metric} ≥ ${p.rule.min}`, y: p.rule.min }] : []),
    ]);
    if (series.length > 0) out.push(await figure(linesSpec({ title: `Disparities by ${attribute} over rounds`, subtitle: sub, xLabel: 'round', yLabel: 'disparity', series, references: thresholds })));
    // Per-group selection rate with its Wilson score interval (Wilson 1927), the intervals of the Markdown report.
    const rates: LineSeries[] = groupMetricSeries(reports, { attribute, metric: 'selectionRate' }).map((s) => ({
      name: s.name,
      points: reports.map(({ round, report }) => {
        const g = report.groups[attribute]?.[s.name];
        const ok = g !== undefined && !g.suppressed;
        const ci = ok ? g.intervals.selectionRate : null;
        return { x: round, y: ok ? g.selectionRate : null, low: ci?.[0] ?? null, high: ci?.[1] ?? null };
      }),
    }));
    if (rates.length > 0) out.push(await figure(linesSpec({ title: `Selection rate by ${attribute} (95 % Wilson intervals)`, subtitle: sub, xLabel: 'round', yLabel: 'selection rate', yDomain: [0, 1], series: rates })));
    const sizes = Object.entries(last.report.groups[attribute] ?? {}).map(([group, g]) => ({ category: group, part: g.suppressed ? `suppressed (< ${last.report.settings.minGroupSize})` : 'held-out examples', value: g.suppressed ? 0 : g.count }));
    if (sizes.length > 0) out.push(await figure(barsSpec({ title: `Group sizes by ${attribute} (round ${last.round})`, subtitle: sub, xLabel: attribute, yLabel: 'examples', data: sizes })));
  }
  return out;
}

/** The whole page of one run. */
export async function runReportHtml(r: RunResults): Promise<string> {
  const b = r.baselines;
  const summary = table(
    ['', 'accuracy', 'loss'],
    [
      ['federated (final)', fmt(r.final.accuracy), fmt(r.final.loss)],
      ...(b ? [['pooled (centralised)', fmt(b.pooled.accuracy), fmt(b.pooled.loss)], ['local only (mean over clients)', fmt(b.local.accuracy), fmt(b.local.loss)], ...(b.nonPrivate ? [['federated without DP', fmt(b.nonPrivate.accuracy), fmt(b.nonPrivate.loss)]] : [])] : []),
    ],
  );
  return page(`Tessera simulation report — ${r.job.name}`, [
    `<h1>Simulation report: ${escapeHtml(r.job.name)}</h1>`,
    `<p>${escapeHtml(configLine(r.job, r.config))}. Status: ${escapeHtml(r.status)} — ${escapeHtml(r.message)}. Backend ${escapeHtml(r.backend)}. ${r.private ? '' : 'Seeded simulation: not private.'}</p>`,
    summary,
    ...(await runCharts(r)),
    manifestSection(r.manifest),
  ]);
}
