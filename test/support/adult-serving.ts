/**
 * Real models for the serving tests (issue 20): logistic regressions trained on UCI Adult through the built-in data
 * contract's pipeline, evaluated on adult.test for their performance evidence, registered under the Adult
 * contract's hash (so serving checks raw rows against it), approved and deployed; plus the raw adult.test rows as
 * {column: cell} instances, and a fastify app serving them on 127.0.0.1.
 */
import type { FastifyInstance } from 'fastify';
import { join } from 'node:path';
import { loadBuiltinContract } from '../../datasets/contracts/index.ts';
import { loadAdult } from '../../datasets/adult.ts';
import { compileContract } from '../../governance/contract/compile.ts';
import { readContractTable } from '../../governance/contract/load.ts';
import { contractHash } from '../../governance/contract/schema.ts';
import { canonicalHash } from '../../lib/canonical-json.ts';
import { createApproval } from '../../governance/approvals/record.ts';
import { recordApproval } from '../../governance/approvals/store.ts';
import { keyPairFromSeed } from '../../governance/identity/ed25519.ts';
import { performanceEvidence } from '../../governance/registry/performance.ts';
import { registerModel, type RegisteredModel } from '../../governance/registry/registry.ts';
import type { Db } from '../../governance/state/database.ts';
import { initBackend } from '../../ml/backend.ts';
import { buildModel } from '../../ml/model.ts';
import { evaluate, trainLocal } from '../../ml/train.ts';
import { getFlatWeights } from '../../ml/weights.ts';
import type { ModelSpec } from '../../protocol/job/model.ts';
import { servingRoutes, type ServingOptions } from '../../coordinator/serving/routes.ts';
import { fixtureLineage, initTestRegistry } from '../governance-fixtures.ts';
import { SHARED_DATA_DIR } from '../paths.ts';
import { apiTestApp, type ApiTestApp } from './api-app.ts';

export const ADULT_CONTRACT = loadBuiltinContract('adult');
export const ADULT_FEATURES = compileContract(ADULT_CONTRACT).featureCount;

/** adult.test as raw instances: {column: cell text} without the label, and the label (normalised) beside it. */
export function adultTestInstances(limit: number): Array<{ instance: Record<string, string>; label: string }> {
  const table = readContractTable(ADULT_CONTRACT, join(SHARED_DATA_DIR, 'adult', 'adult.test'));
  const names = ADULT_CONTRACT.columns.map((c) => c.name);
  return table.rows.slice(0, limit).map((cells) => {
    const row = Object.fromEntries(names.map((n, i) => [n, cells[i] ?? '']));
    const { income, ...instance } = row;
    return { instance, label: (income ?? '').replace(/\.$/, '') };
  });
}

const officer = keyPairFromSeed(new Uint8Array(32).fill(51));
const owner = keyPairFromSeed(new Uint8Array(32).fill(52));

export function initAdultApprovers(db: Db): void {
  initTestRegistry(db, [
    { name: 'Officer', key: officer, roles: ['privacy-officer'] },
    { name: 'Owner', key: owner, roles: ['model-owner'] },
  ]);
}

export interface TrainedAdult {
  readonly spec: ModelSpec;
  readonly weights: Float32Array;
  readonly performance: NonNullable<ReturnType<typeof performanceEvidence>>;
}

const trained = new Map<string, Promise<TrainedAdult>>();

/** Trains (Adam, `epochs` over the first `trainLimit` rows) and evaluates on adult.test; once per seed and epochs per process. */
export function trainAdult(seed: number, epochs = 1, trainLimit = 3000): Promise<TrainedAdult> {
  const key = `${seed}/${epochs}/${trainLimit}`;
  let p = trained.get(key);
  if (p === undefined) {
    p = (async () => {
      await initBackend();
      const { train, test } = loadAdult({ dataDir: SHARED_DATA_DIR, trainLimit, testLimit: 3000 });
      const spec: ModelSpec = { kind: 'logistic', inputs: ADULT_FEATURES, classes: 2, l2: 0 };
      const model = buildModel(spec, { seed });
      await trainLocal(model, train, { epochs, batchSize: 64, learningRate: 0.05, optimizer: 'adam', shuffleSeed: seed });
      const e = evaluate(model, test);
      const weights = getFlatWeights(model);
      model.dispose();
      const performance = performanceEvidence({ round: 1, examples: test.n, clients: 1, accuracy: e.accuracy, loss: e.loss, brier: e.brierSum / test.n, labelCounts: e.labelCounts });
      if (performance === null) throw new Error('no performance evidence');
      return { spec, weights, performance };
    })();
    trained.set(key, p);
  }
  return p;
}

/** Registers a trained Adult model as an approved version of `name`; `deployment` becomes its job spec's deployment section. */
export async function registerAdult(db: Db, stateDir: string, t: TrainedAdult, options: { name?: string; deployment?: Record<string, unknown> } = {}): Promise<RegisteredModel> {
  const name = options.name ?? 'adult';
  const jobSpec = { name, ...(options.deployment ? { deployment: options.deployment } : {}) };
  const m = await registerModel(db, stateDir, {
    modelSpec: t.spec,
    weights: t.weights,
    name,
    jobSpec,
    lineage: fixtureLineage({ jobName: name, dataset: 'adult', jobSpecHash: canonicalHash(jobSpec), dataContractHash: contractHash(ADULT_CONTRACT), performance: t.performance, metrics: { accuracy: t.performance.model.accuracy } }),
  });
  for (const [key, role] of [[officer, 'privacy-officer'], [owner, 'model-owner']] as const) recordApproval(db, createApproval({ model: m, role, decision: 'approve', key, validForMs: 86_400_000 }));
  return m;
}

export interface ServingApp {
  readonly app: FastifyInstance;
  readonly api: ApiTestApp;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  post(path: string, role: Parameters<ApiTestApp['auth']>[0] | { authorization: string }, body: unknown): Promise<{ status: number; json: unknown }>;
  get(path: string, role: Parameters<ApiTestApp['auth']>[0] | { authorization: string }): Promise<{ status: number; json: unknown }>;
}

/** The serving routes on a real socket (127.0.0.1, a port the OS picks). */
export async function startServing(stateDir: string, db: Db, options: Partial<ServingOptions> = {}): Promise<ServingApp> {
  const api = await apiTestApp(stateDir);
  await api.app.register(servingRoutes, { stateDir, db, predictPerMinute: 1_000_000, ...options });
  const url = await api.app.listen({ host: '127.0.0.1', port: 0 });
  const headers = (who: Parameters<ApiTestApp['auth']>[0] | { authorization: string }): Record<string, string> => (typeof who === 'string' ? api.auth(who) : who);
  return {
    app: api.app,
    api,
    url,
    async post(path, who, body) {
      const res = await fetch(`${url}${path}`, { method: 'POST', headers: { ...headers(who), 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, json: (await res.json()) as unknown };
    },
    async get(path, who) {
      const res = await fetch(`${url}${path}`, { headers: headers(who) });
      return { status: res.status, json: (await res.json()) as unknown };
    },
  };
}
