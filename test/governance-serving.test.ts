/**
 * The prediction API against a real state directory: the served model is the deployed one (its predictions
 * equal the registered weights'), the canary gets a random share, sticky per caller, shadow scoring counts agreement without
 * changing answers, and a rollback made through another database connection (as `tessera rollback` in
 * another process would) takes effect on the next request.
 */
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { registerModel, type RegisteredModel } from '../governance/registry/registry.ts';
import { keyPairFromSeed } from '../governance/identity/ed25519.ts';
import { createApproval } from '../governance/approvals/record.ts';
import { recordApproval } from '../governance/approvals/store.ts';
import { deployModel, rollbackModel } from '../governance/deploy/deployments.ts';
import { ModelCache, argmax, predictProbabilities } from '../coordinator/serving/model-cache.ts';
import { servingRoutes } from '../coordinator/serving/routes.ts';
import { canaryQuota } from '../coordinator/serving/canary-split.ts';
import { createOperatorToken } from '../governance/identity/operator-tokens.ts';
import { apiTestApp, type ApiTestApp } from './support/api-app.ts';
import { PredictResponse, ServingStatus } from '../protocol/serving.ts';
import { HEART_LOGISTIC, fixtureLineage, fixtureWeights, tempStateDir, initTestRegistry } from './governance-fixtures.ts';

let state: { dir: string; cleanup: () => void };
let db: Db;
let ops: Db;
let app: FastifyInstance;
let api: ApiTestApp;
const models: RegisteredModel[] = [];
const instances = Array.from({ length: 8 }, (_, i) => Array.from({ length: 13 }, (_, j) => Math.sin(i * 13 + j)));

beforeAll(async () => {
  state = tempStateDir();
  db = openDatabase(state.dir);
  // A second connection stands for the CLI process that deploys and rolls back.
  ops = openDatabase(state.dir);
  const officer = keyPairFromSeed(new Uint8Array(32).fill(31));
  const owner = keyPairFromSeed(new Uint8Array(32).fill(32));
  initTestRegistry(ops, [
    { name: 'Officer', key: officer, roles: ['privacy-officer'] },
    { name: 'Owner', key: owner, roles: ['model-owner'] },
  ]);
  for (const seed of ['s1', 's2', 's3']) {
    const m = await registerModel(ops, state.dir, { modelSpec: HEART_LOGISTIC, weights: fixtureWeights(28, seed), lineage: fixtureLineage(), name: 'heart' });
    for (const [key, role] of [[officer, 'privacy-officer'], [owner, 'model-owner']] as const) recordApproval(ops, createApproval({ model: m, role, decision: 'approve', key, validForMs: 86_400_000 }));
    models.push(m);
  }
  api = await apiTestApp(state.dir);
  app = api.app;
  await app.register(servingRoutes, { stateDir: state.dir, db, predictPerMinute: 100_000 });
  await app.ready();
});

afterAll(async () => {
  await app.close();
  db.close();
  ops.close();
  state.cleanup();
});

async function predict(body: unknown = { instances }): Promise<{ status: number; json: unknown }> {
  const res = await app.inject({ method: 'POST', url: '/v1/models/heart/predict', headers: api.auth('predict'), payload: body as object });
  return { status: res.statusCode, json: res.json() };
}

async function status(): Promise<ServingStatus> {
  return ServingStatus.parse((await app.inject({ method: 'GET', url: '/v1/models/heart/status', headers: api.auth('ml-lead') })).json());
}

/** What a version predicts, computed directly from its registered artifacts. */
function expected(m: RegisteredModel): number[][] {
  const cache = new ModelCache(state.dir);
  try {
    return predictProbabilities(cache.get(m.version), instances);
  } finally {
    cache.dispose();
  }
}

