/**
 * Federated evaluation through secure aggregation (issue 5: "counts are summed across clients — through secure
 * aggregation when it is on: they are integer vectors"), over real loopback sockets with real client nodes on
 * UCI Adult (Becker & Kohavi 1996; 6 clients, sensitive attributes sex and race). With `secagg.enabled` each
 * client masks [examples, correct, round(1000·lossSum), ...fairness counts]; the coordinator must end with the
 * exact sum — equal, cell by cell, to the counts computed centrally on the union of the clients' held-out
 * splits with the same global model — while no evaluate-result and no clear count vector ever reaches it.
 * The same run with secure aggregation off sends its counts in the clear (the wire check can fail).
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { fairnessCountsForModel, positiveClassIndex } from '../client/mods/fairness.ts';
import { fairnessLayoutForJob, type RoundFairness } from '../coordinator/features/fairness.ts';
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
      const centralLoss = evaluate(model, union).loss;
      expect(Math.abs((last?.loss ?? 0) - centralLoss) * union.n).toBeLessThanOrEqual(CLIENTS * 0.0005 + 1e-6);
    } finally {
      model.dispose();
    }
    for (const r of secure.sim.result.rounds) expect((r.extra.fairness as RoundFairness).ok).toBe(true);
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
