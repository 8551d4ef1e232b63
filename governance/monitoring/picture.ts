/**
 * The monitoring picture (protocol/serving-monitor.ts) of every deployed model, from the durable serving records
 * alone — so `tessera monitor --state DIR` and `GET /v1/monitor` print the same thing, and the picture survives a
 * restart. The canary verdict is the one the serving coordinator acts on (canaryVerdictOf), with the policy
 * resolved exactly as the gate resolves it (governance/deploy/policy.ts, floor included).
 */
import { getDeploymentState, listDeploymentStates, type DeploymentState } from '../deploy/deployments.ts';
import { resolvePolicy } from '../deploy/policy.ts';
import { getModel } from '../registry/registry.ts';
import type { Db } from '../state/database.ts';
import { psi, roundTo } from '../contract/stats.ts';
import type { CanaryCriteria } from '../../protocol/job/governance.ts';
import type { CanaryMonitor, ModelMonitor, MonitorAlert, MonitorReport, VersionMonitor } from '../../protocol/serving-monitor.ts';
import { onlineQuality } from './calibration.ts';
import { judgeCanaryEvidence, type EvidenceVerdict } from './canary-evidence.ts';
import { histogramQuantile } from './latency.ts';
import { readCounter, readDrift, readSchemaChanges, stageSince, type CounterRow, type ServedStage } from './store.ts';
import { readTokenEvidence } from './token-evidence.ts';

export interface MonitorThresholds {
  /** Offline − online accuracy above this raises the online-gap alert. */
  readonly onlineGap: number;
  /** Labels needed before online accuracy is compared with the offline evaluation. */
  readonly minLabels: number;
  /** PSI of predicted-class shares against held-out label shares above this raises prediction drift. */
  readonly predictionPsi: number;
}

/** 0.05: five points of accuracy lost between the registry's evaluation and live traffic is worth a look. 0.25: the PSI line of the contracts. */
export const MONITOR_DEFAULTS: MonitorThresholds = { onlineGap: 0.05, minLabels: 30, predictionPsi: 0.25 };

const ms = (s: number | null): number | null => (s === null ? null : roundTo(s * 1000, 3));

function versionMonitor(db: Db, name: string, version: string, stage: ServedStage, drift: ReturnType<typeof readDrift>, t: MonitorThresholds): VersionMonitor {
  const since = stageSince(db, name, version, stage);
  const c: CounterRow | undefined = readCounter(db, { model: name, version, stage, since });
  const perf = getModel(db, version)?.lineage.performance;
  const q = onlineQuality(c?.calibration ?? []);
  const attempts = (c?.requests ?? 0) + (c?.errors ?? 0);
  let predictionDrift: VersionMonitor['predictionDrift'] = null;
  const predictedTotal = (c?.predicted ?? []).reduce((a, b) => a + b, 0);
  if (perf !== undefined && predictedTotal > 0) {
    const n = perf.labelCounts.reduce((a, b) => a + b, 0);
    const reference = perf.labelCounts.map((k) => k / n);
    const shares = reference.map((_, i) => (c?.predicted[i] ?? 0) / predictedTotal);
    const value = roundTo(psi({ actual: shares, expected: reference }));
    predictionDrift = { shares: shares.map((x) => roundTo(x)), reference: reference.map((x) => roundTo(x)), psi: value, threshold: t.predictionPsi, drifted: value > t.predictionPsi };
  }
  const gapValue = perf !== undefined && q.accuracy !== null && q.labelled >= t.minLabels ? roundTo(perf.model.accuracy - q.accuracy) : null;
  return {
    version,
    stage,
    since,
    requests: c?.requests ?? 0,
    instances: c?.instances ?? 0,
    errors: c?.errors ?? 0,
    refused: c?.refused ?? 0,
    errorRate: attempts > 0 ? roundTo((c?.errors ?? 0) / attempts) : null,
    latencyMs: {
      p50: ms(histogramQuantile(c?.latency ?? [], 0.5)),
      p95: ms(histogramQuantile(c?.latency ?? [], 0.95)),
      p99: ms(histogramQuantile(c?.latency ?? [], 0.99)),
      mean: c !== undefined && c.requests > 0 ? ms(c.latencySum / c.requests) : null,
    },
    predictionDrift,
    online: { labelled: q.labelled, accuracy: q.accuracy === null ? null : roundTo(q.accuracy), ece: q.ece === null ? null : roundTo(q.ece), reliability: q.reliability.map((b) => ({ ...b, confidence: b.confidence === null ? null : roundTo(b.confidence), accuracy: b.accuracy === null ? null : roundTo(b.accuracy) })) },
    offline: perf === undefined ? null : { accuracy: perf.model.accuracy, brier: perf.model.brier, examples: perf.examples },
    gap: gapValue === null ? null : { value: gapValue, threshold: t.onlineGap, alert: gapValue > t.onlineGap },
    inputDrift: drift.filter((d) => d.version === version).map((d) => ({ column: d.column, statistic: d.statistic, value: d.value, threshold: d.threshold, drifted: d.drifted, n: d.n, at: d.at })),
  };
}

