/**
 * Contract at inference (issue 20 §1), over real HTTP on 127.0.0.1 with a logistic model trained on UCI Adult:
 * raw rows are checked against the model's data contract and turned into inputs by the SAME pipeline as training
 * (the served probabilities equal the model applied to the examples the training loader builds from the same
 * file rows); a violation is a 422 naming the instance, column, rule and value; schema changes are counted per
 * column (durably and in the metrics); a model with a contract refuses bare input vectors.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelCache, predictProbabilities } from '../coordinator/serving/model-cache.ts';
import { Metrics } from '../coordinator/metrics.ts';
import { compileContract } from '../governance/contract/compile.ts';
import { readExamples } from '../governance/contract/load.ts';
import { deployModel } from '../governance/deploy/deployments.ts';
import { readSchemaChanges } from '../governance/monitoring/store.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import type { RegisteredModel } from '../governance/registry/registry.ts';
import { InstanceRefusal, PredictResponse } from '../protocol/serving.ts';
import { MonitorReport } from '../protocol/serving-monitor.ts';
import { ADULT_CONTRACT, adultTestInstances, initAdultApprovers, registerAdult, startServing, trainAdult, type ServingApp } from './support/adult-serving.ts';
import { tempStateDir } from './governance-fixtures.ts';
import { SHARED_DATA_DIR } from './paths.ts';

let state: { dir: string; cleanup: () => void };
let db: Db;
let serving: ServingApp;
let model: RegisteredModel;
const metrics = new Metrics();
const rows = adultTestInstances(200);
const row = (i: number): Record<string, string> => ({ ...(rows[i]?.instance ?? {}) });

beforeAll(async () => {
  state = tempStateDir('tessera-serving-contract-');
  db = openDatabase(state.dir);
  initAdultApprovers(db);
  model = await registerAdult(db, state.dir, await trainAdult(1));
  expect(deployModel(db, state.dir, { version: model.version, stage: 'production', actor: 'test' }).ok).toBe(true);
  serving = await startServing(state.dir, db, { metrics });
}, 60_000);

afterAll(async () => {
  await serving?.app.close();
  db.close();
  state.cleanup();
});

const predict = (instances: unknown[]) => serving.post('/v1/models/adult/predict', 'predict', { instances });

describe('contract at inference', () => {
  it('scores raw rows through the training pipeline: probabilities equal the model on the loader’s own examples', async () => {
    const r = await predict(rows.slice(0, 100).map((x) => x.instance));
    expect(r.status).toBe(200);
    const body = PredictResponse.parse(r.json);
    expect(body.predictions).toHaveLength(100);
    expect(new Set(body.predictionIds).size).toBe(100);
    expect(body.labels?.every((l) => l === '<=50K' || l === '>50K')).toBe(true);
    // The examples the training loader builds (readExamples: the contract's parse + transforms) from the same rows.
    const { examples } = readExamples(compileContract(ADULT_CONTRACT), join(SHARED_DATA_DIR, 'adult', 'adult.test'), { strict: true });
    const d = examples.featureShape[0] ?? 0;
    const x = Array.from({ length: 100 }, (_, i) => Array.from(examples.x.subarray(i * d, (i + 1) * d)));
    const cache = new ModelCache(state.dir);
    try {
      const want = predictProbabilities(cache.get(model.version), x);
      body.predictions.forEach((p, i) => p.forEach((v, j) => expect(v).toBeCloseTo(want[i]?.[j] ?? NaN, 6)));
    } finally {
      cache.dispose();
    }
  });

  it('refuses a batch with one bad instance: 422 naming the instance, the column, the rule and the value', async () => {
    const batch = [row(0), row(1), row(2), { ...row(3), age: 'forty' }, row(4)];
    const r = await predict(batch);
    expect(r.status).toBe(422);
    expect(InstanceRefusal.parse(r.json).error).toMatchObject({ code: 'TESSERA_ERR_INSTANCE_INVALID', instance: 3, column: 'age', kind: 'type', value: 'forty' });
    const range = InstanceRefusal.parse((await predict([{ ...row(0), age: 150 }])).json).error;
    expect(range).toMatchObject({ instance: 0, column: 'age', kind: 'range', value: 150 });
    expect(range.message).toMatch(/above the maximum 100/);
    expect(InstanceRefusal.parse((await predict([{ ...row(0), workclass: 'Astronaut' }])).json).error).toMatchObject({ column: 'workclass', kind: 'category', value: 'Astronaut' });
    // A column that is not nullable cannot be left out …
    const { sex: _sex, ...noSex } = row(5);
    expect(InstanceRefusal.parse((await predict([noSex])).json).error).toMatchObject({ column: 'sex', kind: 'missing' });
    // … while a nullable one can (JSON null is its missing value), and the row is scored.
    expect((await predict([{ ...row(6), workclass: null }])).status).toBe(200);
  });

  it('counts schema changes per column, whether or not the request is refused', async () => {
    expect((await predict([{ ...row(7), zip: '90210' }])).status).toBe(200);
    expect((await predict([{ ...row(8), zip: '10001' }, { ...row(9), zip: '10002' }])).status).toBe(200);
    const { 'capital-gain': _gain, ...noGain } = row(10);
    expect((await predict([noGain])).status).toBe(422);
    const changes = readSchemaChanges(db, 'adult');
    expect(changes.find((c) => c.column === 'zip')).toMatchObject({ change: 'unexpected', count: 3 });
    expect(changes.find((c) => c.column === 'capital-gain')).toMatchObject({ change: 'missing', count: 1 });
    expect(changes.find((c) => c.column === 'age' && c.change === 'type')?.count).toBe(1);
    expect(changes.find((c) => c.column === 'sex')).toMatchObject({ change: 'missing', count: 1 });
    const text = await metrics.render();
    expect(text).toMatch(/tessera_serving_schema_changes_total\{model="adult",column="\(unexpected\)",change="unexpected"\} 3/);
    expect(text).toMatch(/tessera_serving_contract_violations_total\{model="adult",column="age",kind="range"\} 1/);
    const monitor = MonitorReport.parse((await serving.get('/v1/monitor', 'ml-lead')).json);
    expect(monitor.models[0]?.schemaChanges.map((c) => `${c.column}:${c.change}`)).toEqual(expect.arrayContaining(['zip:unexpected', 'capital-gain:missing']));
    expect(monitor.models[0]?.versions[0]?.refused).toBe(5);
  });

  it('refuses input vectors for a model with a contract (they would bypass its checks)', async () => {
    const r = await predict([Array.from({ length: 105 }, () => 0)]);
    expect(r.status).toBe(422);
    expect(InstanceRefusal.parse(r.json).error).toMatchObject({ code: 'TESSERA_ERR_INSTANCE_INVALID', instance: 0, column: null, kind: 'form' });
  });
});
