/**
 * ATTACK tests for the feedback and monitoring routes (issue 20 §2–3), over real HTTP on 127.0.0.1. Two
 * applications hold predict tokens: A scores model `adult`, B scores model `other`. Each attack plays the insider
 * with a valid credential and tries to break one claim:
 * 1. a predict token reads no monitoring and no status (403, before any body is read): the picture is for operators;
 * 2. B cannot label A's predictions — not through `adult`'s route, not through its own model's — and A cannot
 *    label its `adult` predictions through `other`'s route: 404 PREDICTION_UNKNOWN, answered exactly as for an id
 *    never issued, so the route is no oracle for other callers' ids; nothing is recorded;
 * 3. unknown (well-formed, random) ids are refused, and a batch mixing one valid id with one unknown records
 *    nothing (all or nothing);
 * 4. replay cannot inflate online accuracy: a second label for an id is 409, the same id twice in a batch is 409,
 *    and 20 concurrent copies of one feedback record exactly one label;
 * 5. the prediction store is bounded: the oldest predictions beyond the cap are evicted and feedback for them is
 *    refused like any unknown id.
 * Controls (so the refusals are not vacuous): A labels its own predictions (200), and an ML lead may label any.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployModel } from '../governance/deploy/deployments.ts';
import { createOperatorToken } from '../governance/identity/operator-tokens.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { PredictResponse } from '../protocol/serving.ts';
import { MonitorReport } from '../protocol/serving-monitor.ts';
import { adultTestInstances, initAdultApprovers, registerAdult, startServing, trainAdult, type ServingApp } from './support/adult-serving.ts';
import { tempStateDir } from './governance-fixtures.ts';

let state: { dir: string; cleanup: () => void };
let db: Db;
let serving: ServingApp;
let appA: { authorization: string };
let appB: { authorization: string };
const rows = adultTestInstances(120);
const CAP = 100;

beforeAll(async () => {
  state = tempStateDir('tessera-feedback-attacks-');
  db = openDatabase(state.dir);
  initAdultApprovers(db);
  const adult = await registerAdult(db, state.dir, await trainAdult(1));
  const other = await registerAdult(db, state.dir, await trainAdult(2), { name: 'other' });
  for (const m of [adult, other]) expect(deployModel(db, state.dir, { version: m.version, stage: 'production', actor: 'test' }).ok).toBe(true);
  appA = { authorization: `Bearer ${createOperatorToken(state.dir, { name: 'app-a', role: 'predict' }).token}` };
  appB = { authorization: `Bearer ${createOperatorToken(state.dir, { name: 'app-b', role: 'predict' }).token}` };
  serving = await startServing(state.dir, db, { maxStoredPredictions: CAP });
}, 60_000);

afterAll(async () => {
  await serving?.app.close();
  db.close();
  state.cleanup();
});

async function predict(model: string, who: { authorization: string }, n: number, from = 0): Promise<string[]> {
  const r = await serving.post(`/v1/models/${model}/predict`, who, { instances: rows.slice(from, from + n).map((x) => x.instance) });
  expect(r.status).toBe(200);
  return PredictResponse.parse(r.json).predictionIds;
}

const feedback = (model: string, who: { authorization: string } | 'ml-lead', items: Array<{ predictionId: string; label: string | number }>) => serving.post(`/v1/models/${model}/feedback`, who, { feedback: items });
const randomId = (): string => `p_${randomBytes(16).toString('base64url')}`;
const labelled = async (model: string): Promise<number> => MonitorReport.parse((await serving.get(`/v1/monitor?model=${model}`, 'ml-lead')).json).models[0]?.versions[0]?.online.labelled ?? -1;
/** The refusal with the id masked: what a caller can tell apart. */
const shape = (json: unknown): string => JSON.stringify(json).replace(/p_[A-Za-z0-9_-]{22}/g, 'ID');

