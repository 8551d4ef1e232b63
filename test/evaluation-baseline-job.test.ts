/**
 * The previous-production baseline inside the round's ONE evaluation (coordinator/job-runner.ts
 * `previousProductionOf`; privacy/secagg/evaluation-input.ts): a production version of the job's model is
 * registered and deployed beforehand in a real SQLite state; a real job runs over real sockets on 127.0.0.1 with
 * ClientNodes under the DEFAULT client policy (participation record on, evaluations once per job and round) with
 * only `dp.required` off — exact figures need a job without DP, which the default policy refuses; the DP job with
 * evaluation noise and the full default policy is test/evaluation-noise-job.test.ts. Checked, on both paths —
 * secure aggregation (the default policy's requirement) and the plain evaluate-result (`secagg.required` off too):
 *  - every evaluated round's lineage figures carry `previousProduction` naming the deployed version, with figures
 *    equal to a central evaluation of the production weights on the union of the clients' held-out rows (plain: to
 *    1e-9; secure: accuracy to 1e-9, loss and Brier to 1e-9 of the same central sums in the vector's thousandths);
 *  - each client released exactly ONE evaluation per evaluated round (its participation record), and no client
 *    declined a second evaluation (TESSERA_ERR_POLICY_REPEATED_EVALUATION): there is none to decline.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientNode } from '../client/node.ts';
import { PARTICIPATION_FILE } from '../client/policy/participation.ts';
import { DEFAULT_CLIENT_POLICY, type ClientPolicy } from '../client/policy/schema.ts';
import { socketIoClientTransport } from '../client/transport/socketio-client.ts';
import { assembleJob, FEATURE_FACTORIES } from '../coordinator/features/assemble.ts';
import { withSecAggIdentities } from '../coordinator/features/secagg.ts';
import { runJob } from '../coordinator/job-runner.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import { loadDataset } from '../datasets/index.ts';
import { selectRows, type Examples } from '../datasets/types.ts';
import { listModels, type RegisteredModel } from '../governance/registry/registry.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { initBackend } from '../ml/backend.ts';
import { buildModel } from '../ml/model.ts';
import { evaluate, trainLocal } from '../ml/train.ts';
import { getFlatWeights, setFlatWeights } from '../ml/weights.ts';
import { cryptoRandom } from '../privacy/random.ts';
import { simulatedIdentities } from '../privacy/secagg/identity-directory.ts';
import { LOSS_SCALE } from '../privacy/secagg/evaluation-input.ts';
import { parseJobSpec, type JobSpec } from '../protocol/job/spec.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { consortium, coordinator, logger } from './support/federation-fixtures.ts';
import { SHARED_DATA_DIR } from './paths.ts';
import { policyNode, waitUntilConnected } from './support/policy-node.ts';
import { deployProductionVersion } from './support/production-version.ts';

const CLIENTS = 4;
const TRAIN = 120;
const HELD_OUT = 40;
const adult = loadDataset('adult', { dataDir: SHARED_DATA_DIR, trainLimit: 2 * CLIENTS * TRAIN + 400, testLimit: 2 * CLIENTS * HELD_OUT });
const rows = (e: Examples, from: number, count: number): Examples => selectRows(e, Array.from({ length: count }, (_, i) => from + i));

function jobSpec(name: string, secure: boolean): JobSpec {
  return parseJobSpec({
    name,
    model: { kind: 'logistic', inputs: adult.train.featureShape[0], classes: 2 },
    data: { dataset: 'adult' },
    training: { epochs: 1, batchSize: 16, learningRate: 0.5, optimizer: 'sgd' },
    rounds: 2,
    minClients: 3,
    maxRoundRetries: 0,
    sampling: { mode: 'poisson', rate: 1 },
    roundDeadlineMs: 30_000,
    consent: { required: false },
    secagg: secure ? { enabled: true, threatModel: 'semi-malicious', consistencyCheck: true, weighting: 'uniform' } : { enabled: false },
    // Every round is evaluated: two evaluations per client, one per round.
    evaluation: { everyRounds: 1 },
  });
}

interface Federation {
  readonly state: string;
  readonly db: Db;
  readonly server: CoordinatorServer;
  readonly nodes: ClientNode[];
  readonly heldOut: Examples[];
  readonly ids: string[];
  readonly identities: ReturnType<typeof simulatedIdentities>;
}

const federations: Federation[] = [];
/** The default policy, record and once-per-round rule included, accepting a job without DP (exact sums). */
const NO_DP_REQUIRED: ClientPolicy = { ...DEFAULT_CLIENT_POLICY, dp: { ...DEFAULT_CLIENT_POLICY.dp, required: false } };

