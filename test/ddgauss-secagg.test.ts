/**
 * The distributed discrete Gaussian through the REAL secure-aggregation path (issue 19 §1): each client's update is
 * clipped, rotated, scaled, conditionally rounded, noised with the exact discrete Gaussian and reduced modulo 2^b by
 * the job's own plan (planForJob → encodeForSecAgg, what client/secure-aggregation.ts runs), masked and summed by
 * the real SecAgg client and server state machines (test/secagg-harness.ts) with clients dropping out, and decoded
 * as the coordinator does (toAggregate).
 *  - The unmasked sum is EXACTLY the modular sum of the survivors' integer inputs (no rounding after the clients).
 *  - With zero updates, the decoded integers are the survivors' summed noise: a chi-square test against the exact
 *    pmf of N_Z(0, n′σ_int²) (Kairouz et al. 2021, Theorem 1: τ ≈ 1e-38 here) and its variance n′σ_int², the
 *    variance the ledger charges for n′ survivors.
 *  - With real updates the decoded mean is the survivors' mean clipped update plus that noise.
 */
import { describe, expect, it } from 'vitest';
import { toAggregate } from '../coordinator/secagg-round.ts';
import { clipL2 } from '../privacy/dp/clip.ts';
import { discreteGaussianPmf } from '../privacy/dp/discrete-gaussian.ts';
import { centredResidues } from '../privacy/dp/ddgauss/codec.ts';
import { gaussianNoise } from '../privacy/dp/gaussian.ts';
import { cryptoRandom, seededRandom } from '../privacy/random.ts';
import { planForJob } from '../privacy/secagg/job-plan.ts';
import { encodeForSecAgg } from '../privacy/secagg/plan.ts';
import { parseJobSpec } from '../protocol/job/spec.ts';
import { plainSum, runRound, type DropPoint } from './secagg-harness.ts';

const N = 6;
const C = 1;

function ddgaussJob(o: { bits: number; granularity: number; sigma: number }) {
  return parseJobSpec({
    model: { kind: 'logistic', inputs: 4, classes: 2 },
    data: { dataset: 'adult' },
    rounds: 1,
    sampling: { mode: 'poisson', rate: 1 },
    minClients: 4,
    dp: { enabled: true, placement: 'distributed', epsilon: 10, noiseMultiplier: o.sigma, clipNorm: C, mechanism: 'ddgauss', ddgauss: { bits: o.bits, granularity: o.granularity } },
    secagg: { enabled: true, degree: N - 1, threshold: 4, weighting: 'uniform' },
  });
}

function secureRound(job: ReturnType<typeof ddgaussJob>, updates: Float32Array[], drops: ReadonlyMap<number, DropPoint>) {
  const plan = planForJob(job, N, updates[0]?.length ?? 0, [], { jobId: 'job-ddg', round: 3 });
  const rng = cryptoRandom();
  const inputs = updates.map((u) => encodeForSecAgg(plan, u, 1, rng));
  const round = runRound({ n: N, k: plan.k, t: plan.t, dim: plan.dim, seed: 'ddgauss', inputs, drops });
  if (!round.result) throw new Error(`secure round failed: ${round.error?.message ?? 'no result'}`);
  return { plan, inputs, result: round.result };
}

