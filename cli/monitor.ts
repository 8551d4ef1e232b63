/**
 * `tessera monitor`: the current picture of served models (issue 20 §2–4) — latency quantiles, errors and contract
 * refusals, served-input and prediction drift, online accuracy and calibration against the registry's offline
 * evaluation, schema changes, the canary's verdict under the policy's criteria, and the alerts. From the state
 * directory (`--state DIR`, the durable serving records; works while the coordinator runs or after) or from a
 * running coordinator (`--coordinator URL --token T`, `GET /v1/monitor`). One document with `--json`
 * (protocol/serving-monitor.ts).
 */
import type { Command } from 'commander';
import { TesseraError } from '../protocol/errors.ts';
import type { ModelMonitor, MonitorReport, VersionMonitor } from '../protocol/serving-monitor.ts';
import { DEFAULT_STATE, STATE_HELP, parseWith, withState } from './models.ts';
import { action, integerOption, numberOption, printJson, printLine } from './run.ts';

interface MonitorFlags {
  state?: string;
  coordinator?: string;
  token?: string;
  name?: string;
  json?: boolean;
  gapThreshold?: number;
  minLabels?: number;
  predictionPsi?: number;
}

const short = (v: string): string => v.slice(0, 12);
const num = (x: number | null | undefined, unit = ''): string => (x === null || x === undefined ? '-' : `${x}${unit}`);

function versionLines(v: VersionMonitor): string[] {
  const out = [`  ${v.stage} ${short(v.version)} since ${v.since}: ${v.requests} request(s) answered (${v.instances} instance(s)), ${v.errors} failed (error rate ${num(v.errorRate)}), ${v.refused} refused by the contract`];
  out.push(`    latency p50 ${num(v.latencyMs.p50, ' ms')}, p95 ${num(v.latencyMs.p95, ' ms')}, p99 ${num(v.latencyMs.p99, ' ms')}`);
  const offline = v.offline === null ? 'no offline evaluation in the registry' : `offline ${v.offline.accuracy} on ${v.offline.examples} held-out examples`;
  out.push(`    online accuracy ${num(v.online.accuracy)} on ${v.online.labelled} label(s), ECE ${num(v.online.ece)}; ${offline}${v.gap ? `; gap ${v.gap.value}${v.gap.alert ? ` ✗ above ${v.gap.threshold}` : ''}` : ''}`);
  if (v.predictionDrift) out.push(`    predicted-class shares ${v.predictionDrift.shares.join('/')} vs held-out labels ${v.predictionDrift.reference.join('/')}: PSI ${v.predictionDrift.psi}${v.predictionDrift.drifted ? ' ✗' : ''}`);
  const drifted = v.inputDrift.filter((d) => d.drifted);
  if (v.inputDrift.length > 0) {
    const n = Math.max(...v.inputDrift.map((d) => d.n));
    out.push(`    input drift over the last ${n} served value(s): ${drifted.length === 0 ? `no column above its threshold (${new Set(v.inputDrift.map((d) => d.column)).size} checked)` : drifted.map((d) => `${d.column} ${d.statistic.toUpperCase()} ${d.value} ✗ (threshold ${d.threshold})`).join(', ')}`);
  }
  return out;
}