async function federation(prefix: string, policy: ClientPolicy, offset: number, declareExamples = false): Promise<Federation> {
  const state = mkdtempSync(join(tmpdir(), `tessera-eval-baseline-${prefix}-`));
  const ids = Array.from({ length: CLIENTS }, (_, i) => `${prefix}-${i}`);
  const identities = simulatedIdentities(ids, cryptoRandom());
  const server = await coordinator();
  const f: Federation = { state, db: openDatabase(state), server, nodes: [], heldOut: [], ids, identities };
  federations.push(f);
  ids.forEach((id, i) => {
    const held = rows(adult.test, (offset + i) * HELD_OUT, HELD_OUT);
    f.heldOut.push(held);
    const transport = socketIoClientTransport({ url: server.url, handshake: { protocolVersion: PROTOCOL_VERSION, clientId: id, orgId: `org-${id}`, ...(declareExamples ? { examples: TRAIN } : {}) }, identity: consortium.identityOf(id, `org-${id}`), reconnectDelayMs: 100, reconnectDelayMaxMs: 200 });
    f.nodes.push(policyNode({ id, transport, data: { train: rows(adult.train, (offset + i) * TRAIN, TRAIN), heldOut: held }, policy, identities, recordRoot: join(state, 'clients') }).node);
  });
  await waitUntilConnected(server, ids);
  return f;
}

/** A production version of `spec`'s model, trained centrally on rows no client holds, registered and deployed. */
async function deployProduction(f: Federation, spec: JobSpec): Promise<{ version: string; weights: Float32Array }> {
  const model = buildModel(spec.model, { seed: 11 });
  await trainLocal(model, rows(adult.train, 2 * CLIENTS * TRAIN, 400), { epochs: 2, batchSize: 32, learningRate: 0.3, optimizer: 'sgd', shuffleSeed: 11 });
  const weights = getFlatWeights(model);
  model.dispose();
  return { version: await deployProductionVersion(f.db, f.state, spec, weights, 'adult'), weights };
}

/** The production weights evaluated centrally: on the union of the rows, and per client (for the secure vector's units). */
function central(spec: JobSpec, weights: Float32Array, parts: readonly Examples[]): { accuracy: number; loss: number; brier: number; milliLoss: number; milliBrier: number; examples: number } {
  const model = buildModel(spec.model, { seed: spec.seed });
  setFlatWeights(model, weights);
  const all = parts.reduce<Examples | null>((acc, e) => (acc === null ? e : concat(acc, e)), null) as Examples;
  const u = evaluate(model, all);
  // What each client's secure vector carries: its loss and Brier sums rounded to thousandths (evaluation-input.ts).
  let milliLoss = 0;
  let milliBrier = 0;
  for (const p of parts) {
    const r = evaluate(model, p);
    milliLoss += Math.round(r.loss * p.n * LOSS_SCALE);
    milliBrier += Math.round(r.brierSum * LOSS_SCALE);
  }
  model.dispose();
  return { accuracy: u.accuracy, loss: u.loss, brier: u.brierSum / all.n, milliLoss: milliLoss / LOSS_SCALE / all.n, milliBrier: milliBrier / LOSS_SCALE / all.n, examples: all.n };
}

