/**
 * Rollback criteria in the deployment policy (issue 20 §4), over real HTTP on 127.0.0.1 with Adult models. The
 * canary's job spec states `canaryCriteria` with minRequests 10, which the policy floor raises to 30. Traffic comes
 * from three predict tokens in turn (a verdict needs at least three, canary-evidence.ts), and a verdict must hold
 * with any one token's evidence left out — each such sample with its own 30 requests — so with three tokens
 * sharing the canary the verdict comes after 30 + (the largest token's share) requests, about 45. Then
 * - a canary whose artifact was corrupted on disk fails every request it gets: it is rolled back
 *   automatically, production answers everything after, and the audit log holds the rollback with the figures
 *   (the chain still verifies);
 * - a canary answering 200 ms late (the serving options' test latency hook, no mock of the model) breaks a p99 limit
 *   of 150 ms and is rolled back the same way;
 * - the same version canaried again without the delay, after a restart, starts from fresh counters and is reported
 *   ready for promotion once it has met the criteria over its window.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Metrics } from '../coordinator/metrics.ts';
import { CANARY_CRITERIA_ACTOR } from '../coordinator/serving/record.ts';
import { readAuditEntries } from '../governance/audit/log.ts';
import { verifyAuditLog } from '../governance/audit/verify.ts';
import { deployModel, deploymentHistory, getDeploymentState } from '../governance/deploy/deployments.ts';
import { modelDir, WEIGHTS_BIN } from '../governance/registry/artifacts.ts';
import type { RegisteredModel } from '../governance/registry/registry.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { createOperatorToken } from '../governance/identity/operator-tokens.ts';
import { MonitorReport } from '../protocol/serving-monitor.ts';
import type { ScoringHooks } from '../coordinator/serving/score.ts';
import { adultTestInstances, initAdultApprovers, registerAdult, startServing, trainAdult, type ServingApp } from './support/adult-serving.ts';
import { tempStateDir } from './governance-fixtures.ts';

const rows = adultTestInstances(50).map((r) => r.instance);
const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** A state with production v1 and a canary (at 50 %) whose job spec states `criteria`. */
async function canaryState(canarySeed: number, criteria: Record<string, unknown>): Promise<{ dir: string; db: Db; production: RegisteredModel; canary: RegisteredModel }> {
  const state = tempStateDir('tessera-canary-criteria-');
  const db = openDatabase(state.dir);
  cleanups.push(() => {
    db.close();
    state.cleanup();
  });
  initAdultApprovers(db);
  const production = await registerAdult(db, state.dir, await trainAdult(1));
  const canary = await registerAdult(db, state.dir, await trainAdult(canarySeed), { deployment: { canaryCriteria: criteria } });
  expect(deployModel(db, state.dir, { version: production.version, stage: 'production', actor: 'test' }).ok).toBe(true);
  expect(deployModel(db, state.dir, { version: canary.version, stage: 'canary', percent: 50, actor: 'test' }).ok).toBe(true);
  return { dir: state.dir, db, production, canary };
}

async function serve(dir: string, db: Db, metrics: Metrics, hooks?: ScoringHooks): Promise<ServingApp> {
  const s = await startServing(dir, db, { metrics, ...(hooks ? { hooks } : {}) });
  cleanups.push(() => s.app.close());
  return s;
}

/** Three predict tokens of one state (three applications), used in turn. */
const appTokens = new Map<string, Array<{ authorization: string }>>();
function app(dir: string, i: number): { authorization: string } {
  let tokens = appTokens.get(dir);
  if (tokens === undefined) {
    tokens = [1, 2, 3].map((k) => ({ authorization: `Bearer ${createOperatorToken(dir, { name: `app-${k}`, role: 'predict' }).token}` }));
    appTokens.set(dir, tokens);
  }
  return tokens[i % 3] as { authorization: string };
}

/** Counted requests at which a verdict on evenly shared evidence can come: 30 plus the largest token's share. */
const FIRST_VERDICT = { min: 45, max: 70 };

/** Sends single-row requests until the canary is gone (or `max` requests); returns what each request got. */
async function traffic(s: ServingApp, dir: string, db: Db, max: number): Promise<Array<{ status: number; version?: string; code?: string }>> {
  const out: Array<{ status: number; version?: string; code?: string }> = [];
  for (let i = 0; i < max && getDeploymentState(db, 'adult').canary !== null; i++) {
    const r = await s.post('/v1/models/adult/predict', app(dir, i), { instances: [rows[i % rows.length]] });
    const j = r.json as { version?: string; error?: { code?: string } };
    out.push({ status: r.status, ...(j.version ? { version: j.version } : {}), ...(j.error?.code ? { code: j.error.code } : {}) });
  }
  return out;
}

