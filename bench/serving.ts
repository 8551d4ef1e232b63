/**
 * `npm run -s bench -- serving` (issue 20 §8): prediction latency and throughput over real HTTP on loopback,
 * per model kind, one instance per request ("single") and 64 per request ("batch"), through the real predict
 * route (token check, schema validation, routing, tfjs scoring, review hook); and int8 weight quantisation of
 * the trained Adult MLP (governance/registry/quantize.ts): accuracy change on the Adult test split, size ratio of
 * the int8 file to the float32 weights, latency ratio of the two versions served the same way.
 *
 * Baseline in the same run: the same models scored in process (predictProbabilities, no HTTP), so the HTTP and
 * routing overhead is the difference. Models: logistic and MLP trained on Adult (../shared/data); the CNN
 * (28×28×1) keeps its seeded initial weights — its cost does not depend on their values, and MNIST is not in
 * ../shared/data. Requests are sequential from one client: requestsPerSec is the single-caller throughput.
 */
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import Fastify from 'fastify';
import { installApiConventions } from '../coordinator/api/conventions.ts';
import { failureLimiter } from '../coordinator/api/failure-limiter.ts';
import { ModelCache, predictProbabilities } from '../coordinator/serving/model-cache.ts';
import { servingRoutes } from '../coordinator/serving/routes.ts';
import { loadDataset } from '../datasets/index.ts';
import { featureSize, type Examples } from '../datasets/types.ts';
import { createApproval } from '../governance/approvals/record.ts';
import { recordApproval } from '../governance/approvals/store.ts';
import { deployModel } from '../governance/deploy/deployments.ts';
import { keyPairFromSeed } from '../governance/identity/ed25519.ts';
import { createOperatorToken, operatorTokenVerifier } from '../governance/identity/operator-tokens.ts';
import { quantizeRegisteredModel } from '../governance/registry/quantize.ts';
import { registerModel, type RegisteredModel } from '../governance/registry/registry.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { initBackend } from '../ml/backend.ts';
import { buildModel } from '../ml/model.ts';
import { trainLocal } from '../ml/train.ts';
import { getFlatWeights } from '../ml/weights.ts';
import type { ModelSpec } from '../protocol/job/model.ts';
import { fixtureLineage, initTestRegistry, tempStateDir } from '../test/governance-fixtures.ts';

interface Run {
  readonly model: string;
  readonly mode: 'single' | 'batch';
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly requestsPerSec: number;
  readonly instancesPerRequest: number;
}

const BATCH = 64;
const round = (v: number, digits: number): number => Number(v.toFixed(digits));

function percentile(sorted: readonly number[], p: number): number {
  // Nearest-rank percentile (the smallest value with at least p % of the sample at or below it).
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
}

async function timed(requests: number, warmup: number, once: () => Promise<void> | void): Promise<{ p50Ms: number; p99Ms: number; requestsPerSec: number }> {
  for (let i = 0; i < warmup; i++) await once();
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < requests; i++) {
    const t = performance.now();
    await once();
    times.push(performance.now() - t);
  }
  const total = performance.now() - start;
  times.sort((a, b) => a - b);
  return { p50Ms: round(percentile(times, 50), 3), p99Ms: round(percentile(times, 99), 3), requestsPerSec: round((requests / total) * 1000, 1) };
}

function rows(e: Examples, count: number, from = 0): number[][] {
  const d = featureSize(e);
  return Array.from({ length: count }, (_, i) => Array.from(e.x.subarray(((from + i) % e.n) * d, ((from + i) % e.n + 1) * d)));
}

async function trained(spec: ModelSpec, data: Examples | undefined, seed: number): Promise<Float32Array> {
  const m = buildModel(spec, { seed });
  try {
    if (data) await trainLocal(m, data, { epochs: 3, batchSize: 64, learningRate: 0.01, optimizer: 'adam', shuffleSeed: seed });
    return getFlatWeights(m);
  } finally {
    m.dispose();
  }
}

