/**
 * ATTACK (review 3's canary-steering finding, second half): one predict token tries to decide the canary's verdict
 * alone, over real HTTP on 127.0.0.1 with real Adult models, a real state directory and real feedback.
 *
 * The insider application floods the canary: 64-row batches, which the canary answers 200 ms late (the serving
 * options' test latency hook, keyed on version and batch size; no mock of the model), against a p99 limit of
 * 150 ms; and it labels every canary prediction it gets wrong and every production prediction right, against an
 * accuracy-gap limit of 0.25. Three honest applications send single rows, which both versions answer at once, and
 * label them with the true outcome from adult.test.
 *
 * The claim: the flood cannot roll the canary back. Why (governance/monitoring/canary-evidence.ts): a verdict is
 * judged on per-token evidence — at least three distinct tokens, no token above half the counted sample — and a
 * breach must hold with any one token's evidence left out. Left out, the flooder's breach disappears: the
 * honest tokens see a fast canary as accurate as production. So the canary stays, `GET /v1/monitor` shows
 * "insufficient-evidence" naming both would-be breaches, and no rollback is audited.
 *
 * The control: the same canary then becomes slow for everyone (a real regression); the honest tokens' own traffic
 * rolls it back, flood and all — the cap keeps the flooder from diluting the breach either.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CANARY_CRITERIA_ACTOR } from '../coordinator/serving/record.ts';
import { readAuditEntries } from '../governance/audit/log.ts';
import { deployModel, getDeploymentState } from '../governance/deploy/deployments.ts';
import { createOperatorToken } from '../governance/identity/operator-tokens.ts';
import type { RegisteredModel } from '../governance/registry/registry.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { MonitorReport } from '../protocol/serving-monitor.ts';
import { PredictResponse } from '../protocol/serving.ts';
import { adultTestInstances, initAdultApprovers, registerAdult, startServing, trainAdult, type ServingApp } from './support/adult-serving.ts';
import { tempStateDir } from './governance-fixtures.ts';

const data = adultTestInstances(400);
let state: { dir: string; cleanup: () => void };
let db: Db;
let s: ServingApp;
let production: RegisteredModel;
let canary: RegisteredModel;
let slowForAll = false;
const auth = (name: string): { authorization: string } => ({ authorization: `Bearer ${createOperatorToken(state.dir, { name, role: 'predict' }).token}` });
let flooder: { authorization: string };
let honest: Array<{ authorization: string }>;

beforeAll(async () => {
  state = tempStateDir('tessera-canary-evidence-');
  db = openDatabase(state.dir);
  initAdultApprovers(db);
  production = await registerAdult(db, state.dir, await trainAdult(1));
  canary = await registerAdult(db, state.dir, await trainAdult(2), { deployment: { canaryCriteria: { minRequests: 30, windowMinutes: 0, maxP99LatencyMs: 150, maxAccuracyGap: 0.25, minLabels: 15 } } });
  expect(deployModel(db, state.dir, { version: production.version, stage: 'production', actor: 'test' }).ok).toBe(true);
  expect(deployModel(db, state.dir, { version: canary.version, stage: 'canary', percent: 50, actor: 'test' }).ok).toBe(true);
  s = await startServing(state.dir, db, { hooks: { testExtraLatencyMs: (v, instances) => (v === canary.version && (instances >= 50 || slowForAll) ? 200 : 0) } });
  flooder = auth('insider-app');
  honest = ['clinic-a', 'clinic-b', 'clinic-c'].map(auth);
}, 120_000);

afterAll(async () => {
  await s.app.close();
  db.close();
  state.cleanup();
});

async function predict(who: { authorization: string }, rows: ReadonlyArray<{ instance: Record<string, string> }>): Promise<PredictResponse> {
  const r = await s.post('/v1/models/adult/predict', who, { instances: rows.map((x) => x.instance) });
  expect(r.status).toBe(200);
  return PredictResponse.parse(r.json);
}

async function feedback(who: { authorization: string }, items: Array<{ predictionId: string; label: number | string }>): Promise<void> {
  const r = await s.post('/v1/models/adult/feedback', who, { feedback: items });
  expect(r.status).toBe(200);
}

/** An honest application: one row at a time, labelled with the truth. */
async function honestTraffic(who: { authorization: string }, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n && getDeploymentState(db, 'adult').canary !== null; i++) {
    const row = data[i % data.length] as { instance: Record<string, string>; label: string };
    const p = await predict(who, [row]);
    await feedback(who, [{ predictionId: p.predictionIds[0] as string, label: row.label }]);
  }
}

describe('one token cannot decide the canary verdict', () => {
  it('ATTACK: a flood of slow batches and wrong labels from one token leaves the canary serving, "insufficient-evidence"', async () => {
    let floodCanary = 0;
    for (let b = 0; b < 60; b++) {
      const rows = Array.from({ length: 64 }, (_, j) => data[(b * 64 + j) % data.length] as { instance: Record<string, string> });
      const p = await predict(flooder, rows);
      if (p.stage === 'canary') floodCanary++;
      // Wrong on the canary, "right" (its own prediction) on production: the widest gap one token can fake.
      await feedback(flooder, p.predictionIds.map((id, j) => ({ predictionId: id, label: p.stage === 'canary' ? 1 - (p.classes[j] ?? 0) : (p.classes[j] ?? 0) })));
    }
    expect(floodCanary).toBeGreaterThanOrEqual(15);
    for (let round = 0; round < 3; round++) for (const [k, who] of honest.entries()) await honestTraffic(who, 1000 * k + 25 * round, 25);

    expect(getDeploymentState(db, 'adult').canary).toBe(canary.version);
    expect(readAuditEntries(db, { action: 'deployment.canary-rolled-back' })).toEqual([]);
    const c = MonitorReport.parse((await s.get('/v1/monitor', 'ml-lead')).json).models[0]?.canary;
    expect(c?.status).toBe('insufficient-evidence');
    expect(c?.figures).toMatchObject({ tokens: 4, canaryLabellingTokens: 4, productionLabellingTokens: 4 });
    // On the capped sample the flood still breaks both limits; neither survives leaving the flooder out.
    const waiting = (c?.waitingFor ?? []).join('\n');
    expect(waiting).toMatch(/p99 latency [\d.]+ ms above 150 ms — but not without one token's evidence/);
    expect(waiting).toMatch(/online accuracy .* — but not without one token's evidence/);
    // The monitor names no token.
    expect(JSON.stringify(c)).not.toMatch(/insider-app|clinic-/);
  }, 240_000);

  it('CONTROL: when the canary is slow for everyone, the honest tokens roll it back, flood and all', async () => {
    slowForAll = true;
    for (let round = 0; round < 10 && getDeploymentState(db, 'adult').canary !== null; round++) for (const [k, who] of honest.entries()) await honestTraffic(who, 1000 * k + 100 + 10 * round, 10);
    expect(getDeploymentState(db, 'adult')).toMatchObject({ production: production.version, canary: null });
    const [entry, ...more] = readAuditEntries(db, { action: 'deployment.canary-rolled-back' });
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ actor: CANARY_CRITERIA_ACTOR, details: { from: canary.version, automatic: true, figures: { tokens: 4 } } });
    expect(String((entry?.details as { reason?: unknown } | undefined)?.reason)).toMatch(/p99 latency [\d.]+ ms above 150 ms/);
  }, 240_000);
});
