/**
 * Federated evaluation through secure aggregation (issue 5: "counts are summed across clients — through secure
 * aggregation when it is on: they are integer vectors"), over real loopback sockets with real client nodes on
 * UCI Adult (Becker & Kohavi 1996; 6 clients, sensitive attributes sex and race). With `secagg.enabled` each
 * client masks [examples, correct, round(1000·lossSum), ...fairness counts]; the coordinator must end with the
 * exact sum — equal, cell by cell, to the counts computed centrally on the union of the clients' held-out
 * splits with the same global model — while no evaluate-result and no clear count vector ever reaches it.
 * The same run with secure aggregation off sends its counts in the clear (the wire check can fail).
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { SecureAggregation } from '../client/secure-aggregation.ts';
import { secAggEvaluationProtocol, type SecAggEvaluationReport } from '../coordinator/secagg-evaluation.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import { deriveSeed, seededRandom } from '../privacy/random.ts';
import { evaluationInput } from '../privacy/secagg/evaluation-input.ts';
import { simulatedIdentities } from '../privacy/secagg/identity-directory.ts';
import { parseJobSpec } from '../protocol/job/spec.ts';
import { ServerMessage } from '../protocol/messages.ts';
import type { ClientTransport } from '../protocol/transport.ts';
import { authenticatedTransport, coordinator } from './support/federation-fixtures.ts';
import { fairnessCountsForModel, positiveClassIndex } from '../governance/fairness/model-counts.ts';
import { fairnessLayoutForJob } from '../coordinator/features/fairness.ts';
import type { FederatedEvaluation } from '../coordinator/federated-eval.ts';
import { Federation } from '../coordinator/federation.ts';
import { loadBuiltinContract } from '../datasets/contracts/index.ts';
import { loadDataset } from '../datasets/index.ts';
import { concatExamples, type Examples } from '../datasets/types.ts';
import { decodeCounts, groupSize } from '../governance/fairness/counts.ts';
import { silentLogger } from '../lib/logger.ts';
import { initBackend } from '../ml/backend.ts';
import { buildModel } from '../ml/model.ts';
import { evaluate, predictProba } from '../ml/train.ts';
import { setFlatWeights } from '../ml/weights.ts';
import { partitionClients } from '../simulations/federation-setup.ts';
import { clientData, runSimulation, type SimulationResult } from '../simulations/simulate.ts';
import { SHARED_DATA_DIR } from './paths.ts';
import { slotOf } from './support/slots.ts';
import { TaskSpecs } from '../client/task-specs.ts';

const SEED = 5;
const CLIENTS = 6;
const ROUNDS = 2;
const TRAIN_LIMIT = 3000;

interface Run {
  readonly sim: SimulationResult;
  readonly evaluations: Map<number, FederatedEvaluation>;
  /** Every message the coordinator's federation received from a client (parsed at its boundary). */
  readonly wire: unknown[];
}

async function run(secagg: boolean): Promise<Run> {
  const evaluations = new Map<number, FederatedEvaluation>();
  const wire: unknown[] = [];
  // Observe (and pass through) what reaches the coordinator: Federation's private inbound handler.
  const proto = Federation.prototype as unknown as { onMessage: (clientId: string, connection: unknown, raw: unknown) => void };
  const original = proto.onMessage;
  const spy = vi.spyOn(proto, 'onMessage').mockImplementation(function (this: unknown, clientId: string, connection: unknown, raw: unknown) {
    wire.push(raw);
    original.call(this, clientId, connection, raw);
  });
  try {
    const sim = await runSimulation(
      {
        dataset: 'adult',
        dataDir: SHARED_DATA_DIR,
        clients: CLIENTS,
        rounds: ROUNDS,
        seed: SEED,
        trainLimit: TRAIN_LIMIT,
        transport: 'socket',
        deadlineMs: 20_000,
        job: { fairness: { enabled: true, sensitive: ['sex', 'race'] }, ...(secagg ? { secagg: { enabled: true, clipRange: 10 } } : {}) },
      },
      { logger: silentLogger(), onFederatedEvaluation: (round, e) => evaluations.set(round, e) },
    );
    return { sim, evaluations, wire };
  } finally {
    spy.mockRestore();
  }
}

/** The union of the clients' held-out splits, rebuilt from the same seed, limits, partition and job spec. */
function heldOutUnion(sim: SimulationResult): Examples {
  const dataset = loadDataset('adult', { dataDir: SHARED_DATA_DIR, seed: SEED, trainLimit: TRAIN_LIMIT });
  const parts = partitionClients(dataset, { clients: CLIENTS, partition: 'iid', seed: SEED });
  return concatExamples(
    parts.map((p) => {
      const held = clientData(p.train, sim.job, p.clientId).heldOut;
      if (!held) throw new Error('fairness is on, so every client keeps a held-out split');
      return held;
    }),
  );
}

