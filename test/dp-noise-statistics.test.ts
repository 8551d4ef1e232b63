/**
 * The noise actually added, checked statistically with the production CSPRNG (cryptoRandom).
 *
 * Distributed placement: each of m clients adds N(0, σ²C²/m) to every coordinate of its update; the sum over m
 * clients must be N(0, σ²C²). With K independent coordinates x_k of the sum and the mean known to be 0,
 * V = Σ x_k²/(σC)² follows χ²_K, with mean K and variance 2K. For K = 20 000 the normal approximation of χ²_K
 * is accurate (skewness √(8/K) = 0.02), so the test accepts |V/K − 1| ≤ 6·√(2/K) ≈ 0.060: a correct sampler
 * fails it with probability about 2e-9. A wrong split (σC/m instead of σC/√m) gives V/K ≈ 1/m = 0.1 and fails.
 * The mean is checked the same way: Σx_k/(σC√K) ~ N(0, 1), accepted within ±6.
 */
import { describe, expect, it } from 'vitest';
import { clipL2, l2Norm } from '../privacy/dp/clip.ts';
import { addGaussianNoise } from '../privacy/dp/gaussian.ts';
import { noiseStdPerClient, noiseStdServer } from '../privacy/dp/placement.ts';
import type { DpPlacement } from '../protocol/job/dp.ts';
import { cryptoRandom } from '../privacy/random.ts';

const K = 20_000;
const Z = 6;

function summedNoise(placement: DpPlacement, sigma: number, clipNorm: number, m: number, clientsInRound: number): Float64Array {
  const rng = cryptoRandom();
  const clientStd = noiseStdPerClient({ placement, sigma, clipNorm, minSurvivors: m });
  const serverStd = noiseStdServer({ placement, sigma, clipNorm, minSurvivors: m });
  const sum = new Float64Array(K);
  const zero = new Float32Array(K);
  for (let c = 0; c < clientsInRound; c++) {
    const noised = addGaussianNoise(zero, clientStd, rng);
    for (let k = 0; k < K; k++) sum[k] = (sum[k] as number) + (noised[k] as number);
  }
  const server = addGaussianNoise(zero, serverStd, rng);
  for (let k = 0; k < K; k++) sum[k] = (sum[k] as number) + (server[k] as number);
  return sum;
}

function varianceRatio(x: Float64Array, std: number): { ratio: number; meanZ: number } {
  let s = 0;
  let s2 = 0;
  for (const v of x) {
    s += v;
    s2 += v * v;
  }
  return { ratio: s2 / (x.length * std * std), meanZ: s / (std * Math.sqrt(x.length)) };
}

const TOL = Z * Math.sqrt(2 / K);

describe('noise on the released sum', () => {
  it(`distributed: m clients × N(0, σ²C²/m) sum to std σC (|V/K − 1| ≤ ${TOL.toFixed(3)})`, () => {
    const sigma = 1.3;
    const C = 0.8;
    const m = 10;
    const { ratio, meanZ } = varianceRatio(summedNoise('distributed', sigma, C, m, m), sigma * C);
    expect(Math.abs(ratio - 1)).toBeLessThanOrEqual(TOL);
    expect(Math.abs(meanZ)).toBeLessThanOrEqual(Z);
  });

  it('distributed with more survivors than m only adds noise (variance s/m · σ²C²)', () => {
    const { ratio } = varianceRatio(summedNoise('distributed', 1, 1, 8, 12), 1);
    expect(Math.abs(ratio / (12 / 8) - 1)).toBeLessThanOrEqual(TOL);
  });

  it('central: the coordinator alone adds σC', () => {
    const { ratio } = varianceRatio(summedNoise('central', 0.9, 2, 5, 5), 1.8);
    expect(Math.abs(ratio - 1)).toBeLessThanOrEqual(TOL);
  });

  it('the test has power: a σC/m split is detected', () => {
    const rng = cryptoRandom();
    const m = 10;
    const sum = new Float64Array(K);
    for (let c = 0; c < m; c++) {
      const n = addGaussianNoise(new Float32Array(K), 1 / m, rng);
      for (let k = 0; k < K; k++) sum[k] = (sum[k] as number) + (n[k] as number);
    }
    expect(Math.abs(varianceRatio(sum, 1).ratio - 1)).toBeGreaterThan(TOL);
  });

  it('one client’s noise is Gaussian: 68.27% within 1 std, 95.45% within 2 (±6 binomial sd)', () => {
    const x = addGaussianNoise(new Float32Array(200_000), 1, cryptoRandom());
    for (const [k, p] of [[1, 0.682689492], [2, 0.954499736]] as const) {
      const inside = x.filter((v) => Math.abs(v) <= k).length / x.length;
      expect(Math.abs(inside - p)).toBeLessThanOrEqual(Z * Math.sqrt((p * (1 - p)) / x.length));
    }
  });
});

describe('clipping before noise', () => {
  it('no clipped update exceeds C + 1e-6 (5 000 random updates, heavy-tailed norms)', () => {
    const rng = cryptoRandom();
    for (let i = 0; i < 5000; i++) {
      const d = 1 + (rng.nextUint32() % 200);
      const scale = 10 ** (rng.nextFloat() * 8 - 4);
      const u = addGaussianNoise(new Float32Array(d), scale, rng);
      const C = 10 ** (rng.nextFloat() * 4 - 2);
      expect(l2Norm(clipL2(u, C).clipped)).toBeLessThanOrEqual(C + 1e-6);
    }
  });
});
