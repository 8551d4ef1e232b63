/**
 * The exact discrete Gaussian sampler (Canonne, Kamath & Steinke 2020, Algorithms 1–3) against its exact pmf:
 * chi-square over the support (cells with expected count ≥ 5, the rest pooled into the two tails), the tail mass
 * beyond 3σ, and the variance. A fixed seed makes the seeded runs reproducible; one run per σ also draws from the
 * operating system's CSPRNG (the production source) at a critical value exceeded by chance with probability ~1e-6.
 */
import { describe, expect, it } from 'vitest';
import { cryptoRandom, seededRandom, type RandomSource } from '../random.ts';
import { bernoulliExpNeg, discreteGaussianPmf, discreteGaussianSampler, rationalOf } from './discrete-gaussian.ts';

/** Wilson–Hilferty approximation of the chi-square quantile with k degrees of freedom at standard normal z. */
function chiSquareCritical(k: number, z: number): number {
  return k * (1 - 2 / (9 * k) + z * Math.sqrt(2 / (9 * k))) ** 3;
}

function chiSquare(samples: Float64Array, sigma2: number): { stat: number; dof: number } {
  const reach = Math.ceil(8 * Math.sqrt(sigma2)) + 2;
  const pmf = discreteGaussianPmf(sigma2, -reach, reach);
  const n = samples.length;
  // Cells: integers whose expected count is ≥ 5, plus the two pooled tails.
  let lo = 0;
  while (lo < reach && (pmf[reach + lo] as number) * n >= 5) lo++;
  const edge = lo - 1; // cells −edge … edge
  const counts = new Map<number, number>();
  let left = 0;
  let right = 0;
  for (const x of samples) {
    if (x < -edge) left++;
    else if (x > edge) right++;
    else counts.set(x, (counts.get(x) ?? 0) + 1);
  }
  let tail = 0;
  for (let x = edge + 1; x <= reach; x++) tail += pmf[reach + x] as number;
  let stat = 0;
  for (let x = -edge; x <= edge; x++) {
    const e = (pmf[reach + x] as number) * n;
    const o = counts.get(x) ?? 0;
    stat += (o - e) ** 2 / e;
  }
  const te = tail * n;
  if (te > 0) stat += (left - te) ** 2 / te + (right - te) ** 2 / te;
  return { stat, dof: 2 * edge + 1 + (te > 0 ? 2 : 0) - 1 };
}

function draw(sigma2: number, n: number, rng: RandomSource): Float64Array {
  const s = discreteGaussianSampler(sigma2);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = s.sample(rng);
  return out;
}

describe('exact discrete Gaussian sampling', () => {
  for (const sigma2 of [0.25, 2.25, 30.25, 1e4]) {
    it(`σ² = ${sigma2}: chi-square over the support and tails, tail mass beyond 3σ, variance`, () => {
      const n = 40_000;
      for (const [name, rng, z] of [['seeded', seededRandom(`dg-${sigma2}`), 3.72], ['CSPRNG', cryptoRandom(), 4.75]] as const) {
        const xs = draw(sigma2, n, rng);
        const { stat, dof } = chiSquare(xs, sigma2);
        expect(stat, `${name}: χ² = ${stat.toFixed(1)} on ${dof} dof`).toBeLessThan(chiSquareCritical(dof, z));
        // Tail: P[|X| > 3σ] from the exact pmf, against a 5-standard-error band of the binomial count.
        const s = Math.sqrt(sigma2);
        const reach = Math.ceil(12 * s) + 2;
        const pmf = discreteGaussianPmf(sigma2, -reach, reach);
        let p = 0;
        for (let x = -reach; x <= reach; x++) if (Math.abs(x) > 3 * s) p += pmf[x + reach] as number;
        const observed = xs.filter((x) => Math.abs(x) > 3 * s).length;
        expect(Math.abs(observed - n * p)).toBeLessThan(5 * Math.sqrt(n * p * (1 - p)) + 1);
        // Variance of N_Z(0, σ²) from the pmf (< σ² for small σ: CKS 2020, Corollary 9), within 6 standard errors.
        let v = 0;
        let m4 = 0;
        for (let x = -reach; x <= reach; x++) {
          v += x * x * (pmf[x + reach] as number);
          m4 += x ** 4 * (pmf[x + reach] as number);
        }
        const sample = xs.reduce((a, x) => a + x * x, 0) / n;
        expect(Math.abs(sample - v)).toBeLessThan(6 * Math.sqrt((m4 - v * v) / n));
        expect(v).toBeLessThanOrEqual(sigma2 + 1e-12);
      }
    });
  }

  it('Bernoulli(exp(−γ)) hits its probability for γ below, at and above 1 (Algorithm 1)', () => {
    const rng = seededRandom('bern');
    for (const [n, d] of [[1n, 3n], [1n, 1n], [7n, 2n]] as const) {
      const trials = 40_000;
      let hits = 0;
      for (let i = 0; i < trials; i++) if (bernoulliExpNeg(rng, n, d)) hits++;
      const p = Math.exp(-Number(n) / Number(d));
      expect(Math.abs(hits - trials * p)).toBeLessThan(5 * Math.sqrt(trials * p * (1 - p)));
    }
  });

  it('a float64 variance is read as its exact dyadic rational', () => {
    expect(rationalOf(0.75)).toEqual({ n: 3n, d: 4n });
    const r = rationalOf(0.1);
    expect(Number(r.n) / Number(r.d)).toBe(0.1);
    expect(r.d).toBe(2n ** 55n);
  });
});
