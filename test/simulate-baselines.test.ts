/**
 * `tessera simulate --baselines` (issue 18 §3): pooled, local-only and (with DP) non-private FedAvg trained on the
 * same split and seed as the federation, on real data.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logger.ts';
import { runSimulation } from '../simulations/simulate.ts';
import { cli } from './support/cli.ts';
import { SHARED_DATA_DIR } from './paths.ts';

describe('simulate --baselines', () => {
  it('on a non-IID MNIST split, pooled training beats clients training alone, and the federation sits between', async () => {
    // Dirichlet α = 0.1: most clients hold one or two digits, so a client alone cannot classify the others.
    const sim = await runSimulation({ dataset: 'mnist', clients: 5, rounds: 2, partition: 'dirichlet:0.1', trainLimit: 2000, testLimit: 500, seed: 3, baselines: true }, { logger: silentLogger() });
    const b = sim.baselines;
    expect(b).toBeDefined();
    if (!b) return;
    expect(b.pooled.examples).toBe(2000);
    expect(b.pooled.epochs).toBe(2);
    expect(b.local.clients).toBe(b.local.perClient.length);
    expect(b.local.clients).toBeGreaterThanOrEqual(4);
    expect(b.local.accuracy).toBeCloseTo(b.local.perClient.reduce((a, c) => a + c.accuracy, 0) / b.local.clients, 12);
    // The price of going alone on skewed data is large; pooling (the federation's upper reference) is far better.
    expect(b.pooled.accuracy).toBeGreaterThan(b.local.accuracy + 0.2);
    expect(b.pooled.loss).toBeLessThan(b.local.loss);
    expect(sim.result.final.accuracy).not.toBeNull();
    expect(sim.result.final.accuracy ?? 0).toBeGreaterThan(b.local.accuracy);
    // No DP: no non-private reference to report.
    expect(b.nonPrivate).toBeUndefined();
  }, 120_000);

  it('--json reports pooled, local and, for a DP job, the same federation without DP', async () => {
    const r = await cli('simulate', '--dataset', 'heart', '--data-dir', SHARED_DATA_DIR, '--rounds', '2', '--sampling-rate', '1', '--min-clients', '3', '--dp-epsilon', '2', '--dp-noise-multiplier', '3', '--dp-clip', '1', '--seeded-noise', '--baselines', '--json');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { final: { accuracy: number }; baselines: { pooled: { accuracy: number; loss: number }; local: { accuracy: number; loss: number }; nonPrivate: { accuracy: number; loss: number; status: string; rounds: number } } };
    for (const k of ['pooled', 'local', 'nonPrivate'] as const) {
      expect(doc.baselines[k].accuracy).toBeGreaterThan(0.4);
      expect(doc.baselines[k].accuracy).toBeLessThanOrEqual(1);
      expect(doc.baselines[k].loss).toBeGreaterThan(0);
    }
    expect(doc.baselines.nonPrivate).toMatchObject({ status: 'completed', rounds: 2 });
    // The non-private run is a different federation from the DP one (σ = 3 on three hospitals is heavy noise).
    expect(doc.baselines.nonPrivate.accuracy).not.toBe(doc.final.accuracy);
  }, 150_000);
});