/** The canary criteria of the policy that applies to `version` (every layer, raised to the floor); undefined when none are stated. */
export function resolveCanaryCriteria(db: Db, stateDir: string, version: string): CanaryCriteria | undefined {
  const model = getModel(db, version);
  return model === undefined ? undefined : resolvePolicy({ db, model, stateDir }).policy.canaryCriteria;
}

/**
 * The canary's verdict under its criteria (resolved here unless given), judged on the per-token evidence of the
 * canary's stay and production's (canary-evidence.ts: distinct tokens, share cap, leave one token out); null
 * without a canary, `criteria: null` when the policy states none.
 */
export function canaryVerdictOf(
  db: Db,
  stateDir: string,
  state: DeploymentState,
  options: { now?: Date; criteria?: CanaryCriteria | undefined } = {},
): { since: string; criteria: CanaryCriteria | null; verdict: EvidenceVerdict | null } | null {
  if (state.canary === null || state.production === null) return null;
  const since = stageSince(db, state.name, state.canary, 'canary');
  const criteria = 'criteria' in options ? options.criteria : resolveCanaryCriteria(db, stateDir, state.canary);
  if (criteria === undefined) return { since, criteria: null, verdict: null };
  const canary = readTokenEvidence(db, { model: state.name, version: state.canary, stage: 'canary', since });
  const production = readTokenEvidence(db, { model: state.name, version: state.production, stage: 'production', since: stageSince(db, state.name, state.production, 'production') });
  return { since, criteria, verdict: judgeCanaryEvidence({ criteria, canary, production, since, now: options.now ?? new Date() }) };
}

export function modelMonitor(db: Db, stateDir: string, name: string, t: MonitorThresholds = MONITOR_DEFAULTS, now: Date = new Date()): ModelMonitor {
  const state = getDeploymentState(db, name);
  const drift = readDrift(db, name);
  const versions: VersionMonitor[] = [];
  if (state.production !== null) versions.push(versionMonitor(db, name, state.production, 'production', drift, t));
  if (state.canary !== null) versions.push(versionMonitor(db, name, state.canary, 'canary', drift, t));
  const alerts: MonitorAlert[] = [];
  for (const v of versions) {
    for (const d of v.inputDrift) if (d.drifted) alerts.push({ kind: 'input-drift', version: v.version, message: `${v.stage} input drift on ${d.column}: ${d.statistic.toUpperCase()} ${d.value} above ${d.threshold} over the last ${d.n} served values` });
    if (v.predictionDrift?.drifted) alerts.push({ kind: 'prediction-drift', version: v.version, message: `${v.stage} predicted-class shares ${v.predictionDrift.shares.join('/')} against held-out labels ${v.predictionDrift.reference.join('/')}: PSI ${v.predictionDrift.psi} above ${v.predictionDrift.threshold}` });
    if (v.gap?.alert) alerts.push({ kind: 'online-gap', version: v.version, message: `${v.stage} online accuracy ${v.online.accuracy} on ${v.online.labelled} labels is ${v.gap.value} below the offline ${v.offline?.accuracy} (threshold ${v.gap.threshold})` });
  }
  const c = canaryVerdictOf(db, stateDir, state, { now });
  let canary: CanaryMonitor | null = null;
  if (c !== null && state.canary !== null) {
    canary = {
      version: state.canary,
      percent: state.canaryPercent,
      since: c.since,
      criteria: c.criteria === null ? null : { ...c.criteria },
      status: c.verdict?.status ?? 'no-criteria',
      figures: c.verdict ? { ...c.verdict.figures } : {},
      breaches: [...(c.verdict?.breaches ?? [])],
      waitingFor: [...(c.verdict?.waitingFor ?? [])],
    };
    for (const b of canary.breaches) alerts.push({ kind: 'canary-breach', version: state.canary, message: b });
  }
  const canaryRollbacks = (db.prepare("SELECT version, at, actor FROM deployments WHERE name = ? AND action = 'rollback' AND stage = 'canary' ORDER BY id").all(name) as Array<{ version: string; at: string; actor: string }>).map((r) => ({ ...r }));
  return { model: name, revision: state.revision, versions, canary, schemaChanges: readSchemaChanges(db, name), canaryRollbacks, alerts };
}

/** Every deployed model (or the one named). */
export function monitorReport(db: Db, stateDir: string, options: { name?: string; thresholds?: MonitorThresholds; now?: Date } = {}): MonitorReport {
  const t = options.thresholds ?? MONITOR_DEFAULTS;
  const names = options.name !== undefined ? [options.name] : listDeploymentStates(db).filter((s) => s.production !== null).map((s) => s.name);
  return { generatedAt: (options.now ?? new Date()).toISOString(), thresholds: { ...t }, models: names.map((n) => modelMonitor(db, stateDir, n, t, options.now)) };
}