/** Approves (two fresh keys, as the default policy asks) and deploys a version to production. */
function approveAndDeploy(db: Db, stateDir: string, m: RegisteredModel, keys: { officer: ReturnType<typeof keyPairFromSeed>; owner: ReturnType<typeof keyPairFromSeed> }, stage: 'production' | 'canary' = 'production'): void {
  for (const [key, role] of [[keys.officer, 'privacy-officer'], [keys.owner, 'model-owner']] as const) recordApproval(db, createApproval({ model: m, role, decision: 'approve', key, validForMs: 86_400_000 }));
  const outcome = deployModel(db, stateDir, { version: m.version, stage, actor: 'bench', ...(stage === 'canary' ? { percent: 50 } : {}) });
  if (!outcome.ok) throw new Error(`the gate refused ${m.name}: ${outcome.gate?.unmet.map((u) => u.message).join('; ') ?? ''}`);
}

export async function benchServing(options: { requests?: number; batchRequests?: number } = {}): Promise<object> {
  const started = performance.now();
  const loadAtStart = round(loadavg()[0] ?? Number.NaN, 2);
  const backend = await initBackend();
  const state = tempStateDir('tessera-bench-serving-');
  const db = openDatabase(state.dir);
  const app = Fastify({ exposeHeadRoutes: false });
  try {
    const adult = loadDataset('adult', { trainLimit: 8000 });
    const d = featureSize(adult.train);
    const keys = { officer: keyPairFromSeed(new Uint8Array(32).fill(61)), owner: keyPairFromSeed(new Uint8Array(32).fill(62)) };
    initTestRegistry(db, [{ name: 'Officer', key: keys.officer, roles: ['privacy-officer'] }, { name: 'Owner', key: keys.owner, roles: ['model-owner'] }]);
    const kinds: Array<{ name: string; spec: ModelSpec; data?: Examples; input: (n: number) => number[][] }> = [
      { name: 'adult-logistic', spec: { kind: 'logistic', inputs: d, classes: 2, l2: 0 }, data: adult.train, input: (n) => rows(adult.test, n) },
      { name: 'adult-mlp', spec: { kind: 'mlp', inputs: d, hidden: [64, 32], classes: 2, activation: 'relu', l2: 0 }, data: adult.train, input: (n) => rows(adult.test, n) },
      { name: 'cnn-28x28', spec: { kind: 'cnn', inputShape: [28, 28, 1], filters: [8, 16], dense: [64], classes: 10 }, input: (n) => Array.from({ length: n }, (_, i) => Array.from({ length: 784 }, (_, j) => ((i * 31 + j * 7) % 255) / 255)) },
    ];
    const registered = new Map<string, RegisteredModel>();
    for (const [i, k] of kinds.entries()) {
      const m = await registerModel(db, state.dir, { modelSpec: k.spec, weights: await trained(k.spec, k.data, i + 1), lineage: fixtureLineage(), name: k.name });
      approveAndDeploy(db, state.dir, m, keys);
      registered.set(k.name, m);
    }
    // int8 of the MLP: a child version of the same model name (served below as its canary).
    const parent = registered.get('adult-mlp') as RegisteredModel;
    const q = await quantizeRegisteredModel(db, state.dir, { version: parent.version, heldOut: { dataset: 'adult', examples: adult.test } });

    await installApiConventions(app, { verifyToken: operatorTokenVerifier(state.dir), tokenFailures: failureLimiter({ maxFailures: 1000, windowMs: 60_000 }) });
    await app.register(servingRoutes, { stateDir: state.dir, db, predictPerMinute: 10_000_000 });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const auth = `Bearer ${createOperatorToken(state.dir, { name: 'bench', role: 'predict' }).token}`;
    const predict = async (name: string, instances: number[][], caller = 'bench'): Promise<string> => {
      const res = await fetch(`${url}/v1/models/${name}/predict`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json', 'x-tessera-caller': caller }, body: JSON.stringify({ instances }) });
      if (res.status !== 200) throw new Error(`predict ${name}: HTTP ${res.status} ${await res.text()}`);
      return ((await res.json()) as { version: string }).version;
    };

    const single = options.requests ?? 400;
    const batched = options.batchRequests ?? 100;
    const runs: Run[] = [];
    const inProcess: Run[] = [];
    const cache = new ModelCache(state.dir);
    for (const k of kinds) {
      const one = k.input(1);
      const many = k.input(BATCH);
      runs.push({ model: k.name, mode: 'single', instancesPerRequest: 1, ...(await timed(single, 20, async () => void (await predict(k.name, one)))) });
      runs.push({ model: k.name, mode: 'batch', instancesPerRequest: BATCH, ...(await timed(batched, 5, async () => void (await predict(k.name, many)))) });
      const loaded = cache.get((registered.get(k.name) as RegisteredModel).version);
      inProcess.push({ model: k.name, mode: 'single', instancesPerRequest: 1, ...(await timed(single, 20, () => void predictProbabilities(loaded, one))) });
      inProcess.push({ model: k.name, mode: 'batch', instancesPerRequest: BATCH, ...(await timed(batched, 5, () => void predictProbabilities(loaded, many))) });
    }
    cache.dispose();
    // Latency of parent and int8 child through the same route: the child as a 50 % canary, each measured with a
    // caller the sticky split sends to it (canary-split.ts), interleaved in blocks so load drift hits both alike.
    approveAndDeploy(db, state.dir, q.model, keys, 'canary');
    const one = rows(adult.test, 1);
    const callers = new Map<string, string>();
    for (let i = 0; callers.size < 2 && i < 200; i++) {
      const version = await predict('adult-mlp', one, `caller-${i}`);
      if (!callers.has(version)) callers.set(version, `caller-${i}`);
    }
    const parentCaller = callers.get(parent.version);
    const int8Caller = callers.get(q.model.version);
    if (parentCaller === undefined || int8Caller === undefined) throw new Error('no caller routed to each version');
    // Request by request, alternating (ABBA), so the load of a shared machine falls on both versions alike.
    const parentTimes: number[] = [];
    const int8Times: number[] = [];
    const once = async (caller: string, into: number[]): Promise<void> => {
      const t = performance.now();
      await predict('adult-mlp', one, caller);
      into.push(performance.now() - t);
    };
    for (let i = 0; i < 10; i++) await once(i % 2 === 0 ? parentCaller : int8Caller, []);
    for (let i = 0; i < single; i++) {
      const first = i % 2 === 0;
      await once(first ? parentCaller : int8Caller, first ? parentTimes : int8Times);
      await once(first ? int8Caller : parentCaller, first ? int8Times : parentTimes);
    }
    const median = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)] ?? Number.NaN;
    const held = q.derivedFrom.heldOut;
    return {
      benchmark: 'serving',
      workload: `POST /v1/models/:name/predict over HTTP on 127.0.0.1, sequential; single: ${single} requests of 1 instance, batch: ${batched} requests of ${BATCH}; Adult test rows`,
      backend,
      loadAverage1m: { start: loadAtStart, end: round(loadavg()[0] ?? Number.NaN, 2) },
      runs,
      baseline: { note: 'the same models scored in process (predictProbabilities), no HTTP, token check or routing', runs: inProcess },
      int8: {
        model: 'adult-mlp (64, 32, relu)',
        accuracyDelta: held === null ? null : round(held.accuracyDelta, 5),
        parentAccuracy: held === null ? null : round(held.parentAccuracy, 5),
        accuracy: held === null ? null : round(held.accuracy, 5),
        heldOutExamples: held?.examples ?? null,
        sizeRatio: round(q.derivedFrom.sizeBytes.int8 / q.derivedFrom.sizeBytes.parent, 4),
        sizeBytes: q.derivedFrom.sizeBytes,
        latencyRatio: round(median(int8Times) / median(parentTimes), 3),
        latencyP50Ms: { parent: round(median(parentTimes), 3), int8: round(median(int8Times), 3), requestsEach: single },
        note: 'served from the dequantised float32 weights: tfjs on wasm has no int8 kernels, so the int8 file saves storage and transfer, not compute',
      },
      totalMillis: Math.round(performance.now() - started),
    };
  } finally {
    await app.close();
    db.close();
    state.cleanup();
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  process.stdout.write(`${JSON.stringify(await benchServing(), null, 2)}\n`);
}