export function formatModelMonitor(m: ModelMonitor): string {
  const lines = [`${m.model} (deployment revision ${m.revision})`];
  for (const v of m.versions) lines.push(...versionLines(v));
  if (m.canary) {
    const c = m.canary;
    lines.push(`  canary ${short(c.version)} at ${num(c.percent, '%')}: ${c.status === 'no-criteria' ? 'the policy states no canary criteria' : c.status}`);
    const tokens = c.figures.tokens;
    if (typeof tokens === 'number') lines.push(`    evidence from ${tokens} distinct token(s)${typeof c.figures.largestTokenShare === 'number' ? `, the largest sending ${Math.round(c.figures.largestTokenShare * 100)} % of the canary's requests` : ''}; labels from ${c.figures.canaryLabellingTokens ?? 0} (canary) and ${c.figures.productionLabellingTokens ?? 0} (production)`);
    for (const b of c.breaches) lines.push(`    ✗ ${b}`);
    for (const w of c.waitingFor) lines.push(`    … waiting for ${w}`);
    if (c.status === 'ready') lines.push('    ready for promotion (promotion still needs the approvals: tessera deploy --stage production)');
  }
  for (const r of m.canaryRollbacks) lines.push(`  canary ${short(r.version)} rolled back at ${r.at} by ${r.actor}`);
  if (m.schemaChanges.length > 0) lines.push(`  schema changes: ${m.schemaChanges.map((s) => `${s.column} ${s.change} ×${s.count}`).join(', ')}`);
  for (const a of m.alerts) lines.push(`  ALERT ${a.kind} (${short(a.version)}): ${a.message}`);
  return lines.join('\n');
}

async function fromCoordinator(o: MonitorFlags): Promise<MonitorReport> {
  const token = o.token ?? process.env.TESSERA_TOKEN;
  if (token === undefined || token === '') throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'give an operator token: --token TOKEN or TESSERA_TOKEN (tessera tokens create --role ml-lead)');
  const url = `${(o.coordinator ?? '').replace(/\/$/, '')}/v1/monitor${o.name !== undefined ? `?model=${encodeURIComponent(o.name)}` : ''}`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `cannot reach the coordinator at ${o.coordinator ?? ''}: ${String(cause)}`, { cause });
  }
  const json = (await res.json()) as unknown;
  if (!res.ok) {
    const { ApiError } = await import('../protocol/api.ts');
    const e = ApiError.safeParse(json);
    throw new TesseraError(e.success ? e.data.error.code : 'TESSERA_ERR_INTERNAL', e.success ? e.data.error.message : `HTTP ${res.status}`);
  }
  const { MonitorReport } = await import('../protocol/serving-monitor.ts');
  return MonitorReport.parse(json);
}

export function registerMonitor(program: Command): void {
  program
    .command('monitor')
    .description('The current picture of served models: latency, errors, drift, online accuracy and calibration, the canary verdict and the alerts.')
    .option('--state <dir>', `${STATE_HELP} (read the durable serving records)`)
    .option('--coordinator <url>', "a running coordinator's URL (GET /v1/monitor; needs --token)")
    .option('--token <token>', 'operator API token for --coordinator (default: $TESSERA_TOKEN)')
    .option('--name <model>', 'one model name (default: every deployed model)')
    .option('--gap-threshold <x>', 'with --state: offline − online accuracy above this is an alert (default 0.05)', parseWith(numberOption('--gap-threshold', 0, 1)))
    .option('--min-labels <n>', 'with --state: labels before online accuracy is compared (default 30)', parseWith(integerOption('--min-labels', 1)))
    .option('--prediction-psi <x>', 'with --state: predicted-class PSI above this is an alert (default 0.25)', parseWith(numberOption('--prediction-psi', 0)))
    .option('--json', 'print one JSON document (protocol/serving-monitor.ts MonitorReport)')
    .action(
      action(async (o: MonitorFlags) => {
        if (o.state !== undefined && o.coordinator !== undefined) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'give either --state or --coordinator, not both');
        let report: MonitorReport;
        if (o.coordinator !== undefined) report = await fromCoordinator(o);
        else {
          const { monitorReport, MONITOR_DEFAULTS } = await import('../governance/monitoring/picture.ts');
          const thresholds = { onlineGap: o.gapThreshold ?? MONITOR_DEFAULTS.onlineGap, minLabels: o.minLabels ?? MONITOR_DEFAULTS.minLabels, predictionPsi: o.predictionPsi ?? MONITOR_DEFAULTS.predictionPsi };
          const state = o.state ?? DEFAULT_STATE;
          report = await withState(state, (db) => monitorReport(db, state, { thresholds, ...(o.name !== undefined ? { name: o.name } : {}) }));
        }
        if (o.json) return printJson(report);
        if (report.models.length === 0) printLine('no model is deployed');
        for (const m of report.models) printLine(formatModelMonitor(m));
      }),
    );
}
