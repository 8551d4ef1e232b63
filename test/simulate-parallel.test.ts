/**
 * Parallel clients (issue 18 §1): a simulation whose clients train on two worker threads reaches the same final
 * weights, to the bit, as the sequential run with the same seed — with distributed DP (each client's noise from
 * its own seeded stream, drawn on the main thread) and with secure aggregation on top (masked, quantised
 * integer sums). The parallel runs must really have trained on the workers (every task counted there), so a
 * pool that silently fell back to the main thread would fail here, and so would any draw or sum whose result
 * depends on which client finished first.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logger.ts';
import { runSimulation, type SimulationConfigInput, type SimulationResult } from '../simulations/simulate.ts';
import { SHARED_DATA_DIR } from './paths.ts';
import { slotOf } from './support/slots.ts';

const dp = { enabled: true, placement: 'distributed', epsilon: 50, delta: 1e-5, noiseMultiplier: 0.8, clipNorm: 1 };

async function pair(config: SimulationConfigInput): Promise<{ sequential: SimulationResult; parallel: SimulationResult }> {
  const sequential = await runSimulation({ ...config, workers: 1 }, { logger: silentLogger() });
  const parallel = await runSimulation({ ...config, workers: 2 }, { logger: silentLogger() });
  return { sequential, parallel };
}

function bits(w: Float32Array): Buffer {
  return Buffer.from(w.buffer, w.byteOffset, w.byteLength);
}

function trainTasks(sim: SimulationResult): number {
  return sim.result.rounds.reduce((a, r) => a + r.participants, 0);
}

describe('parallel clients: workers = 2 gives the sequential run bit for bit', () => {
  it('MNIST, 6 clients, distributed DP with seeded per-client noise', async () => {
    const { sequential, parallel } = await pair({ dataset: 'mnist', dataDir: SHARED_DATA_DIR, clients: 6, rounds: 2, trainLimit: 1200, testLimit: 200, samplingRate: 1, seededNoise: true, job: { dp } });
    expect(sequential.result.status).toBe('completed');
    expect(sequential.trainingWorkers).toBeUndefined();
    expect(parallel.trainingWorkers).toMatchObject({ count: 2, tasks: trainTasks(parallel) });
    expect(trainTasks(parallel)).toBe(12);
    expect(parallel.trainingWorkers?.initMs).toHaveLength(2);
    // How the run was spent: each worker's busy and CPU time, and the main thread's CPU (Linux: /proc/thread-self).
    expect(parallel.trainingWorkers?.activity).toHaveLength(2);
    for (const a of parallel.trainingWorkers?.activity ?? []) expect(a.cpuMs).toBeGreaterThan(0);
    expect(parallel.trainingWorkers?.mainThreadCpuMs).toBeGreaterThan(0);
    // The central evaluation ran on the workers (simulations/pool-evaluation.ts) and gave the same figures.
    expect(parallel.result.rounds.map((r) => [r.accuracy, r.loss])).toEqual(sequential.result.rounds.map((r) => [r.accuracy, r.loss]));
    // DP really ran: every round charged the ledger's ε.
    for (const r of parallel.result.rounds) expect(slotOf(r, 'privacy').epsilon).toBeGreaterThan(0);
    expect(bits(parallel.result.weights).equals(bits(sequential.result.weights))).toBe(true);
    expect(parallel.result.final).toEqual(sequential.result.final);
  }, 120_000);

  it('Adult, 8 clients, distributed DP inside secure aggregation', async () => {
    const { sequential, parallel } = await pair({
      dataset: 'adult',
      dataDir: SHARED_DATA_DIR,
      clients: 8,
      rounds: 2,
      trainLimit: 1600,
      testLimit: 300,
      samplingRate: 1,
      minClients: 4,
      checkContract: false,
      seededNoise: true,
      job: { dp, secagg: { enabled: true, weighting: 'uniform', clipRange: 5 } },
    });
    expect(sequential.result.status).toBe('completed');
    expect(parallel.trainingWorkers).toMatchObject({ count: 2, tasks: 16 });
    for (const r of parallel.result.rounds) expect(slotOf(r, 'secagg')).toMatchObject({ clients: 8, survivors: 8 });
    expect(bits(parallel.result.weights).equals(bits(sequential.result.weights))).toBe(true);
  }, 120_000);
});
