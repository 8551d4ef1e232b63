/**
 * Live monitoring and feedback (issue 20 §2–3), over real HTTP on 127.0.0.1 with a logistic model trained on UCI
 * Adult: latency histograms per version and stage in the metrics and as quantiles in the monitor; feedback moves
 * online accuracy and calibration (checked against a hand computation of Guo et al. 2017's ECE from the answers);
 * wrong labels open the offline-to-online gap and raise its alert; served-input drift over the sliding window is
 * silent on unshifted adult.test rows and, with age + 15, alerts on age and on no other column; the picture
 * survives a restart (`tessera monitor --state` reads the same records).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Metrics } from '../coordinator/metrics.ts';
import { deployModel } from '../governance/deploy/deployments.ts';
import { monitorReport } from '../governance/monitoring/picture.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import type { RegisteredModel } from '../governance/registry/registry.ts';
import { FeedbackResponse, PredictResponse } from '../protocol/serving.ts';
import { MonitorReport, type VersionMonitor } from '../protocol/serving-monitor.ts';
import { adultTestInstances, initAdultApprovers, registerAdult, startServing, trainAdult, type ServingApp } from './support/adult-serving.ts';
import { tempStateDir } from './governance-fixtures.ts';

let state: { dir: string; cleanup: () => void };
let db: Db;
let serving: ServingApp;
let model: RegisteredModel;
const metrics = new Metrics();
const rows = adultTestInstances(1400);

beforeAll(async () => {
  state = tempStateDir('tessera-serving-monitor-');
  db = openDatabase(state.dir);
  initAdultApprovers(db);
  model = await registerAdult(db, state.dir, await trainAdult(1));
  expect(deployModel(db, state.dir, { version: model.version, stage: 'production', actor: 'test' }).ok).toBe(true);
  serving = await startServing(state.dir, db, { metrics, drift: { size: 400, minRows: 200, every: 100 } });
}, 60_000);

afterAll(async () => {
  await serving?.app.close();
  db.close();
  state.cleanup();
});

async function predict(instances: unknown[]): Promise<PredictResponse> {
  const r = await serving.post('/v1/models/adult/predict', 'predict', { instances });
  expect(r.status, JSON.stringify(r.json)).toBe(200);
  return PredictResponse.parse(r.json);
}

async function production(): Promise<VersionMonitor> {
  const m = MonitorReport.parse((await serving.get('/v1/monitor?model=adult', 'ml-lead')).json).models[0];
  const v = m?.versions.find((x) => x.stage === 'production');
  if (v === undefined) throw new Error('no production in the monitor');
  return v;
}

/** ECE by hand (Guo et al. 2017 eq. 3, M = 10 equal-width confidence bins), independent of calibration.ts. */
function handEce(answers: ReadonlyArray<{ p: readonly number[]; label: number }>): number {
  const bins = Array.from({ length: 10 }, () => ({ n: 0, conf: 0, correct: 0 }));
  for (const a of answers) {
    const conf = Math.max(...a.p);
    const b = bins[Math.min(9, Math.ceil(conf * 10) - 1)];
    if (!b) continue;
    b.n++;
    b.conf += conf;
    b.correct += a.p.indexOf(conf) === a.label ? 1 : 0;
  }
  return bins.reduce((s, b) => s + (b.n === 0 ? 0 : (b.n / answers.length) * Math.abs(b.correct / b.n - b.conf / b.n)), 0);
}

const answered: Array<{ id: string; p: number[]; truth: number }> = [];