/** Every `fairnessCounts` key anywhere in a message (a clear count vector on the wire). */
function hasClearCounts(m: unknown): boolean {
  if (typeof m !== 'object' || m === null || m instanceof Uint8Array) return false;
  return Object.entries(m).some(([k, v]) => k === 'fairnessCounts' || hasClearCounts(v));
}

const type = (m: unknown): unknown => (typeof m === 'object' && m !== null ? (m as { type?: unknown }).type : undefined);

let secure: Run;
let plain: Run;

beforeAll(async () => {
  await initBackend('wasm');
  secure = await run(true);
  plain = await run(false);
}, 120_000);

describe('federated evaluation through secure aggregation over sockets (Adult, 6 clients, fairness on)', () => {
  it('the unmasked sum equals the central counts and accuracy on the union of the held-out splits, exactly', () => {
    expect(secure.sim.result.status).toBe('completed');
    const last = secure.evaluations.get(ROUNDS);
    expect(last?.clients).toBe(CLIENTS);
    const summed = last?.fairnessCounts;
    if (!summed) throw new Error(`no summed counts: ${last?.fairnessError ?? 'no evaluation'}`);
    const union = heldOutUnion(secure.sim);
    const layout = fairnessLayoutForJob(secure.sim.job);
    const model = buildModel(secure.sim.job.model, { seed: secure.sim.job.seed });
    try {
      // The last evaluation used the weights the last round committed: the job's final weights.
      setFlatWeights(model, secure.sim.result.weights);
      const positive = positiveClassIndex(union, loadBuiltinContract('adult').label?.positive);
      const central = fairnessCountsForModel({ probabilities: predictProba(model, union.x, union.n), examples: union, positive, layout });
      expect(Array.from(summed)).toEqual(Array.from(central));
      expect(last?.examples).toBe(union.n);
      const decoded = decodeCounts(summed, layout);
      expect(groupSize(decoded.overall)).toBe(union.n);
      expect(last?.accuracy).toBe((decoded.overall.tp + decoded.overall.tn) / union.n);
      // The loss travels in thousandths per client: at most 6 · 0.0005 off the central loss sum.
      const centralEval = evaluate(model, union);
      expect(Math.abs((last?.loss ?? 0) - centralEval.loss) * union.n).toBeLessThanOrEqual(CLIENTS * 0.0005 + 1e-6);
      // The performance evidence: label counts exact, the Brier sum in thousandths per client.
      expect(last?.labelCounts).toEqual(centralEval.labelCounts);
      expect(Math.abs((last?.brier ?? 0) * union.n - centralEval.brierSum)).toBeLessThanOrEqual(CLIENTS * 0.0005 + 1e-6);
    } finally {
      model.dispose();
    }
    for (const r of secure.sim.result.rounds) {
      expect(slotOf(r, 'fairness').ok).toBe(true);
      // 4 header cells, 2 label counts, then the sex, race, sex×race count layout; every client's vector is in the sum.
      expect(r.extra.secaggEvaluation).toMatchObject({ clients: CLIENTS, survivors: CLIENTS, dim: 4 + 2 + layout.length });
    }
  });

  it('the coordinator never receives an evaluate-result or a clear count vector; without secagg it does', () => {
    expect(secure.wire.filter((m) => type(m) === 'evaluate-result')).toEqual([]);
    expect(secure.wire.some(hasClearCounts)).toBe(false);
    expect(secure.wire.filter((m) => type(m) === 'secagg').length).toBeGreaterThan(0);
    // The wire check sees clear counts when they are sent: every client, every evaluated round.
    expect(plain.wire.filter((m) => type(m) === 'evaluate-result' && hasClearCounts(m))).toHaveLength(CLIENTS * ROUNDS);
  });

  it('matches the run with secure aggregation off: same held-out groups, accuracy within quantisation effects', () => {
    expect(plain.sim.result.status).toBe('completed');
    const layout = fairnessLayoutForJob(plain.sim.job);
    for (let round = 1; round <= ROUNDS; round++) {
      const s = secure.evaluations.get(round);
      const p = plain.evaluations.get(round);
      if (!s?.fairnessCounts || !p?.fairnessCounts) throw new Error(`round ${round}: missing counts`);
      expect([s.examples, s.clients]).toEqual([p.examples, p.clients]);
      const ds = decodeCounts(s.fairnessCounts, layout);
      const dp = decodeCounts(p.fairnessCounts, layout);
      // Group sizes do not depend on the model: equal exactly.
      for (const g of ['sex', 'race', 'sex×race']) {
        for (const [value, c] of Object.entries(ds.groupings[g] ?? {})) expect([g, value, groupSize(c)]).toEqual([g, value, groupSize(dp.groupings[g]?.[value] ?? c)]);
      }
      // The trained models differ only by SecAgg's quantisation (step ≈ 2e−8 per coordinate).
      expect(Math.abs(s.accuracy - p.accuracy)).toBeLessThan(0.01);
      expect(Math.abs(s.loss - p.loss)).toBeLessThan(0.01);
    }
  });
});