describe('canary criteria', () => {
  it('rolls back a failing canary once 30 requests (the floor over the policy’s 10) show it without any one token, audited with the figures', async () => {
    const { dir, db, production, canary } = await canaryState(2, { minRequests: 10, windowMinutes: 0, maxErrorRate: 0.1 });
    // The canary's weights are damaged on disk after its deployment: its artifact no longer hashes to its version.
    const weights = join(modelDir(dir, canary.version), WEIGHTS_BIN);
    const bytes = readFileSync(weights);
    bytes[0] = (bytes[0] ?? 0) ^ 0xff;
    writeFileSync(weights, bytes);
    const metrics = new Metrics();
    const s = await serve(dir, db, metrics);
    const got = await traffic(s, dir, db, 400);
    const failed = got.filter((g) => g.status === 500);
    expect(failed.every((g) => g.code === 'TESSERA_ERR_SCORING_FAILED')).toBe(true);
    expect(failed.length).toBeGreaterThanOrEqual(FIRST_VERDICT.min);
    expect(failed.length).toBeLessThanOrEqual(FIRST_VERDICT.max);
    const n = failed.length;
    expect(got.filter((g) => g.status === 200).every((g) => g.version === production.version)).toBe(true);
    expect(getDeploymentState(db, 'adult')).toMatchObject({ production: production.version, canary: null });
    // Every request after the rollback is production's.
    const after = await s.post('/v1/models/adult/predict', app(dir, 0), { instances: rows.slice(0, 3) });
    expect(after).toMatchObject({ status: 200, json: { version: production.version, stage: 'production' } });

    const [entry, ...more] = readAuditEntries(db, { action: 'deployment.canary-rolled-back' });
    expect(more).toEqual([]);
    expect(entry).toMatchObject({ actor: CANARY_CRITERIA_ACTOR, subject: 'adult', details: { from: canary.version, to: production.version, automatic: true, criteria: { minRequests: 30, minTokens: 3, maxTokenShare: 0.5, maxErrorRate: 0.1 }, figures: { requests: n, errors: n, errorRate: 1, tokens: 3 } } });
    expect(String((entry?.details as { reason?: unknown } | undefined)?.reason)).toMatch(new RegExp(`error rate 1 \\(${n} of ${n}\\) above 0\\.1`));
    expect(verifyAuditLog(db).ok).toBe(true);
    expect(deploymentHistory(db, { name: 'adult' }).at(-1)).toMatchObject({ action: 'rollback', stage: 'canary', version: canary.version, actor: CANARY_CRITERIA_ACTOR });
    expect(await metrics.render()).toMatch(/tessera_canary_rollbacks_total\{model="adult"\} 1/);
    const monitor = MonitorReport.parse((await s.get('/v1/monitor', 'ml-lead')).json);
    expect(monitor.models[0]?.canary).toBeNull();
    expect(monitor.models[0]?.canaryRollbacks).toMatchObject([{ version: canary.version, actor: CANARY_CRITERIA_ACTOR }]);
  }, 90_000);

  it('rolls back a slow canary on p99 latency, and reports the same version ready after a restart without the delay', async () => {
    const { dir, db, production, canary } = await canaryState(3, { minRequests: 30, windowMinutes: 0, maxP99LatencyMs: 150, maxErrorRate: 0.1 });
    const metrics = new Metrics();
    const slow = await serve(dir, db, metrics, { testExtraLatencyMs: (v) => (v === canary.version ? 200 : 0) });
    // Before 30 canary requests: still collecting evidence.
    const early = await traffic(slow, dir, db, 20);
    expect(early.filter((g) => g.version === canary.version).length).toBeLessThan(30);
    expect(MonitorReport.parse((await slow.get('/v1/monitor', 'ml-lead')).json).models[0]?.canary?.status).toBe('collecting');
    const got = [...early, ...(await traffic(slow, dir, db, 400))];
    const n = got.filter((g) => g.version === canary.version).length;
    expect(n).toBeGreaterThanOrEqual(FIRST_VERDICT.min);
    expect(n).toBeLessThanOrEqual(FIRST_VERDICT.max);
    expect(getDeploymentState(db, 'adult').canary).toBeNull();
    const entry = readAuditEntries(db, { action: 'deployment.canary-rolled-back' }).at(-1);
    expect(entry?.details).toMatchObject({ from: canary.version, to: production.version, automatic: true, figures: { requests: n, errors: 0, tokens: 3 } });
    const details = entry?.details as { reason?: unknown; figures?: { p99LatencyMs?: unknown } } | undefined;
    expect(Number(details?.figures?.p99LatencyMs)).toBeGreaterThan(150);
    expect(String(details?.reason)).toMatch(/p99 latency [\d.]+ ms above 150 ms/);
    await slow.app.close();

    // Restart without the delay; canary the same version again: a new stay, fresh counters.
    expect(deployModel(db, dir, { version: canary.version, stage: 'canary', percent: 50, actor: 'test' }).ok).toBe(true);
    const fast = await serve(dir, db, new Metrics());
    let canaryAnswers = 0;
    for (let i = 0; canaryAnswers < FIRST_VERDICT.max && i < 600; i++) {
      const r = await fast.post('/v1/models/adult/predict', app(dir, i), { instances: [rows[i % rows.length]] });
      expect(r.status).toBe(200);
      if ((r.json as { version: string }).version === canary.version) canaryAnswers++;
    }
    const c = MonitorReport.parse((await fast.get('/v1/monitor', 'ml-lead')).json).models[0]?.canary;
    expect(c).toMatchObject({ version: canary.version, status: 'ready', breaches: [], figures: { requests: FIRST_VERDICT.max, errors: 0, tokens: 3 } });
    expect(Number(c?.figures.p99LatencyMs)).toBeLessThan(150);
    expect(getDeploymentState(db, 'adult').canary).toBe(canary.version);
    expect(readAuditEntries(db, { action: 'deployment.canary-rolled-back' })).toHaveLength(1);
  }, 120_000);
});