describe('monitoring and feedback', () => {
  it('records latency per version and stage: a histogram in the metrics, p50/p95/p99 in the monitor', async () => {
    for (let i = 0; i < 10; i++) {
      const batch = rows.slice(i * 20, (i + 1) * 20);
      const body = await predict(batch.map((r) => r.instance));
      body.predictionIds.forEach((id, j) => answered.push({ id, p: body.predictions[j] ?? [], truth: batch[j]?.label === '>50K' ? 1 : 0 }));
    }
    const text = await metrics.render();
    expect(text).toMatch(new RegExp(`tessera_prediction_latency_seconds_count\\{model="adult",version="${model.version}",stage="production"\\} 10`));
    expect(text).toMatch(new RegExp(`tessera_prediction_instances_total\\{model="adult",version="${model.version}",stage="production"\\} 200`));
    const v = await production();
    expect(v).toMatchObject({ requests: 10, instances: 200, errors: 0, online: { labelled: 0, accuracy: null } });
    expect(v.latencyMs.p50).toBeGreaterThan(0);
    expect(v.latencyMs.p99 ?? 0).toBeGreaterThanOrEqual(v.latencyMs.p95 ?? Infinity);
    expect(v.latencyMs.p95 ?? 0).toBeGreaterThanOrEqual(v.latencyMs.p50 ?? Infinity);
  });

  it('feedback moves online accuracy and calibration; wrong labels open the offline-to-online gap and raise its alert', async () => {
    const first = answered.slice(0, 100);
    const r = await serving.post('/v1/models/adult/feedback', 'predict', { feedback: first.map((a) => ({ predictionId: a.id, label: a.truth === 1 ? '>50K' : '<=50K' })) });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(FeedbackResponse.parse(r.json).accepted).toBe(100);
    const correct = first.filter((a) => (a.p[1] ?? 0) > (a.p[0] ?? 0) === (a.truth === 1)).length;
    let v = await production();
    expect(v.online.labelled).toBe(100);
    expect(v.online.accuracy).toBeCloseTo(correct / 100, 6);
    expect(v.online.ece).toBeCloseTo(handEce(first.map((a) => ({ p: a.p, label: a.truth }))), 4);
    expect(v.online.reliability.reduce((s, b) => s + b.count, 0)).toBe(100);
    expect(v.offline?.accuracy).toBeGreaterThan(0.78);
    // Honest labels on adult.test: online accuracy near the registry's offline figure, no alert.
    expect(v.gap?.alert).toBe(false);

    // The next 100 answers are labelled with the opposite of the truth (numeric labels this time).
    const second = answered.slice(100, 200);
    expect((await serving.post('/v1/models/adult/feedback', 'predict', { feedback: second.map((a) => ({ predictionId: a.id, label: 1 - a.truth })) })).status).toBe(200);
    const wrongCorrect = second.filter((a) => (a.p[1] ?? 0) > (a.p[0] ?? 0) === (a.truth === 0)).length;
    v = await production();
    expect(v.online.labelled).toBe(200);
    expect(v.online.accuracy).toBeCloseTo((correct + wrongCorrect) / 200, 6);
    expect(v.gap?.alert).toBe(true);
    const report = MonitorReport.parse((await serving.get('/v1/monitor', 'viewer')).json);
    expect(report.models[0]?.alerts.map((a) => a.kind)).toContain('online-gap');
    expect(await metrics.render()).toMatch(new RegExp(`tessera_online_gap_alerts_total\\{model="adult",version="${model.version}"\\} 1`));
  });

  it('served-input drift: silent on unshifted rows, and age + 15 alerts on age and on no other column', async () => {
    // 400 more unshifted rows fill the window (400): no column drifts.
    for (let i = 0; i < 4; i++) await predict(rows.slice(200 + i * 100, 300 + i * 100).map((r) => r.instance));
    let v = await production();
    expect(v.inputDrift.length).toBeGreaterThan(13);
    expect(v.inputDrift.filter((d) => d.drifted)).toEqual([]);
    expect(await metrics.render()).not.toMatch(/tessera_serving_drift_alerts_total\{/);
    // The same population, everyone 15 years older (rows the contract's age ≤ 100 still admits).
    const shifted = rows.slice(600).map((r) => ({ ...r.instance, age: String(Number(r.instance.age) + 15) })).filter((x) => Number(x.age) <= 100).slice(0, 400);
    for (let i = 0; i < 4; i++) await predict(shifted.slice(i * 100, (i + 1) * 100));
    v = await production();
    const drifted = v.inputDrift.filter((d) => d.drifted);
    expect(new Set(drifted.map((d) => d.column))).toEqual(new Set(['age']));
    expect(drifted.map((d) => d.statistic).sort()).toEqual(['ks', 'psi']);
    const alerts = (await metrics.render()).split('\n').filter((l) => l.startsWith('tessera_serving_drift_alerts_total{'));
    expect(alerts.length).toBe(2);
    expect(alerts.every((l) => l.includes('column="age"'))).toBe(true);
    const report = MonitorReport.parse((await serving.get('/v1/monitor', 'ml-lead')).json);
    expect(report.models[0]?.alerts.filter((a) => a.kind === 'input-drift').every((a) => a.message.includes(' age:'))).toBe(true);
  });

  it('the picture survives a restart: another connection reads the same records (what tessera monitor --state prints)', async () => {
    const live = MonitorReport.parse((await serving.get('/v1/monitor', 'ml-lead')).json);
    const other = openDatabase(state.dir);
    try {
      const offline = monitorReport(other, state.dir, { now: new Date(live.generatedAt) });
      expect(offline.models).toEqual(live.models);
    } finally {
      other.close();
    }
  });
});
