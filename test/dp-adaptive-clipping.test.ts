/**
 * Adaptive clipping in real DP rounds (Andrew, Thakkar, McMahan & Ramaswamy 2021, NeurIPS, Algorithm 1): Adult,
 * 100 clients on the in-memory transport (the same round code as a deployment), Poisson sampling q = 0.2,
 * distributed placement, started from a deliberately large C_0. Each round's clients are sent C_t, report their
 * noised unclipped indicators, and the coordinator moves C toward the target quantile; the ledger charges the
 * accounted σ each round (Theorem 1: the update and count releases together cost one Gaussian of multiplier σ).
 */
import { describe, expect, it } from 'vitest';
import { standardClientMods } from '../client/mods/index.ts';
import { PERMISSIVE_RESEARCH_POLICY } from '../client/policy/schema.ts';
import { ClientNode } from '../client/node.ts';
import { assembleJob } from '../coordinator/features/assemble.ts';
import { Federation } from '../coordinator/federation.ts';
import { runJob } from '../coordinator/job-runner.ts';
import { loadDataset } from '../datasets/index.ts';
import { silentLogger } from '../lib/logger.ts';
import { buildModel } from '../ml/model.ts';
import { initBackend } from '../ml/backend.ts';
import { getFlatWeights } from '../ml/weights.ts';
import { epsilonFor } from '../privacy/accountant/index.ts';
import { DEFAULT_UNDERFILL_DELTA_FRACTION } from '../privacy/dp/config.ts';
import { l2Norm } from '../privacy/dp/clip.ts';
import { seededRandom } from '../privacy/random.ts';
import { ServerMessage, UpdateResult } from '../protocol/messages.ts';
import { decodeFloat32 } from '../protocol/tensor.ts';
import type { ClientTransport } from '../protocol/transport.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { partitionClients } from '../simulations/federation-setup.ts';
import { createMemoryHub } from '../simulations/memory-transport.ts';
import { buildJobSpec, clientData, runSimulation, SimulationConfig } from '../simulations/simulate.ts';
import { SHARED_DATA_DIR } from './paths.ts';
import { slotOf } from './support/slots.ts';
import { TrainingTurns } from '../client/training-turns.ts';
import { TaskSpecs } from '../client/task-specs.ts';

const DELTA = 1e-5;
// The ledger converts at (1 − f)·δ (privacy/dp/underfill.ts).
const eps = (q: number, sigma: number, steps: number): number => epsilonFor({ samplingRate: q, noiseMultiplier: sigma, steps, delta: DELTA * (1 - DEFAULT_UNDERFILL_DELTA_FRACTION) }).epsilon;

