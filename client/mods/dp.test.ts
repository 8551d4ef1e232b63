/**
 * The client's DP mod on real noise (CSPRNG): the clipped update never exceeds C, and the noise each client
 * adds has the standard deviation its placement prescribes (privacy/dp/placement.ts): σC/√m distributed with
 * m = max(minClients, pinned secure-aggregation threshold), σC local, none central. Tolerances: the sample
 * standard deviation of n Gaussian draws has relative standard error ≈ 1/√(2n); 6 standard errors are allowed.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/logger.ts';
import { l2Norm } from '../../privacy/dp/clip.ts';
import { cryptoRandom } from '../../privacy/random.ts';
import { parseJobSpec, type JobSpecInput } from '../../protocol/job/spec.ts';
import type { TrainTask } from '../../protocol/messages.ts';
import { encodeFloat32 } from '../../protocol/tensor.ts';
import { assertDpLast, standardClientMods } from './index.ts';
import { dpClientMod } from './dp.ts';
import { PERMISSIVE_RESEARCH_POLICY } from '../policy/schema.ts';
import type { ClientMod } from './mod.ts';

const N = 40_000;

function run(job: Partial<JobSpecInput>, update: Float32Array): { update: Float32Array; clipped?: boolean; unclippedIndicator?: number } {
  const spec = parseJobSpec({ model: { kind: 'logistic', inputs: 4, classes: 2 }, data: { dataset: 'adult' }, rounds: 1, sampling: { mode: 'poisson', rate: 0.1 }, ...job });
  const task: TrainTask = { type: 'train', jobId: 'job', round: 1, taskId: 'task', job: spec, weights: encodeFloat32(new Float32Array(4)), deadlineMs: 1000 };
  const mod = dpClientMod({ rng: cryptoRandom() });
  const out = mod.transformUpdate?.(update, { task, clientId: 'c', orgId: 'o', logger: silentLogger() });
  if (!out) throw new Error('no transform');
  const dp = out.features?.dp;
  const indicator = out.extensions?.adaptiveClipping?.[0];
  return { update: out.update, ...(dp?.clipped !== undefined ? { clipped: dp.clipped } : {}), ...(indicator !== undefined ? { unclippedIndicator: indicator } : {}) };
}

function sampleStd(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s / v.length);
}

const within = (std: number, expected: number): void => {
  expect(Math.abs(std / expected - 1)).toBeLessThan(6 / Math.sqrt(2 * N));
};

describe('DP client mod', () => {
  it('distributed: clips to C and adds N(0, σ²C²/m), m = minClients', () => {
    const big = new Float32Array(N).fill(1); // norm 200 ≫ C
    const out = run({ minClients: 10, dp: { enabled: true, epsilon: 3, noiseMultiplier: 1.5, clipNorm: 2 } }, new Float32Array(N));
    expect(out.clipped).toBe(false);
    within(sampleStd(out.update), (1.5 * 2) / Math.sqrt(10));
    const clipped = run({ minClients: 10, dp: { enabled: true, placement: 'central', trustedCoordinator: true, epsilon: 3, noiseMultiplier: 1.5, clipNorm: 2 } }, big);
    expect(clipped.clipped).toBe(true);
    expect(l2Norm(clipped.update)).toBeLessThanOrEqual(2 + 1e-6);
  });

  it('distributed with a pinned secure-aggregation threshold: m = max(minClients, t)', () => {
    const out = run({ minClients: 2, secagg: { enabled: true, degree: 9, threshold: 8, weighting: 'uniform' }, dp: { enabled: true, epsilon: 3, noiseMultiplier: 1, clipNorm: 1 } }, new Float32Array(N));
    within(sampleStd(out.update), 1 / Math.sqrt(8));
  });

  it('local adds the full σC; central adds nothing (the trusted coordinator does)', () => {
    within(sampleStd(run({ minClients: 10, dp: { enabled: true, placement: 'local', epsilon: 3, noiseMultiplier: 0.7, clipNorm: 3 } }, new Float32Array(N)).update), 0.7 * 3);
    const update = Float32Array.from({ length: 100 }, (_, i) => (i % 7) / 1000);
    const central = run({ dp: { enabled: true, placement: 'central', trustedCoordinator: true, epsilon: 3, noiseMultiplier: 1, clipNorm: 1 } }, update);
    expect(Array.from(central.update)).toEqual(Array.from(update));
  });

  it('leaves the update alone without DP', () => {
    const update = Float32Array.from([3, 4]);
    expect(run({}, update)).toEqual({ update });
  });

  it('adaptive clipping: clips to the C_t the task carries, reports ±1/2, and uses σ_Δ (Andrew et al. 2021, Thm 1)', () => {
    const ac = { enabled: true, countNoiseStd: 5, minClipNorm: 0.5, maxClipNorm: 10 };
    const central = { enabled: true, placement: 'central' as const, trustedCoordinator: true, epsilon: 3, noiseMultiplier: 1, adaptiveClipping: ac };
    const big = Float32Array.from([30, 40]); // norm 50
    const clipped = run({ dp: { ...central, clipNorm: 2 } }, big);
    expect(l2Norm(clipped.update)).toBeLessThanOrEqual(2 + 1e-6);
    expect(clipped).toMatchObject({ clipped: true, unclippedIndicator: -0.5 }); // central: the coordinator adds the count noise
    expect(run({ dp: { ...central, clipNorm: 9 } }, Float32Array.from([3, 4]))).toMatchObject({ clipped: false, unclippedIndicator: 0.5 });
    // A clip norm outside the job's public bounds is refused (the node declines the task).
    expect(() => run({ dp: { ...central, clipNorm: 20 } }, big)).toThrow(/outside the job's adaptive-clipping bounds/);
    expect(() => run({ dp: { ...central, clipNorm: 0.1 } }, big)).toThrow(/outside/);
    // Without σ_b (the coordinator always sends it) the client cannot derive σ_Δ and refuses.
    expect(() => run({ dp: { ...central, clipNorm: 2, adaptiveClipping: { enabled: true } } }, big)).toThrow(/countNoiseStd/);
    // Under secure aggregation the indicator is a secure extension: the same value, carried inside the masked input.
    expect(run({ secagg: { enabled: true, weighting: 'uniform' }, dp: { ...central, placement: 'central', clipNorm: 2 } }, big)).toMatchObject({ clipped: true, unclippedIndicator: -0.5 });
  });

  it('adaptive clipping, distributed: update noise σ_Δ·C/√m and count noise σ_b/√m', () => {
    const sigma = 1;
    const sigmaB = 2;
    const sigmaDelta = (sigma ** -2 - (2 * sigmaB) ** -2) ** -0.5;
    const job = { minClients: 10, dp: { enabled: true, epsilon: 3, noiseMultiplier: sigma, clipNorm: 3, adaptiveClipping: { enabled: true, countNoiseStd: sigmaB } } };
    within(sampleStd(run(job, new Float32Array(N)).update), (sigmaDelta * 3) / Math.sqrt(10));
    const draws = 4000;
    const counts = new Float32Array(draws);
    for (let i = 0; i < draws; i++) counts[i] = (run(job, Float32Array.from([0, 0])).unclippedIndicator ?? NaN) - 0.5;
    expect(Math.abs(sampleStd(counts) / (sigmaB / Math.sqrt(10)) - 1)).toBeLessThan(6 / Math.sqrt(2 * draws));
  });

  it('runs last among the standard mods, and refuses a transform after it', () => {
    const mods = standardClientMods({ policy: PERMISSIVE_RESEARCH_POLICY });
    expect(mods.at(-1)?.name).toBe('dp');
    const late: ClientMod = { name: 'late', transformUpdate: (u) => ({ update: u }) };
    expect(() => assertDpLast([...mods, late])).toThrow(/late/);
  });
});
