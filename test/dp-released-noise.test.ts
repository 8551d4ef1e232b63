/**
 * The noise in the RELEASED sum has the accounted std (issue 11 §2), for local, distributed and central placement,
 * with and without secure aggregation. Each of n = m = 4 clients clips a real update direction to C = 1 and adds
 * its noise share (privacy/dp/placement.ts, the production CSPRNG); under secure aggregation each input is
 * quantised by the job's own plan (planForJob: the plan both sides use), summed by the REAL SecAgg client and
 * server state machines (test/secagg-harness.ts, masks and all), unmasked and dequantised as the coordinator does
 * (toAggregate); under central placement the coordinator's noise is added after. The released sum minus the
 * known sum of clipped updates is the noise: its std over K = 40 000 coordinates must be within 2 % of σC.
 * Sampling error of the std estimate is 1/√(2K) ≈ 0.35 %, so 2 % is 5.7 standard errors: a correct pipeline
 * fails with probability ~1e-8, and a pipeline that cuts the noise (the old clamp to [−r, r] with r = C: std
 * 0.88) fails by ≥ 4 % — the attack case at the end runs exactly that pipeline and shows it is caught.
 */
import { describe, expect, it } from 'vitest';
import { toAggregate } from '../coordinator/secagg-round.ts';
import { clipL2 } from '../privacy/dp/clip.ts';
import { addGaussianNoise, gaussianNoise } from '../privacy/dp/gaussian.ts';
import { noiseStdPerClient, noiseStdServer } from '../privacy/dp/placement.ts';
import { cryptoRandom } from '../privacy/random.ts';
import { planForJob } from '../privacy/secagg/job-plan.ts';
import { encodeForSecAgg, type SecAggPlan } from '../privacy/secagg/plan.ts';
import { quantizationParams } from '../privacy/secagg/quantize.ts';
import type { DpPlacement } from '../protocol/job/dp.ts';
import { parseJobSpec } from '../protocol/job/spec.ts';
import { runRound } from './secagg-harness.ts';

const K = 40_000;
const N = 4;
const SIGMA = 1;
const C = 1;
const TOLERANCE = 0.02;

function jobFor(placement: DpPlacement, secure: boolean) {
  return parseJobSpec({
    model: { kind: 'logistic', inputs: 4, classes: 2 },
    data: { dataset: 'adult' },
    rounds: 1,
    sampling: { mode: 'poisson', rate: 1 },
    minClients: N,
    dp: { enabled: true, placement, trustedCoordinator: placement === 'central', epsilon: 10, noiseMultiplier: SIGMA, clipNorm: C },
    secagg: { enabled: secure, degree: N - 1, threshold: N - 1, weighting: 'uniform', clipRange: C },
  });
}

/** Each client's update: a random direction with norm 3C, clipped to C (so every coordinate is within ±C). */
function clippedUpdates(): Float32Array[] {
  const rng = cryptoRandom();
  return Array.from({ length: N }, () => clipL2(Float32Array.from(gaussianNoise(K, 1, rng), (x) => (x * 3 * C) / Math.sqrt(K)), C).clipped);
}

/** Secure aggregation of the noised inputs with the real client/server state machines; returns the dequantised sum. */
function secureSum(plan: SecAggPlan, noised: Float32Array[]): Float64Array {
  const rng = cryptoRandom();
  const inputs = noised.map((u) => encodeForSecAgg(plan, u, 1, rng));
  const round = runRound({ n: N, k: plan.k, t: plan.t, dim: plan.dim, seed: 'released-noise', inputs });
  if (!round.result) throw new Error(`secure round failed: ${round.error?.message ?? 'no result'}`);
  return toAggregate(plan, round.result.sum, round.result.survivors.length).sum;
}

function releasedNoiseStd(placement: DpPlacement, secure: boolean, planOverride?: (p: SecAggPlan) => SecAggPlan): number {
  const job = jobFor(placement, secure);
  const updates = clippedUpdates();
  const rng = cryptoRandom();
  const clientStd = noiseStdPerClient({ placement, sigma: SIGMA, clipNorm: C, minSurvivors: N });
  const serverStd = noiseStdServer({ placement, sigma: SIGMA, clipNorm: C, minSurvivors: N });
  // The client mod's order: clip (done), then add this client's share (client/mods/dp.ts).
  const noised = updates.map((u) => (clientStd > 0 ? addGaussianNoise(u, clientStd, rng) : u));
  let sum: Float64Array;
  if (secure) {
    const plan = planForJob(job, N, K);
    sum = secureSum(planOverride ? planOverride(plan) : plan, noised);
  } else {
    sum = new Float64Array(K);
    for (const u of noised) for (let i = 0; i < K; i++) sum[i] = (sum[i] as number) + (u[i] as number);
  }
  // The coordinator's noise after the sum is released to it (central placement; coordinator/features/dp-strategy.ts).
  const server = gaussianNoise(K, serverStd, rng);
  let s2 = 0;
  for (let i = 0; i < K; i++) {
    let truth = 0;
    for (const u of updates) truth += u[i] as number;
    const e = (sum[i] as number) + (server[i] as number) - truth;
    s2 += e * e;
  }
  return Math.sqrt(s2 / K);
}

describe('noise std of the released sum = accounted σC within 2 %', () => {
  for (const placement of ['local', 'distributed', 'central'] as const) {
    for (const secure of [false, true]) {
      // Local placement: every client adds the full σC, so the sum of n carries √n·σC (≥ the accounted σC).
      const expected = placement === 'local' ? Math.sqrt(N) * SIGMA * C : SIGMA * C;
      it(`${placement}, ${secure ? 'secure aggregation' : 'plain'}: std ${expected}`, () => {
        const std = releasedNoiseStd(placement, secure);
        expect(Math.abs(std / expected - 1)).toBeLessThanOrEqual(TOLERANCE);
      });
    }
  }

  it('the plan quantises DP inputs without clamping, over a range that leaves room for the noise', () => {
    const plan = planForJob(jobFor('distributed', true), N, K);
    expect(plan.quant.mode).toBe('modular');
    // C + 10·σC/√m = 1 + 10·0.5.
    expect(plan.quant.clipRange).toBe(6);
  });

  it('ATTACK: the old pipeline (clamp the noised value to [−r, r], r = C) cuts the noise and is caught', () => {
    const clamped = (p: SecAggPlan): SecAggPlan => ({ ...p, quant: quantizationParams({ clipRange: C, clients: N }) });
    const std = releasedNoiseStd('distributed', true, clamped);
    // With these small update coordinates the clamp leaves ≈ 0.96 (issue 11 measured 0.88 for coordinates near
    // the range's edge), so the clamped pipeline fails the very check the honest pipeline passes: its deficit of
    // ≈ 0.04 lies ≈ 5.7 standard errors (1/√(2K) ≈ 0.0035) above the 2 % band, so this fails by chance with
    // probability < 1e-8, while a deficit-free pipeline would pass it.
    expect(1 - std / (SIGMA * C)).toBeGreaterThan(TOLERANCE);
  });
});