describe('the secure evaluation protocol with light clients (real sockets, real SecureAggregation)', () => {
  const spec = parseJobSpec({
    model: { kind: 'logistic', inputs: 2, classes: 2 },
    data: { dataset: 'csv' },
    rounds: 1,
    sampling: { mode: 'fixed', clientsPerRound: 4 },
    minClients: 4,
    roundDeadlineMs: 5_000,
    secagg: { enabled: true, maxExamplesPerClient: 1000 },
  });
  const vectors = [
    { examples: 100, correct: 80, lossSum: 41.2345, brierSum: 30.5, labelCounts: [60, 40] },
    { examples: 250, correct: 200, lossSum: 99.9, brierSum: 70.25, labelCounts: [100, 150] },
    { examples: 1000, correct: 0, lossSum: 16118, brierSum: 2000, labelCounts: [1000, 0] },
    { examples: 7, correct: 7, lossSum: 0.0004, brierSum: 0.001, labelCounts: [3, 4] },
  ];
  let server: CoordinatorServer;
  const transports: ClientTransport[] = [];
  afterEach(async () => {
    for (const t of transports.splice(0)) t.close();
    await server.close();
  });

  /** Four clients that answer an evaluate task with their vector through SecureAggregation (or decline). */
  async function start(declining: ReadonlySet<number>): Promise<{ unmaskRequests: () => number; resolve: ReturnType<typeof simulatedIdentities>['resolve'] }> {
    server = await coordinator();
    const ids = vectors.map((_, i) => `eval-${i}`);
    const identities = simulatedIdentities(ids, seededRandom('eval-identities'));
    let unmask = 0;
    ids.forEach((id, i) => {
      const t = authenticatedTransport(server, id, 10);
      const secure = new SecureAggregation({ clientId: id, identity: identities.identityOf(id), resolveIdentity: identities.resolve, logger: silentLogger(), rng: seededRandom(deriveSeed('eval', id)) });
      const specs = new TaskSpecs();
      t.onMessage((raw) => {
        const m = ServerMessage.parse(raw);
        if (m.type === 'evaluate') {
          const task = specs.resolve(m, (raw as { job?: unknown }).job);
          if (!task.ok) throw new Error(task.message);
          if (declining.has(i)) t.send({ type: 'decline', jobId: m.jobId, round: m.round, taskId: m.taskId, reason: { code: 'TESSERA_ERR_CONSENT', message: 'no consent for evaluation' } });
          else secure.begin(task.task, { counts: evaluationInput(vectors[i] as (typeof vectors)[number]), weight: 1 }, (x) => t.send(x));
        } else if (m.type === 'secagg') {
          if (m.message.type === 'secagg.unmask') unmask++;
          secure.handle(m, (x) => t.send(x));
        }
      });
      transports.push(t);
    });
    await server.federation.waitForClients(ids.length, 10_000);
    return { unmaskRequests: () => unmask, resolve: identities.resolve };
  }

  it('all four answer: the exact sums of examples, correct and loss (thousandths)', async () => {
    const { resolve } = await start(new Set());
    const reports: SecAggEvaluationReport[] = [];
    const e = await secAggEvaluationProtocol({ resolveIdentity: resolve, onReport: (r) => reports.push(r) }).run({ federation: server.federation, clients: server.federation.clients(), jobId: 'job-eval', spec, round: 1, weights: new Float32Array(6) });
    expect(e).toMatchObject({ examples: 1357, clients: 4, accuracy: 287 / 1357 });
    expect(e?.fairnessCounts).toBeUndefined();
    // Σ round(1000·lossSum) = 41235 + 99900 + 16118000 + 0.
    expect(e?.loss).toBeCloseTo(16259.135 / 1357, 12);
    // Σ round(1000·brierSum) = 30500 + 70250 + 2000000 + 1; label counts [1163, 194] add up to the examples.
    expect([...(reports[0]?.sum ?? [])]).toEqual([1357, 287, 16_259_135, 2_100_751, 1163, 194]);
    expect(e?.brier).toBeCloseTo(2100.751 / 1357, 12);
    expect(e?.labelCounts).toEqual([1163, 194]);
  }, 20_000);

  it('one client declines, so 3 < minClients = 4 masked inputs: aborts before any share is revealed, no figures', async () => {
    const { resolve, unmaskRequests } = await start(new Set([1]));
    const reports: SecAggEvaluationReport[] = [];
    const e = await secAggEvaluationProtocol({ resolveIdentity: resolve, onReport: (r) => reports.push(r) }).run({ federation: server.federation, clients: server.federation.clients(), jobId: 'job-eval', spec, round: 1, weights: new Float32Array(6) });
    expect(e).toBeNull();
    expect(reports[0]?.abort?.code).toBe('TESSERA_ERR_SECAGG_ABORT');
    expect(reports[0]?.sum).toBeUndefined();
    expect(unmaskRequests()).toBe(0);
  }, 20_000);
});