describe('distributed discrete Gaussian under secure aggregation', () => {
  it('the unmasked sum is exactly the survivors’ modular sum, with dropouts, at b = 32 and b = 20', () => {
    for (const bits of [32, 20]) {
      const job = ddgaussJob({ bits, granularity: 1e-3, sigma: 1 });
      const rng = cryptoRandom();
      const updates = Array.from({ length: N }, () => clipL2(Float32Array.from(gaussianNoise(300, 1, rng)), C).clipped);
      // Client 1 goes silent before sending its masked input, client 4 right after: 4 is in the sum, 1 is not.
      const { plan, inputs, result } = secureRound(job, updates, new Map<number, DropPoint>([[1, 'share-keys'], [4, 'masked-input']]));
      const survivors = result.survivors.map((id) => Number(id.split('-')[1]));
      expect(survivors.sort()).toEqual([0, 2, 3, 4, 5]);
      expect(Array.from(result.sum)).toEqual(Array.from(plainSum(inputs, survivors, plan.dim)));
      for (const x of inputs.flatMap((v) => Array.from(v))) expect(x).toBeLessThan(2 ** bits);
      // Decoded: the survivors' summed clipped updates plus noise of std √5·σ_local = √5·C/√4 per coordinate.
      const agg = toAggregate(plan, result.sum, survivors.length);
      let sq = 0;
      for (let i = 0; i < 300; i++) {
        const truth = survivors.reduce((s, c) => s + (updates[c]?.[i] as number), 0);
        sq += ((agg.sum[i] as number) - truth) ** 2;
      }
      const std = Math.sqrt(sq / 300);
      expect(std).toBeGreaterThan(Math.sqrt(5 / 4) * 0.8);
      expect(std).toBeLessThan(Math.sqrt(5 / 4) * 1.2);
    }
  });

  it('the survivors’ summed noise is N_Z(0, n′σ_int²): chi-square over the support and the accounted variance', () => {
    // σ_local = σC/√m = 0.75·1/2; γ = 0.125 → σ_int = 3, the pmf resolves every integer.
    const job = ddgaussJob({ bits: 32, granularity: 0.125, sigma: 0.75 });
    const d = 6000;
    const zeros = Array.from({ length: N }, () => new Float32Array(d));
    const { plan, result } = secureRound(job, zeros, new Map<number, DropPoint>([[2, 'advertise']]));
    const survivors = result.survivors.length;
    expect(survivors).toBe(N - 1);
    const sigmaInt2 = plan.ddgauss?.sigmaIntSquared ?? 0;
    expect(sigmaInt2).toBe(9);
    const noise = centredResidues(result.sum.subarray(0, plan.ddgauss?.rotation.padded), 32);
    const v = survivors * sigmaInt2;
    const reach = Math.ceil(8 * Math.sqrt(v));
    const pmf = discreteGaussianPmf(v, -reach, reach);
    // Cells with expected count ≥ 5, the rest in two tails.
    const n = noise.length;
    let edge = 0;
    while ((pmf[reach + edge + 1] as number) * n >= 5) edge++;
    const counts = new Map<number, number>();
    let left = 0;
    let right = 0;
    for (const x of noise) {
      if (x < -edge) left++;
      else if (x > edge) right++;
      else counts.set(x, (counts.get(x) ?? 0) + 1);
    }
    let tail = 0;
    for (let x = edge + 1; x <= reach; x++) tail += pmf[reach + x] as number;
    let stat = ((left - tail * n) ** 2 + (right - tail * n) ** 2) / (tail * n);
    for (let x = -edge; x <= edge; x++) stat += ((counts.get(x) ?? 0) - (pmf[reach + x] as number) * n) ** 2 / ((pmf[reach + x] as number) * n);
    const dof = 2 * edge + 2;
    // Wilson–Hilferty at z = 4.75 (false alarm ~1e-6: the noise is from the CSPRNG).
    expect(stat).toBeLessThan(dof * (1 - 2 / (9 * dof) + 4.75 * Math.sqrt(2 / (9 * dof))) ** 3);
    const variance = noise.reduce((s, x) => s + x * x, 0) / n;
    // Var of a sample variance ≈ 2v²/n: within 6 standard errors of n′σ_int².
    expect(Math.abs(variance - v)).toBeLessThan(6 * v * Math.sqrt(2 / n));
  });

  it('the rotation is public and fixed by (job, round): both sides derive the same, another round another', () => {
    const job = ddgaussJob({ bits: 32, granularity: 1e-3, sigma: 1 });
    const a = planForJob(job, N, 100, [], { jobId: 'j', round: 1 }).ddgauss?.rotation.signs;
    const b = planForJob(job, N, 100, [], { jobId: 'j', round: 1 }).ddgauss?.rotation.signs;
    const c = planForJob(job, N, 100, [], { jobId: 'j', round: 2 }).ddgauss?.rotation.signs;
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(() => planForJob(job, N, 100)).toThrow(/rotation/);
    // The rounding randomness is not the noise: a seeded source reproduces the whole input (simulations).
    const u = clipL2(Float32Array.from(gaussianNoise(100, 1, seededRandom('u'))), C).clipped;
    const plan = planForJob(job, N, 100, [], { jobId: 'j', round: 1 });
    expect(encodeForSecAgg(plan, u, 1, seededRandom('x'))).toEqual(encodeForSecAgg(plan, u, 1, seededRandom('x')));
  });
});