describe('feedback and monitoring against insiders with a valid credential', () => {
  it('1. a predict token reads no monitoring and no status', async () => {
    for (const path of ['/v1/monitor', '/v1/monitor?model=adult', '/v1/monitor?model=other', '/v1/models/adult/status']) {
      const r = await serving.get(path, appA);
      expect([path, r.status, (r.json as { error: { code: string } }).error.code]).toEqual([path, 403, 'TESSERA_ERR_FORBIDDEN']);
    }
    // Control: an operator role reads it.
    expect((await serving.get('/v1/monitor', 'viewer')).status).toBe(200);
  });

  it('2. another token’s or another model’s prediction ids answer exactly like ids never issued; nothing is recorded', async () => {
    const ids = await predict('adult', appA, 5);
    const never = randomId();
    const viaAdult = await feedback('adult', appB, [{ predictionId: ids[0] ?? '', label: '>50K' }]);
    const viaOther = await feedback('other', appB, [{ predictionId: ids[0] ?? '', label: '>50K' }]);
    const ownViaOther = await feedback('other', appA, [{ predictionId: ids[0] ?? '', label: '>50K' }]);
    const unknown = await feedback('adult', appB, [{ predictionId: never, label: '>50K' }]);
    for (const r of [viaAdult, viaOther, ownViaOther, unknown]) expect(r).toMatchObject({ status: 404, json: { error: { code: 'TESSERA_ERR_PREDICTION_UNKNOWN' } } });
    expect(shape(viaAdult.json)).toBe(shape(unknown.json));
    expect(await labelled('adult')).toBe(0);
    expect(await labelled('other')).toBe(0);
    // Controls: the token that got the answers may label them, and so may an ML lead.
    expect((await feedback('adult', appA, [{ predictionId: ids[0] ?? '', label: '>50K' }])).status).toBe(200);
    expect((await feedback('adult', 'ml-lead', [{ predictionId: ids[1] ?? '', label: '<=50K' }])).status).toBe(200);
    expect(await labelled('adult')).toBe(2);
  });

  it('3. unknown ids are refused, and a batch with one of them records nothing', async () => {
    const [valid] = await predict('adult', appA, 1, 10);
    const before = await labelled('adult');
    const r = await feedback('adult', appA, [{ predictionId: valid ?? '', label: '>50K' }, { predictionId: randomId(), label: '>50K' }]);
    expect(r).toMatchObject({ status: 404, json: { error: { code: 'TESSERA_ERR_PREDICTION_UNKNOWN', message: expect.stringMatching(/feedback\[1\]/) } } });
    expect(await labelled('adult')).toBe(before);
    expect((await feedback('adult', appA, [{ predictionId: valid ?? '', label: '>50K' }])).status).toBe(200);
    expect(await labelled('adult')).toBe(before + 1);
    // A label that is no class of the model is refused too.
    const [another] = await predict('adult', appA, 1, 11);
    expect((await feedback('adult', appA, [{ predictionId: another ?? '', label: 'rich' }])).status).toBe(422);
    expect((await feedback('adult', appA, [{ predictionId: another ?? '', label: 2 }])).status).toBe(422);
  });

  it('4. replay cannot inflate online accuracy: one label per prediction id, even under concurrency', async () => {
    const ids = await predict('adult', appA, 2, 20);
    const first = ids[0] ?? '';
    expect((await feedback('adult', appA, [{ predictionId: first, label: '>50K' }])).status).toBe(200);
    const before = await labelled('adult');
    const again = await feedback('adult', appA, [{ predictionId: first, label: '>50K' }]);
    expect(again).toMatchObject({ status: 409, json: { error: { code: 'TESSERA_ERR_FEEDBACK_DUPLICATE' } } });
    const twice = await feedback('adult', appA, [{ predictionId: ids[1] ?? '', label: '>50K' }, { predictionId: ids[1] ?? '', label: '>50K' }]);
    expect(twice).toMatchObject({ status: 409, json: { error: { code: 'TESSERA_ERR_FEEDBACK_DUPLICATE' } } });
    expect(await labelled('adult')).toBe(before);
    const fresh = (await predict('adult', appA, 1, 30))[0] ?? '';
    const storm = await Promise.all(Array.from({ length: 20 }, () => feedback('adult', appA, [{ predictionId: fresh, label: '<=50K' }])));
    expect(storm.filter((r) => r.status === 200)).toHaveLength(1);
    expect(storm.filter((r) => r.status === 409)).toHaveLength(19);
    expect(await labelled('adult')).toBe(before + 1);
  });

  it('5. the prediction store is bounded: evicted predictions take no feedback', async () => {
    const oldest = (await predict('adult', appA, 1, 40))[0] ?? '';
    await predict('adult', appA, CAP, 0);
    expect(db.prepare('SELECT COUNT(*) FROM serving_predictions').pluck().get()).toBe(CAP);
    expect(await feedback('adult', appA, [{ predictionId: oldest, label: '>50K' }])).toMatchObject({ status: 404, json: { error: { code: 'TESSERA_ERR_PREDICTION_UNKNOWN' } } });
  });
});
