/**
 * Human review over real HTTP on loopback (issue 20 §5): a deployed Heart model, a deployment policy with a
 * confidence threshold and a group; the predict response marks exactly the instances the policy selects as
 * pending; the reviewer's queue holds each with its instance, output and an exact explanation; an override is
 * returned to the polling caller (and only to it), is final (a second decision is 409), is written as
 * feedback in the same transaction, and is audited with ids and classes only — and `audit verify` passes.
 * Explanations on request (`explain`) match the hand computation from the registered weights.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAuditEntries } from '../governance/audit/log.ts';
import { loadModelArtifact } from '../governance/registry/artifacts.ts';
import { verifyAuditLog } from '../governance/audit/verify.ts';
import { STATE_POLICY_FILE } from '../governance/deploy/policy.ts';
import { createOperatorToken } from '../governance/identity/operator-tokens.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import type { ReviewFeedback } from '../coordinator/serving/review/feedback-sink.ts';
import { reviewRoutes } from '../coordinator/serving/review/routes.ts';
import { servingRoutes } from '../coordinator/serving/routes.ts';
import { PredictResponse } from '../protocol/serving.ts';
import { ReviewItem, ReviewOutcome, ReviewQueue } from '../protocol/review.ts';
import { apiTestApp, type ApiTestApp } from './support/api-app.ts';
import { deployHeartModel } from './support/deployed-model.ts';
import { tempStateDir } from './governance-fixtures.ts';

const THRESHOLD = 0.75;
const GROUP_FEATURE = 1;
const GROUP_VALUE = 0.25;
let state: { dir: string; cleanup: () => void };
let db: Db;
let app: FastifyInstance;
let api: ApiTestApp;
let url = '';
const feedback: ReviewFeedback[] = [];
let otherApp = '';
// 24 instances spread over the input space, one of them in the configured group.
const instances = Array.from({ length: 24 }, (_, i) => Array.from({ length: 13 }, (_, j) => (j === GROUP_FEATURE ? (i === 5 ? GROUP_VALUE : 0.5) : Math.sin(i * 7.3 + j * 1.7) * 1.5)));

beforeAll(async () => {
  state = tempStateDir();
  db = openDatabase(state.dir);
  await deployHeartModel(db, state.dir);
  writeFileSync(join(state.dir, STATE_POLICY_FILE), JSON.stringify({ review: { confidenceBelow: THRESHOLD, groups: [{ name: 'flagged', feature: GROUP_FEATURE, values: [GROUP_VALUE] }] } }));
  api = await apiTestApp(state.dir);
  app = api.app;
  await app.register(servingRoutes, { stateDir: state.dir, db, predictPerMinute: 100_000 });
  await app.register(reviewRoutes, { db, feedback: { record: (_db, f) => feedback.push(f) } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  otherApp = `Bearer ${createOperatorToken(state.dir, { name: 'another-app', role: 'predict' }).token}`;
}, 60_000);

afterAll(async () => {
  await app.close();
  db.close();
  state.cleanup();
});

async function http(method: string, path: string, authorization: string, body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${url}${path}`, { method, headers: { authorization, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, json: await res.json() };
}

describe('human review over HTTP', () => {
  let predicted: PredictResponse;

  it('holds exactly the low-confidence and grouped instances, and marks them pending in the response', async () => {
    const r = await http('POST', '/v1/models/heart/predict', api.auth('predict').authorization, { instances });
    expect(r.status).toBe(200);
    predicted = PredictResponse.parse(r.json);
    const expected = predicted.predictions.flatMap((p, i) => (Math.max(...p) < THRESHOLD || i === 5 ? [i] : []));
    expect(expected.length).toBeGreaterThan(1);
    expect(expected.length).toBeLessThan(instances.length);
    expect((predicted.review ?? []).map((h) => h.index)).toEqual(expected);
    expect(predicted.review?.find((h) => h.index === 5)?.reasons).toContain('group:flagged');
  });

  it('queues each held instance with its input, output and a complete exact explanation', async () => {
    const r = await http('GET', '/v1/review/queue?model=heart', api.auth('reviewer').authorization);
    expect(r.status).toBe(200);
    const queue = ReviewQueue.parse(r.json);
    expect(queue.pending).toBe(predicted.review?.length);
    for (const item of queue.items) {
      const held = predicted.review?.find((h) => h.predictionId === item.predictionId);
      expect(held).toBeDefined();
      expect(item.instance).toEqual(instances[held?.index ?? -1]);
      expect(item.probabilities).toEqual(predicted.predictions[held?.index ?? -1]);
      expect(item.explanation?.method).toBe('exact-linear');
      expect(item.explanation?.complete).toBe(true);
      const e = item.explanation;
      if (e) expect(e.attributions.reduce((a, b) => a + b, 0)).toBeCloseTo(e.output - e.baselineOutput, 4);
    }
  });

  it('returns a reviewer override to the polling caller only, finally, audited and as feedback', async () => {
    const held = predicted.review?.[0];
    if (!held) throw new Error('nothing held');
    const poll = (auth: string): Promise<{ status: number; json: unknown }> => http('GET', `/v1/predictions/${held.predictionId}/review`, auth);
    expect(ReviewOutcome.parse((await poll(api.auth('predict').authorization)).json).status).toBe('pending');
    const modelClass = predicted.classes[held.index] ?? 0;
    const decided = await http('POST', `/v1/review/${held.predictionId}/decision`, api.auth('reviewer').authorization, { decision: 'override', class: 1 - modelClass, note: 'chart review' });
    expect(decided.status).toBe(200);
    expect(ReviewItem.parse(decided.json).status).toBe('overridden');

    const outcome = ReviewOutcome.parse((await poll(api.auth('predict').authorization)).json);
    expect(outcome).toMatchObject({ status: 'overridden', modelClass, finalClass: 1 - modelClass });
    // Another application's predict token cannot learn the outcome of this caller's prediction.
    expect((await poll(otherApp)).status).toBe(404);
    // Final: a second decision is refused and changes nothing.
    const again = await http('POST', `/v1/review/${held.predictionId}/decision`, api.auth('reviewer').authorization, { decision: 'confirm' });
    expect(again.status).toBe(409);
    expect((again.json as { error: { code: string } }).error.code).toBe('TESSERA_ERR_REVIEW_DECIDED');
    expect(ReviewOutcome.parse((await poll(api.auth('predict').authorization)).json).finalClass).toBe(1 - modelClass);

    expect(feedback).toEqual([expect.objectContaining({ predictionId: held.predictionId, label: 1 - modelClass, decision: 'override', model: 'heart' })]);
    const audited = readAuditEntries(db, { action: 'review.decided' });
    expect(audited).toHaveLength(1);
    expect(audited[0]?.details).toMatchObject({ predictionId: held.predictionId, decision: 'override', modelClass, finalClass: 1 - modelClass });
    // Ids and classes only: no instance, probabilities, explanation or note in the audit log.
    expect(Object.keys(audited[0]?.details as object).sort()).toEqual(['decision', 'finalClass', 'modelClass', 'predictionId', 'reasons', 'reviewerName', 'stage']);
    expect(verifyAuditLog(db).ok).toBe(true);
  });

  it('explains predictions on request: logistic attributions w_ic·(x_i − b_i) from the registered weights, against a given baseline', async () => {
    const { weights } = loadModelArtifact(state.dir, predicted.version);
    const baseline = Array.from({ length: 13 }, (_, i) => i / 26);
    const r = await http('POST', '/v1/models/heart/predict', api.auth('predict').authorization, { instances: instances.slice(0, 3), explain: { baseline } });
    expect(r.status).toBe(200);
    const body = PredictResponse.parse(r.json);
    expect(body.explanations).toHaveLength(3);
    body.explanations?.forEach((e, k) => {
      const x = instances[k] ?? [];
      expect(e.target).toBe(body.classes[k]);
      // Kernel [13, 2] row-major first in the flat vector: W_ic at i·2 + c.
      e.attributions.forEach((a, i) => expect(a).toBeCloseTo((weights[i * 2 + e.target] ?? NaN) * ((x[i] ?? 0) - (baseline[i] ?? 0)), 5));
    });
    const tooMany = await http('POST', '/v1/models/heart/predict', api.auth('predict').authorization, { instances: Array.from({ length: 65 }, () => instances[0]), explain: {} });
    expect(tooMany.status).toBe(400);
    const wrongBaseline = await http('POST', '/v1/models/heart/predict', api.auth('predict').authorization, { instances: instances.slice(0, 1), explain: { baseline: [0, 1] } });
    expect(wrongBaseline.status).toBe(400);
  });

  it('refuses an override to the model’s own class or to a class the model does not have', async () => {
    const held = predicted.review?.[1];
    if (!held) throw new Error('a second held instance is needed');
    const modelClass = predicted.classes[held.index] ?? 0;
    for (const cls of [modelClass, 2]) {
      const r = await http('POST', `/v1/review/${held.predictionId}/decision`, api.auth('reviewer').authorization, { decision: 'override', class: cls });
      expect(r.status).toBe(400);
    }
    const bad = await http('POST', `/v1/review/${held.predictionId}/decision`, api.auth('reviewer').authorization, { decision: 'confirm', class: modelClass });
    expect(bad.status).toBe(400);
    const ok = await http('POST', `/v1/review/${held.predictionId}/decision`, api.auth('reviewer').authorization, { decision: 'confirm' });
    expect(ReviewItem.parse(ok.json)).toMatchObject({ status: 'confirmed', finalClass: modelClass });
  });
});