describe('adaptive clipping on Adult', () => {
  it('C shrinks from a large C_0 toward the target quantile; ε per round is the accountant’s at the accounted σ', async () => {
    // q = 0.4: at q = 0.2 a round with fewer than minClients = 5 of 100 (P ≈ 1.5e-5) is too likely for the δ
    // reserve and the job is refused (a DP round is never re-sampled; privacy/dp/underfill.ts).
    const q = 0.4;
    const sigma = 1;
    const c0 = 4;
    const rounds = 12;
    const gamma = 0.5;
    const sim = await runSimulation(
      {
        dataset: 'adult',
        dataDir: SHARED_DATA_DIR,
        clients: 100,
        rounds,
        samplingRate: q,
        minClients: 5,
        trainLimit: 6000,
        testLimit: 500,
        checkContract: false,
        seededNoise: true,
        job: {
          training: { epochs: 1, batchSize: 16, learningRate: 0.1, optimizer: 'sgd' },
          dp: { enabled: true, placement: 'distributed', epsilon: 100, delta: DELTA, noiseMultiplier: sigma, clipNorm: c0, adaptiveClipping: { enabled: true, targetQuantile: gamma, learningRate: 1, minClipNorm: 0.01, maxClipNorm: 100 } },
        },
      },
      { logger: silentLogger() },
    );
    expect(sim.result.status).toBe('completed');
    const privacy = sim.result.rounds.map((r) => slotOf(r, 'privacy'));
    const adaptive = privacy.map((p) => p.adaptiveClipping);
    // σ_b defaults to 0.05·q·N = 0.05·0.4·100 = 2; σ_Δ = (σ^-2 − (2σ_b)^-2)^-1/2 = (1 − 1/16)^-1/2.
    const sigmaDelta = (1 - 1 / 16) ** -0.5;
    privacy.forEach((p, i) => {
      expect(p.epsilon).toBe(eps(q, sigma, i + 1));
      expect(p.noiseMultiplier).toBe(sigma);
      expect(p.updateNoiseMultiplier).toBeCloseTo(sigmaDelta, 12);
      expect(adaptive[i]?.countNoiseStd).toBeCloseTo(2, 12);
      expect(adaptive[i]?.reports).toBe(sim.result.rounds[i]?.participants);
      // The C a round's clients were sent is the C the previous round released.
      expect(p.clipNorm).toBe(i === 0 ? c0 : adaptive[i - 1]?.nextClipNorm);
      expect(adaptive[i]?.clipNorm).toBe(p.clipNorm);
    });
    // Measured (seed 42): C 4 → 2.43 → 1.58 → 1.06 → 0.67 → 0.44 → 0.26 → 0.16, then 0.14–0.16 with b̄ 0.40–0.63
    // and the clients' own clipped fraction 0.2–0.53; accuracy 0.54 → 0.78.
    const first = adaptive[0];
    if (first === undefined) throw new Error('round 1 released nothing about the clip norm');
    // From a C far above every update norm, nothing is clipped and C falls geometrically (η_C = 1).
    expect(privacy[0]?.clippedFraction).toBe(0);
    expect(first.unclippedFraction).toBeGreaterThan(0.8);
    expect(adaptive[5]?.clipNorm).toBeLessThan(c0 / 5);
    expect(adaptive.at(-1)?.nextClipNorm).toBeLessThan(c0 / 10);
    // … until it reaches the update norms: over the last four rounds the unclipped fraction sits near γ and
    // the clients' own clipped flags (an un-noised diagnostic) agree that some updates are now clipped.
    const tail = adaptive.slice(-4).map((a) => a?.unclippedFraction ?? Number.NaN);
    const tailMean = tail.reduce((a, b) => a + b, 0) / tail.length;
    expect(Math.abs(tailMean - gamma)).toBeLessThan(0.2);
    expect(Math.abs(tailMean - gamma)).toBeLessThan(Math.abs((first.unclippedFraction ?? Number.NaN) - gamma));
    for (const p of privacy.slice(-4)) expect(p.clippedFraction).toBeGreaterThan(0);
  }, 60_000);

  it('central placement: every update a client sends is within the C_t its task carried, and C_t is the recorded one', async () => {
    await initBackend();
    const config = SimulationConfig.parse({
      dataset: 'adult',
      dataDir: SHARED_DATA_DIR,
      clients: 30,
      rounds: 5,
      // 0.8, not 0.5: with 30 organisations a round below minClients = 3 at q = 0.5 (P ≈ 8e-7) would exceed the δ reserve.
      samplingRate: 0.8,
      minClients: 3,
      trainLimit: 3000,
      testLimit: 200,
      checkContract: false,
      job: {
        training: { epochs: 1, batchSize: 16, learningRate: 0.1, optimizer: 'sgd' },
        dp: { enabled: true, placement: 'central', trustedCoordinator: true, epsilon: 100, delta: DELTA, noiseMultiplier: 1, clipNorm: 1, adaptiveClipping: { enabled: true, learningRate: 1, countNoiseStd: 2, minClipNorm: 0.01, maxClipNorm: 10 } },
      },
    });
    const dataset = loadDataset('adult', { seed: config.seed, dataDir: SHARED_DATA_DIR, trainLimit: 3000, testLimit: 200 });
    const parts = partitionClients(dataset, { clients: 30, partition: 'iid', seed: config.seed });
    const spec = buildJobSpec(config, dataset, parts.length);
    const hub = createMemoryHub();
    const logger = silentLogger();
    const federation = new Federation(hub.server, logger);
    // What crossed the wire, seen at each client's transport: the C of each train task, the norm of each update.
    const sent = new Map<string, number>(); // `${round}/${clientId}` → C_t in the task
    const updates: Array<{ key: string; norm: number; indicator: number | undefined }> = [];
    const observe = (clientId: string, t: ClientTransport): ClientTransport => ({
      ...t,
      send(m) {
        const u = UpdateResult.safeParse(m);
        if (u.success) updates.push({ key: `${u.data.round}/${clientId}`, norm: l2Norm(decodeFloat32(u.data.update)), indicator: u.data.extensions?.adaptiveClipping?.[0] });
        t.send(m);
      },
      onMessage(handler) {
        const specs = new TaskSpecs();
        t.onMessage((raw) => {
          const task = ServerMessage.safeParse(raw);
          if (task.success && task.data.type === 'train') {
            const resolved = specs.resolve(task.data, (raw as { job?: unknown }).job);
            if (resolved.ok) sent.set(`${task.data.round}/${clientId}`, resolved.task.job.dp.clipNorm);
          }
          handler(raw);
        });
      },
    });
    const turns = new TrainingTurns();
    const nodes = parts.map(
      (p) =>
        new ClientNode({
          clientId: p.clientId,
          orgId: p.orgId,
          transport: observe(p.clientId, hub.connect({ protocolVersion: PROTOCOL_VERSION, clientId: p.clientId, orgId: p.orgId, examples: p.train.n })),
          data: clientData(p.train, spec, p.clientId),
          mods: standardClientMods({ policy: PERMISSIVE_RESEARCH_POLICY, rng: seededRandom(`noise/${p.clientId}`) }),
          logger,
          turns,
        }),
    );
    const model = buildModel(spec.model, { seed: spec.seed });
    try {
      await federation.waitForClients(nodes.length, 10_000);
      const rng = seededRandom('adaptive-central');
      const result = await runJob({ jobId: 'adaptive-central', spec, federation, logger, rng, initialWeights: getFlatWeights(model), ...assembleJob({ jobId: 'adaptive-central', spec, logger, rng }) });
      expect(result.status).toBe('completed');
      expect(updates.length).toBe(result.rounds.reduce((n, r) => n + r.participants, 0));
      for (const u of updates) {
        const c = sent.get(u.key) as number;
        // Central placement: the update leaves the client clipped and un-noised, so its norm is bounded by C_t.
        expect(u.norm).toBeLessThanOrEqual(c + 1e-6);
        // Central placement: the indicator carries no client noise; a clipped update (−1/2) sits exactly at C_t.
        if (u.indicator === -0.5) expect(Math.abs(u.norm / c - 1)).toBeLessThan(1e-5);
        else expect(u.indicator).toBe(0.5);
      }
      // The bound was exercised: C fell to the update norms and some updates were clipped.
      expect(updates.filter((u) => u.indicator === -0.5).length).toBeGreaterThan(0);
      for (const r of result.rounds) {
        const cs = new Set([...sent].filter(([k]) => k.startsWith(`${r.round}/`)).map(([, c]) => c));
        expect([...cs]).toEqual([slotOf(r, 'privacy').clipNorm]);
      }
      expect(result.rounds.at(-1)?.extra.privacy?.clipNorm).toBeLessThan(1);
    } finally {
      for (const n of nodes) n.close();
      model.dispose();
      await hub.server.close();
    }
  }, 60_000);
});
