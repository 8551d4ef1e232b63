/**
 * A DP job with noised federated evaluation end to end (evaluation.noise; privacy/dp/evaluation-noise.ts): real
 * sockets on 127.0.0.1, 30 ClientNodes under the DEFAULT client policy (which requires evaluation noise with DP)
 * with their participation records in real directories, real SecAgg, real DP training on Adult, and the real
 * coordinator features with a SQLite state database. Checked: the evaluation release is charged to the ledger before
 * the unmask (job row and every participating organisation's spend), the round record says its figures are noisy
 * estimates, each client recorded its evaluation, and — the control — the noisy accuracy is the exact accuracy of the
 * released model on the same held-out rows to within the planned noise. A production version deployed beforehand is
 * evaluated INSIDE that one release (its [correct, loss, Brier] block is noised like the rest and counted in Δ₂): the
 * lineage's previousProduction figures are noisy estimates of its exact figures, and the charge is still one release.
 * A job whose planned evaluation releases would overspend its budget is refused before its first round, with its reason.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientNode } from '../client/node.ts';
import { PARTICIPATION_FILE } from '../client/policy/participation.ts';
import { DEFAULT_CLIENT_POLICY } from '../client/policy/schema.ts';
import { socketIoClientTransport } from '../client/transport/socketio-client.ts';
import { assembleJob, FEATURE_FACTORIES } from '../coordinator/features/assemble.ts';
import { withSecAggIdentities } from '../coordinator/features/secagg.ts';
import { runJob, type RunJobOptions } from '../coordinator/job-runner.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import { selectRows, type Examples } from '../datasets/types.ts';
import { chargedEvaluations, chargedRounds, orgEpsilonSeries, orgSpend } from '../governance/ledger/index.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { initBackend } from '../ml/backend.ts';
import { buildModel } from '../ml/model.ts';
import { evaluate, trainLocal } from '../ml/train.ts';
import { getFlatWeights, setFlatWeights } from '../ml/weights.ts';
import { cryptoRandom } from '../privacy/random.ts';
import { simulatedIdentities } from '../privacy/secagg/identity-directory.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { loadDataset } from '../datasets/index.ts';
import { parseJobSpec } from '../protocol/job/spec.ts';
import { consortium, coordinator, logger } from './support/federation-fixtures.ts';
import { SHARED_DATA_DIR } from './paths.ts';
import { policyNode, waitUntilConnected } from './support/policy-node.ts';
import { deployProductionVersion } from './support/production-version.ts';

const CLIENTS = 30;
const TRAIN = 100;
const HELD_OUT = 40;
const IDS = Array.from({ length: CLIENTS }, (_, i) => `evn-${String(i).padStart(2, '0')}`);
const state = mkdtempSync(join(tmpdir(), 'tessera-eval-noise-'));
const records = join(state, 'clients');
let db: Db;
let server: CoordinatorServer;
const nodes: ClientNode[] = [];
const heldOut: Examples[] = [];
const identities = simulatedIdentities(IDS, cryptoRandom());

// minClients close to the roster: each client adds σ² = z²Δ₂²/m, so the released sum carries about z·Δ₂ (not √(n/m) more).
const adult = loadDataset('adult', { dataDir: SHARED_DATA_DIR, trainLimit: CLIENTS * TRAIN, testLimit: CLIENTS * HELD_OUT });
const rows = (e: Examples, from: number, count: number): Examples => selectRows(e, Array.from({ length: count }, (_, i) => from + i));
const spec = parseJobSpec({
  name: 'eval-noise',
  model: { kind: 'logistic', inputs: adult.train.featureShape[0], classes: 2 },
  data: { dataset: 'adult' },
  training: { epochs: 2, batchSize: 16, learningRate: 0.5, optimizer: 'sgd' },
  rounds: 2,
  minClients: 27,
  sampling: { mode: 'poisson', rate: 1 },
  roundDeadlineMs: 30_000,
  consent: { required: false },
  secagg: { enabled: true, threatModel: 'semi-malicious', consistencyCheck: true, weighting: 'uniform' },
  dp: { enabled: true, epsilon: 8, noiseMultiplier: 2, clipNorm: 1 },
  evaluation: { everyRounds: 0, noise: { noiseMultiplier: 1, maxExamplesPerClient: HELD_OUT } },
});

beforeAll(async () => {
  await initBackend();
  db = openDatabase(state);
  server = await coordinator();
  IDS.forEach((id, i) => {
    const held = rows(adult.test, i * HELD_OUT, HELD_OUT);
    heldOut.push(held);
    const transport = socketIoClientTransport({ url: server.url, handshake: { protocolVersion: PROTOCOL_VERSION, clientId: id, orgId: `org-${id}` }, identity: consortium.identityOf(id, `org-${id}`), reconnectDelayMs: 100, reconnectDelayMaxMs: 200 });
    nodes.push(policyNode({ id, transport, data: { train: rows(adult.train, i * TRAIN, TRAIN), heldOut: held }, policy: DEFAULT_CLIENT_POLICY, identities, recordRoot: records }).node);
  });
  await waitUntilConnected(server, IDS);
}, 60_000);

afterAll(async () => {
  for (const n of nodes) n.close();
  await server?.close();
  db?.close();
  rmSync(state, { recursive: true, force: true });
});

function jobOptions(jobId: string, s: typeof spec): RunJobOptions {
  const rng = cryptoRandom();
  const model = buildModel(s.model, { seed: s.seed });
  const initialWeights = getFlatWeights(model);
  model.dispose();
  const assembled = assembleJob({ jobId, spec: s, logger, rng, db, stateDir: state }, withSecAggIdentities(FEATURE_FACTORIES, identities.resolve));
  return { jobId, spec: s, federation: server.federation, logger, rng, initialWeights, waitForClientsMs: 20_000, population: CLIENTS, ...assembled };
}

describe('a DP job whose federated evaluation carries noise', () => {
  it('charges the release to the ledger before the unmask, marks the figures noisy, and estimates the accuracy to within the planned noise', async () => {
    // The production version: a model trained centrally on some training rows (never the held-out rows), deployed first.
    const prod = buildModel(spec.model, { seed: 11 });
    await trainLocal(prod, rows(adult.train, 0, 600), { epochs: 1, batchSize: 32, learningRate: 0.3, optimizer: 'sgd', shuffleSeed: 11 });
    const prodWeights = getFlatWeights(prod);
    prod.dispose();
    const prodVersion = await deployProductionVersion(db, state, spec, prodWeights, 'adult');
    const result = await runJob(jobOptions('eval-noise-1', spec));
    expect(result.status, result.message).toBe('completed');
    const last = result.rounds.at(-1);
    const fe = last?.extra.federatedEvaluation;
    expect(fe?.noise?.estimate).toBe('noisy');
    // Only the final round evaluates (everyRounds 0): one release, charged with the survivors actually in it.
    const evaluations = chargedEvaluations(db, 'eval-noise-1');
    expect(evaluations.map((e) => [e.round, e.participants])).toEqual([[2, CLIENTS]]);
    const training = chargedRounds(db, 'eval-noise-1');
    expect(training.map((r) => r.round)).toEqual([1, 2]);
    const release = evaluations[0];
    if (release === undefined) throw new Error('no evaluation charge');
    // The job's ε composes both: above the training rounds' own, and what the round record reports.
    expect(release.epsilonAfter).toBeGreaterThan(training.at(-1)?.epsilonAfter ?? Infinity);
    expect(release.epsilonAfter).toBeLessThanOrEqual(8);
    expect(last?.extra.privacy?.epsilon).toBe(release.epsilonAfter);
    // Every organisation in the sum is charged for it: three releases on its spend row.
    const spend = orgSpend(db, { jobId: 'eval-noise-1' });
    expect(spend).toHaveLength(CLIENTS);
    expect(spend.every((s) => s.rounds === 3 && s.epsilon === release.epsilonAfter)).toBe(true);
    // The console's per-organisation series replays the release too and ends where the spend row does.
    const series = orgEpsilonSeries(db, { orgId: `org-${IDS[0]}` })[0];
    expect(series?.points.map((p) => [p.round, p.evaluation ?? false])).toEqual([[1, false], [2, false], [2, true]]);
    expect(series?.points.at(-1)?.jobEpsilon).toBe(release.epsilonAfter);
    // Each client recorded its evaluation of round 2 before releasing it.
    const record = JSON.parse(readFileSync(join(records, IDS[0] as string, PARTICIPATION_FILE), 'utf8')) as { contributions: Array<{ round: number; task?: string }> };
    expect(record.contributions.filter((c) => c.task === 'evaluate').map((c) => c.round)).toEqual([2]);
    // The control: the exact accuracy of the released model on the same held-out rows.
    const model = buildModel(spec.model, { seed: spec.seed });
    setFlatWeights(model, result.weights);
    const all = heldOut.reduce<Examples | null>((acc, e) => (acc === null ? e : concat(acc, e)), null) as Examples;
    const exact = evaluate(model, all).accuracy;
    model.dispose();
    const std = fe?.noise?.std ?? NaN;
    const n = CLIENTS * HELD_OUT;
    // accuracy = correct/examples, each with noise std σ: sd ≈ σ·√(1 + a²)/n (delta method).
    const sd = (std * Math.sqrt(1 + exact * exact)) / n;
    expect(sd).toBeLessThan(0.15);
    expect(exact).toBeGreaterThan(0.7);
    expect(Math.abs((fe?.accuracy ?? NaN) - exact)).toBeLessThan(4 * sd);
    expect(Math.abs((fe?.examples ?? NaN) - n)).toBeLessThan(5 * std);
    // The previous production version in the same release: noisy (not its exact figures), within the planned noise.
    const base = buildModel(spec.model, { seed: spec.seed });
    setFlatWeights(base, prodWeights);
    const prodExact = evaluate(base, all);
    base.dispose();
    const p = fe?.previousProduction;
    expect(p?.version).toBe(prodVersion);
    const sdBase = (std * Math.sqrt(1 + prodExact.accuracy * prodExact.accuracy)) / n;
    expect(Math.abs((p?.accuracy ?? NaN) - prodExact.accuracy)).toBeLessThan(4 * sdBase);
    // Noisy, not exact: equality would need the noise on both its correct count and the examples to cancel exactly
    // (a released accuracy is a ratio of two noised counts, clamped to [0, 1]; the exact one here is strictly inside).
    expect(prodExact.accuracy).toBeGreaterThan(0);
    expect(prodExact.accuracy).toBeLessThan(1);
    expect(p?.accuracy).not.toBe(prodExact.accuracy);
  }, 120_000);

  it('refuses up front a job whose planned evaluation releases would overspend its budget', () => {
    const costly = { ...spec, evaluation: { ...spec.evaluation, everyRounds: 1 } };
    expect(() => jobOptions('eval-noise-2', costly)).toThrow(/would overspend its privacy budget: 2 training round\(s\) and 2 noised evaluation release\(s\)/);
  });
});

function concat(a: Examples, b: Examples): Examples {
  const both = { ...a, x: new Float32Array([...a.x, ...b.x]), y: new Int32Array([...a.y, ...b.y]), n: a.n + b.n };
  return selectRows(both, Array.from({ length: both.n }, (_, i) => i));
}
