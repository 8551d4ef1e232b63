import { describe, expect, it } from 'vitest';
import { isTesseraError } from '../../protocol/errors.ts';
import { cryptoRandom, seededRandom } from '../random.ts';
import { adaptiveClipNoise, combinedNoiseMultiplier, nextClipNorm, unclippedIndicator } from './adaptive-clipping.ts';
import { expectedParticipants, fixedDenominatorEstimate } from './estimator.ts';
import { addGaussianNoise, gaussianNoise } from './gaussian.ts';
import { minSurvivors, noiseStdPerClient, noiseStdServer } from './placement.ts';
import { participationReport, poissonSample, samplingRateForDp } from './sampling.ts';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isTesseraError(e) ? e.code : 'not-a-tessera-error';
  }
  return undefined;
}

describe('noise placement', () => {
  const base = { sigma: 1.2, clipNorm: 0.5, minSurvivors: 16 };
  it('central: only the coordinator adds σC', () => {
    expect(noiseStdPerClient({ placement: 'central', ...base })).toBe(0);
    expect(noiseStdServer({ placement: 'central', ...base })).toBeCloseTo(0.6, 15);
  });
  it('distributed: σC/√m per client, nothing at the coordinator', () => {
    expect(noiseStdPerClient({ placement: 'distributed', ...base })).toBeCloseTo(0.6 / 4, 15);
    expect(noiseStdServer({ placement: 'distributed', ...base })).toBe(0);
  });
  it('local: σC per client', () => {
    expect(noiseStdPerClient({ placement: 'local', ...base })).toBeCloseTo(0.6, 15);
  });
  it('m = max(minClients, secagg threshold)', () => {
    expect(minSurvivors({ minClients: 5, secaggThreshold: 12 })).toBe(12);
    expect(minSurvivors({ minClients: 20, secaggThreshold: 12 })).toBe(20);
    expect(minSurvivors({ minClients: 3 })).toBe(3);
    expect(code(() => minSurvivors({ minClients: 0 }))).toBe('TESSERA_ERR_DP_CONFIG');
  });
});

describe('Gaussian noise', () => {
  it('is reproducible only from a seeded source, which says it is not private', () => {
    const a = gaussianNoise(5, 1, seededRandom(7));
    const b = gaussianNoise(5, 1, seededRandom(7));
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(seededRandom(7).isPrivate).toBe(false);
    expect(cryptoRandom().isPrivate).toBe(true);
  });
  it('std 0 leaves the vector as it was (a copy); negative std is refused', () => {
    const v = Float32Array.from([1, 2, 3]);
    const out = addGaussianNoise(v, 0);
    expect(Array.from(out)).toEqual([1, 2, 3]);
    expect(out).not.toBe(v);
    expect(code(() => addGaussianNoise(v, -1))).toBe('TESSERA_ERR_DP_CONFIG');
  });
  it('odd lengths are filled completely', () => {
    const n = gaussianNoise(7, 1, cryptoRandom());
    expect(n.every((x) => x !== 0)).toBe(true);
  });
});

describe('fixed-denominator estimator (McMahan et al. 2018)', () => {
  it('divides by q·N, not by the realised count', () => {
    const est = fixedDenominatorEstimate({ noisedSum: [10, -5], samplingRate: 0.1, population: 50 });
    expect(Array.from(est)).toEqual([2, -1]);
    expect(expectedParticipants(0.1, 50)).toBeCloseTo(5, 12);
  });
  it('is unbiased for the mean clipped update under Poisson sampling (seeded simulation)', () => {
    const rng = seededRandom('estimator');
    const N = 200;
    const q = 0.2;
    const values = Array.from({ length: N }, (_, i) => (i % 10) / 10); // mean 0.45
    let acc = 0;
    const trials = 2000;
    for (let t = 0; t < trials; t++) {
      const chosen = poissonSample(values, q, rng);
      acc += fixedDenominatorEstimate({ noisedSum: [chosen.reduce((s, v) => s + v, 0)], samplingRate: q, population: N })[0] as number;
    }
    // Std of one estimate = √(Σv²·q(1−q))/(qN) = √(57·0.16)/40 ≈ 0.0755; of the mean over 2000 ≈ 0.00169;
    // allow 5 of those.
    expect(Math.abs(acc / trials - 0.45)).toBeLessThan(5 * 0.00169);
  });
});