/** The job's own registered version (the registry feature registers it as the job ends). */
async function registeredCandidate(f: Federation, name: string, production: string): Promise<RegisteredModel> {
  for (let i = 0; i < 200; i++) {
    const found = listModels(f.db, { name }).find((m) => m.version !== production);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no candidate version of ${name} was registered`);
}

function evaluatedRounds(f: Federation, id: string, jobId: string): number[] {
  const record = JSON.parse(readFileSync(join(f.state, 'clients', id, PARTICIPATION_FILE), 'utf8')) as { contributions: Array<{ jobId: string; round: number; task?: string }> };
  return record.contributions.filter((c) => c.jobId === jobId && c.task === 'evaluate').map((c) => c.round);
}

async function runWithProduction(f: Federation, jobId: string, spec: JobSpec): Promise<{ production: { version: string; weights: Float32Array }; result: Awaited<ReturnType<typeof runJob>> }> {
  const production = await deployProduction(f, spec);
  const rng = cryptoRandom();
  const model = buildModel(spec.model, { seed: spec.seed });
  const initialWeights = getFlatWeights(model);
  model.dispose();
  const assembled = assembleJob({ jobId, spec, logger, rng, db: f.db, stateDir: f.state }, withSecAggIdentities(FEATURE_FACTORIES, f.identities.resolve));
  const result = await runJob({ jobId, spec, federation: f.server.federation, logger, rng, initialWeights, waitForClientsMs: 20_000, population: CLIENTS, ...assembled });
  expect(result.status, result.message).toBe('completed');
  return { production, result };
}

beforeAll(async () => {
  await initBackend();
}, 60_000);

afterAll(async () => {
  for (const f of federations) {
    for (const n of f.nodes) n.close();
    await f.server.close();
    f.db.close();
    rmSync(f.state, { recursive: true, force: true });
  }
});

describe('the previous production version is evaluated inside the round’s one evaluation', () => {
  it('secure aggregation, default client policy: previousProduction equals the central evaluation, one evaluation per client and round', async () => {
    const f = await federation('ebs', NO_DP_REQUIRED, 0);
    const spec = jobSpec('eval-baseline-secure', true);
    const { production, result } = await runWithProduction(f, 'eval-baseline-secure-1', spec);
    const c = central(spec, production.weights, f.heldOut);
    expect(result.rounds.map((r) => r.round)).toEqual([1, 2]);
    for (const r of result.rounds) {
      expect(r.declined.filter((d) => d.code === 'TESSERA_ERR_POLICY_REPEATED_EVALUATION')).toEqual([]);
      const fe = r.extra.federatedEvaluation;
      expect(fe?.examples).toBe(c.examples);
      const p = fe?.previousProduction;
      expect(p?.version).toBe(production.version);
      expect(Math.abs((p?.accuracy ?? NaN) - c.accuracy)).toBeLessThan(1e-9);
      // The secure vector carries each client's sums in thousandths: equal to the central sums in those units …
      expect(Math.abs((p?.loss ?? NaN) - c.milliLoss)).toBeLessThan(1e-9);
      expect(Math.abs((p?.brier ?? NaN) - c.milliBrier)).toBeLessThan(1e-9);
      // … and so within n·0.0005/N of the unrounded central figures.
      expect(Math.abs((p?.loss ?? NaN) - c.loss)).toBeLessThanOrEqual((CLIENTS * 0.0005) / c.examples);
      // The candidate of that round is a different model: the figures are not the baseline's copied.
      expect(Math.abs((fe?.loss ?? NaN) - (p?.loss ?? NaN))).toBeGreaterThan(1e-6);
    }
    for (const id of f.ids) expect(evaluatedRounds(f, id, 'eval-baseline-secure-1')).toEqual([1, 2]);
    // The registered candidate's lineage (read by the gate and the model card, unchanged) names the same evidence.
    const last = result.rounds.at(-1)?.extra.federatedEvaluation?.previousProduction;
    const candidate = await registeredCandidate(f, spec.name, production.version);
    expect(candidate.lineage.performance?.baselines.previousProduction).toEqual({ version: production.version, accuracy: last?.accuracy, loss: last?.loss, brier: last?.brier });
  }, 120_000);

  it('plain evaluate-result (default policy, secure aggregation not required): previousProduction equals the central evaluation to 1e-9', async () => {
    const policy: ClientPolicy = { ...NO_DP_REQUIRED, secagg: { ...DEFAULT_CLIENT_POLICY.secagg, required: false } };
    // A plain FedAvg round weights updates by example counts: these organisations declare theirs (disclose.exampleCount).
    const f = await federation('ebp', policy, CLIENTS, true);
    const spec = jobSpec('eval-baseline-plain', false);
    const { production, result } = await runWithProduction(f, 'eval-baseline-plain-1', spec);
    const c = central(spec, production.weights, f.heldOut);
    for (const r of result.rounds) {
      expect(r.declined.filter((d) => d.code === 'TESSERA_ERR_POLICY_REPEATED_EVALUATION')).toEqual([]);
      const p = r.extra.federatedEvaluation?.previousProduction;
      expect(p?.version).toBe(production.version);
      expect(Math.abs((p?.accuracy ?? NaN) - c.accuracy)).toBeLessThan(1e-9);
      expect(Math.abs((p?.loss ?? NaN) - c.loss)).toBeLessThan(1e-9);
      expect(Math.abs((p?.brier ?? NaN) - c.brier)).toBeLessThan(1e-9);
    }
    for (const id of f.ids) expect(evaluatedRounds(f, id, 'eval-baseline-plain-1')).toEqual([1, 2]);
  }, 120_000);
});

function concat(a: Examples, b: Examples): Examples {
  const both = { ...a, x: new Float32Array([...a.x, ...b.x]), y: new Int32Array([...a.y, ...b.y]), n: a.n + b.n };
  return selectRows(both, Array.from({ length: both.n }, (_, i) => i));
}