describe('serving', () => {
  it('answers 404 before any deployment and 400 for malformed requests', async () => {
    expect((await predict()).status).toBe(404);
    deployModel(ops, state.dir, { version: models[0]!.version, stage: 'production', actor: 'ops' });
    expect((await predict({ instances: [[1, 2]] })).json).toMatchObject({ error: { code: 'TESSERA_ERR_MESSAGE_INVALID', message: expect.stringMatching(/13/) } });
    expect((await predict({ instances: [] })).status).toBe(400);
    expect((await predict({ rows: instances })).status).toBe(400);
  });

  it('serves the production version with its registered weights', async () => {
    const r = await predict();
    expect(r.status).toBe(200);
    const body = PredictResponse.parse(r.json);
    expect(body).toMatchObject({ model: 'heart', version: models[0]!.version, stage: 'production' });
    const want = expected(models[0]!);
    body.predictions.forEach((row, i) => row.forEach((p, j) => expect(p).toBeCloseTo(want[i]![j]!, 6)));
    expect(body.classes).toEqual(want.map(argmax));
  });

  it('sends a random 10 % share to the canary, sticky for a caller that names itself', async () => {
    expect(deployModel(ops, state.dir, { version: models[1]!.version, stage: 'canary', percent: 10, actor: 'ops' }).ok).toBe(true);
    const counts = new Map<string, number>();
    const n = 400;
    for (let i = 0; i < n; i++) {
      const body = PredictResponse.parse((await predict({ instances: instances.slice(0, 1) })).json);
      expect(body.stage).toBe(body.version === models[1]!.version ? 'canary' : 'production');
      counts.set(body.version, (counts.get(body.version) ?? 0) + 1);
    }
    // Binomial(400, 0.1): mean 40, sd 6; ± 5 sd (the split itself is tested at scale in canary-split.test.ts).
    const canary = counts.get(models[1]!.version) ?? 0;
    expect(canary).toBeGreaterThan(10);
    expect(canary).toBeLessThan(70);
    expect(await status()).toMatchObject({ production: { version: models[0]!.version, requests: n - canary }, canary: { version: models[1]!.version, percent: 10, requests: canary } });
    // A caller that names itself is sticky within its token's share quota (coordinator/serving/canary-split.ts):
    // a caller drawn onto production is always answered by production; one drawn onto the canary is answered by
    // the canary exactly when the token's canary count stays within canaryQuota(n) — else by production, which
    // is the documented price of the quota. A fresh token, so its counts are the ones this test sees.
    const app2 = { authorization: `Bearer ${createOperatorToken(state.dir, { name: 'sticky-app', role: 'predict' }).token}` };
    const answers: Array<{ caller: string; canary: boolean }> = [];
    const ask = async (caller: string): Promise<boolean> => {
      const res = await app.inject({ method: 'POST', url: '/v1/models/heart/predict', headers: { ...app2, 'x-tessera-caller': caller }, payload: { instances: instances.slice(0, 1) } });
      const canary = PredictResponse.parse(res.json()).version === models[1]!.version;
      answers.push({ caller, canary });
      return canary;
    };
    // First pass: new callers until two of them (and at least 20 callers) have been answered by the canary.
    const callers: string[] = [];
    let firstCanary = 0;
    while ((firstCanary < 2 || callers.length < 20) && callers.length < 400) {
      const caller = `clinic-${callers.length}`;
      callers.push(caller);
      if (await ask(caller)) firstCanary++;
    }
    for (let pass = 1; pass < 4; pass++) for (const caller of callers) await ask(caller);
    const onCanary = new Set(answers.filter((a) => a.canary).map((a) => a.caller));
    expect(onCanary.size).toBeGreaterThanOrEqual(2);
    let canaryCount = 0;
    answers.forEach((a, i) => {
      // A caller ever answered by the canary must be answered by it on every request within the quota, and by
      // production beyond it; every other caller only ever by production.
      const want = onCanary.has(a.caller) && canaryCount + 1 <= canaryQuota(i + 1, 0.1);
      expect(a.canary, `request ${i + 1} (${a.caller})`).toBe(want);
      if (a.canary) canaryCount++;
    });
  });

  it('scores with the shadow version without returning its answers, counting agreement', async () => {
    deployModel(ops, state.dir, { version: models[1]!.version, stage: 'production', actor: 'ops' });
    deployModel(ops, state.dir, { version: models[2]!.version, stage: 'shadow', actor: 'ops' });
    const body = PredictResponse.parse((await predict()).json);
    expect(body.version).toBe(models[1]!.version);
    const served = expected(models[1]!).map(argmax);
    const shadow = expected(models[2]!).map(argmax);
    expect(body.classes).toEqual(served);
    const agreed = served.filter((c, i) => c === shadow[i]).length;
    expect(await status()).toMatchObject({ shadow: { version: models[2]!.version, requests: 1, instances: 8, agreed, agreement: agreed / 8 } });
  });

  it('follows a rollback made by another process on the very next request', async () => {
    expect(PredictResponse.parse((await predict()).json).version).toBe(models[1]!.version);
    rollbackModel(ops, state.dir, { name: 'heart', actor: 'ops' });
    const body = PredictResponse.parse((await predict()).json);
    expect(body.version).toBe(models[0]!.version);
    expect(body.classes).toEqual(expected(models[0]!).map(argmax));
    expect((await status()).shadow).toBeNull();
  });
});