describe('Poisson sampling', () => {
  it('participation matches q·N within 5 binomial standard deviations', () => {
    const ids = Array.from({ length: 10_000 }, (_, i) => `org-${i}`);
    const chosen = poissonSample(ids, 0.03);
    const rep = participationReport({ population: ids.length, samplingRate: 0.03, actual: chosen.length });
    expect(rep.expected).toBeCloseTo(300, 9);
    expect(rep.stdDev).toBeCloseTo(Math.sqrt(10_000 * 0.03 * 0.97), 12);
    expect(Math.abs(rep.zScore)).toBeLessThan(5);
    expect(new Set(chosen).size).toBe(chosen.length);
  });
  it('q = 0 and q = 1 are exact', () => {
    expect(poissonSample([1, 2, 3], 0)).toEqual([]);
    expect(poissonSample([1, 2, 3], 1)).toEqual([1, 2, 3]);
  });
  it('fixed-size sampling is refused with DP', () => {
    expect(code(() => samplingRateForDp({ mode: 'fixed', clientsPerRound: 10 }))).toBe('TESSERA_ERR_DP_CONFIG');
    expect(samplingRateForDp({ mode: 'poisson', rate: 0.1 })).toBe(0.1);
  });
});

describe('adaptive clipping (Andrew et al. 2021)', () => {
  it('σ_Δ = (σ^−2 − (2σ_b)^−2)^−1/2 and recombining gives σ back (Theorem 1)', () => {
    const r = adaptiveClipNoise({ noiseMultiplier: 1, expectedParticipants: 100 }); // σ_b = 5 by default
    expect(r.countNoiseStd).toBe(5);
    expect(r.updateNoiseMultiplier).toBeCloseTo((1 - 1 / 100) ** -0.5, 14);
    expect(combinedNoiseMultiplier(r.updateNoiseMultiplier, r.countNoiseStd)).toBeCloseTo(1, 14);
    expect(r.accountedNoiseMultiplier).toBe(1);
  });
  it('refuses σ ≥ 2σ_b', () => {
    expect(code(() => adaptiveClipNoise({ noiseMultiplier: 2, countNoiseStd: 1, expectedParticipants: 10 }))).toBe('TESSERA_ERR_DP_CONFIG');
  });
  it('moves C toward the target quantile of the norms', () => {
    // Norms uniform on [0, 10]: the median is 5. Start far away on both sides.
    const rng = seededRandom('adaptive');
    for (const start of [0.1, 100]) {
      let C = start;
      const m = 200;
      for (let round = 0; round < 300; round++) {
        let sum = 0;
        for (let i = 0; i < m; i++) sum += unclippedIndicator(rng.nextFloat() * 10, C);
        sum += gaussianNoise(1, 0.05 * m, rng)[0] as number;
        C = nextClipNorm({ clipNorm: C, noisedIndicatorSum: sum, expectedParticipants: m, targetQuantile: 0.5, learningRate: 0.2 }).clipNorm;
      }
      expect(C).toBeGreaterThan(4);
      expect(C).toBeLessThan(6);
    }
  });
  it('clamps to [minClipNorm, maxClipNorm] and the fraction to [0, 1]', () => {
    const up = nextClipNorm({ clipNorm: 1, noisedIndicatorSum: -1e9, expectedParticipants: 10, targetQuantile: 0.5, learningRate: 0.2, maxClipNorm: 1.05 });
    expect(up.unclippedFraction).toBe(0);
    expect(up.clipNorm).toBe(1.05);
    const down = nextClipNorm({ clipNorm: 1, noisedIndicatorSum: 1e9, expectedParticipants: 10, targetQuantile: 0.5, learningRate: 0.2 });
    expect(down.clipNorm).toBeCloseTo(Math.exp(-0.1), 14);
  });
});
