/**
 * Poisson sampling: each eligible organisation joins the round independently with probability q. This is
 * the sampling the accountant's amplification assumes (Mironov, Talwar & Zhang 2019: the "Sampled
 * Gaussian Mechanism" includes each record independently with probability q). Fixed-size sampling (exactly k
 * without replacement) needs a different analysis (sampling without replacement under substitution adjacency,
 * e.g. Wang, Balle & Kasiviswanathan 2019) that this accountant does not implement, so a DP job with fixed-size
 * sampling is REFUSED rather than accounted with a bound that does not match it.
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { RandomSource } from '../random.ts';
import { cryptoRandom } from '../random.ts';

/** The ids chosen by independent Bernoulli(q) draws, in input order. P(chosen) = q up to 2^−53. */
export function poissonSample<T>(ids: readonly T[], q: number, rng: RandomSource = cryptoRandom()): T[] {
  if (!(q >= 0 && q <= 1)) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `sampling rate must be in [0, 1], got ${q}`);
  return ids.filter(() => rng.nextFloat() < q);
}

export interface ParticipationReport {
  population: number;
  samplingRate: number;
  /** q·N. */
  expected: number;
  actual: number;
  /** √(N q (1 − q)): the binomial standard deviation of the participant count. */
  stdDev: number;
  /** (actual − expected)/stdDev (0 when stdDev is 0). */
  zScore: number;
}

export function participationReport({ population, samplingRate, actual }: { population: number; samplingRate: number; actual: number }): ParticipationReport {
  const expected = population * samplingRate;
  const stdDev = Math.sqrt(population * samplingRate * (1 - samplingRate));
  return { population, samplingRate, expected, actual, stdDev, zScore: stdDev === 0 ? 0 : (actual - expected) / stdDev };
}

export type SamplingMode = { mode: 'poisson'; rate: number } | { mode: 'fixed'; clientsPerRound: number };

/** Returns q for a DP job's sampling, or refuses sampling the accountant cannot account (TESSERA_ERR_DP_CONFIG). */
export function samplingRateForDp(sampling: SamplingMode): number {
  if (sampling.mode === 'fixed') {
    throw new TesseraError(
      'TESSERA_ERR_DP_CONFIG',
      'fixed-size sampling is refused with DP: the RDP accountant assumes Poisson sampling; set sampling.mode = "poisson" with a rate q',
      { details: { sampling: sampling.mode } },
    );
  }
  return sampling.rate;
}
