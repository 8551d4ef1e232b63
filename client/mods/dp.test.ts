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
import type { ClientMod } from './mod.ts';

const N = 40_000;

function run(job: Partial<JobSpecInput>, update: Float32Array): { update: Float32Array; clipped?: boolean } {
  const spec = parseJobSpec({ model: { kind: 'logistic', inputs: 4, classes: 2 }, data: { dataset: 'adult' }, rounds: 1, sampling: { mode: 'poisson', rate: 0.1 }, ...job });
  const task: TrainTask = { type: 'train', jobId: 'job', round: 1, taskId: 'task', job: spec, weights: encodeFloat32(new Float32Array(4)), deadlineMs: 1000 };
  const mod = dpClientMod({ rng: cryptoRandom() });
  const out = mod.transformUpdate?.(update, { task, clientId: 'c', orgId: 'o', logger: silentLogger() });
  if (!out) throw new Error('no transform');
  return out;
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

  it('leaves the update alone without DP, and refuses adaptive clipping (not carried by rounds)', () => {
    const update = Float32Array.from([3, 4]);
    expect(run({}, update)).toEqual({ update });
    expect(() => run({ dp: { enabled: true, epsilon: 3, noiseMultiplier: 1, adaptiveClipping: { enabled: true, countNoiseStd: 5 } } }, update)).toThrow(/adaptive clipping/);
  });

  it('runs last among the standard mods, and refuses a transform after it', () => {
    const mods = standardClientMods({});
    expect(mods.at(-1)?.name).toBe('dp');
    const late: ClientMod = { name: 'late', transformUpdate: (u) => ({ update: u }) };
    expect(() => assertDpLast([...mods, late])).toThrow(/late/);
  });
});
