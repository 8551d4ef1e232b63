/**
 * Review 3 (attack review of the merged after-deployment work), finding: a held prediction's ground truth was the
 * caller's, not the reviewer's.
 *
 * docs/after-deployment-review.md says a decision is "passed on as feedback, so a reviewer's label counts as
 * ground truth for the version's online accuracy". On the merged coordinator it did not: coordinator/server.ts
 * registers the review routes without a feedback sink, and the default was NO_FEEDBACK_SINK, so overrides never
 * reached the feedback store. Meanwhile the application that made a held prediction could label it itself through
 * POST /v1/models/:name/feedback — any class, before or after the reviewer — and that label was the one online
 * accuracy, calibration and the canary criteria counted: the caller whose prediction a human is reviewing decided
 * its ground truth.
 *
 * The attack (real HTTP on 127.0.0.1, a real state directory, the review routes registered as server.ts does,
 * without a sink): the predict token labels its own held prediction with the model's class (pre-empting the
 * reviewer), then a reviewer overrides. It now fails because (1) the feedback route refuses a predict token's label
 * for a held prediction (409 TESSERA_ERR_FEEDBACK_HELD, nothing recorded), and (2) the review routes' default sink
 * writes the reviewer's label into the feedback store in the decision's transaction, so the monitor counts the
 * override. Controls: the caller still labels predictions that were not held; a decision on a held prediction an
 * ML lead labelled first still stands (the first label stays).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reviewRoutes } from '../coordinator/serving/review/routes.ts';
import { servingRoutes } from '../coordinator/serving/routes.ts';
import { STATE_POLICY_FILE } from '../governance/deploy/policy.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { PredictResponse } from '../protocol/serving.ts';
import { MonitorReport } from '../protocol/serving-monitor.ts';
import { apiTestApp, type ApiTestApp } from './support/api-app.ts';
import { deployHeartModel } from './support/deployed-model.ts';
import { tempStateDir } from './governance-fixtures.ts';

let state: { dir: string; cleanup: () => void };
let db: Db;
let api: ApiTestApp;
let url = '';
const instances = Array.from({ length: 24 }, (_, i) => Array.from({ length: 13 }, (_, j) => Math.sin(i * 7.3 + j * 1.7) * 1.5));

beforeAll(async () => {
  state = tempStateDir('tessera-review3-feedback-');
  db = openDatabase(state.dir);
  await deployHeartModel(db, state.dir);
  writeFileSync(join(state.dir, STATE_POLICY_FILE), JSON.stringify({ review: { confidenceBelow: 0.75 } }));
  api = await apiTestApp(state.dir);
  await api.app.register(servingRoutes, { stateDir: state.dir, db, predictPerMinute: 100_000 });
  // As coordinator/server.ts registers them when no sink is configured.
  await api.app.register(reviewRoutes, { db });
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await api.app.close();
  db.close();
  state.cleanup();
});

async function http(method: string, path: string, role: Parameters<ApiTestApp['auth']>[0], body?: unknown): Promise<{ status: number; json: unknown }> {
  const res = await fetch(`${url}${path}`, { method, headers: { ...api.auth(role), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, json: await res.json() };
}

const online = async (): Promise<{ labelled: number; accuracy: number | null }> => {
  const r = await http('GET', '/v1/monitor?model=heart', 'ml-lead');
  expect(r.status).toBe(200);
  const v = MonitorReport.parse(r.json).models[0]?.versions[0];
  return { labelled: v?.online.labelled ?? -1, accuracy: v?.online.accuracy ?? null };
};
const labelOf = (id: string): number | null => (db.prepare('SELECT label FROM serving_predictions WHERE id = ?').pluck().get(id) as number | null);

describe('review3: a held prediction takes its ground truth from the reviewer, not the caller', () => {
  it('refuses the caller’s label for its held prediction and records the reviewer’s override as feedback', async () => {
    const r = await http('POST', '/v1/models/heart/predict', 'predict', { instances });
    expect(r.status).toBe(200);
    const predicted = PredictResponse.parse(r.json);
    const held = predicted.review ?? [];
    expect(held.length).toBeGreaterThanOrEqual(2);
    const [first, second] = held;
    if (first === undefined || second === undefined) throw new Error('two held predictions are needed');
    const modelClass = predicted.classes[first.index] ?? 0;

    // The attack: the caller labels its own held prediction with the model's class, pre-empting the reviewer.
    const forged = await http('POST', '/v1/models/heart/feedback', 'predict', { feedback: [{ predictionId: first.predictionId, label: modelClass }] });
    expect([forged.status, (forged.json as { error?: { code: string } }).error?.code]).toEqual([409, 'TESSERA_ERR_FEEDBACK_HELD']);
    expect(labelOf(first.predictionId)).toBeNull();

    // The reviewer overrides: the override is the label online accuracy counts.
    const decided = await http('POST', `/v1/review/${first.predictionId}/decision`, 'reviewer', { decision: 'override', class: 1 - modelClass });
    expect(decided.status).toBe(200);
    expect(labelOf(first.predictionId)).toBe(1 - modelClass);
    expect(await online()).toEqual({ labelled: 1, accuracy: 0 });
    // After the decision the caller still cannot relabel it.
    const after = await http('POST', '/v1/models/heart/feedback', 'predict', { feedback: [{ predictionId: first.predictionId, label: modelClass }] });
    expect(after.status).toBe(409);

    // Control: a prediction that was not held is the caller's to label.
    const notHeldIndex = predicted.predictionIds.findIndex((_, i) => !held.some((h) => h.index === i));
    const notHeld = predicted.predictionIds[notHeldIndex] ?? '';
    const own = await http('POST', '/v1/models/heart/feedback', 'predict', { feedback: [{ predictionId: notHeld, label: predicted.classes[notHeldIndex] ?? 0 }] });
    expect(own.status).toBe(200);
    expect(await online()).toEqual({ labelled: 2, accuracy: 0.5 });

    // Control: an ML lead labelled the second held prediction first; the reviewer's decision still stands.
    const lead = await http('POST', '/v1/models/heart/feedback', 'ml-lead', { feedback: [{ predictionId: second.predictionId, label: predicted.classes[second.index] ?? 0 }] });
    expect(lead.status).toBe(200);
    const confirm = await http('POST', `/v1/review/${second.predictionId}/decision`, 'reviewer', { decision: 'confirm' });
    expect(confirm.status).toBe(200);
    expect((await online()).labelled).toBe(3);
  });
});
