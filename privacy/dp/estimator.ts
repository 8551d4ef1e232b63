/**
 * The server's estimate of the average update under DP: the fixed-denominator estimator of McMahan, Ramage,
 * Talwar & Zhang 2018, "Learning Differentially Private Recurrent Language Models" (ICLR), the estimator
 * f̃_f with unit weights: noised sum of clipped updates divided by q·N, the EXPECTED number of participants.
 * Its sensitivity is C/(qN) whatever the realised sample size, whereas dividing by the actual count (or by
 * example counts, as plain FedAvg does) makes the denominator itself data-dependent and unbounded in
 * sensitivity. The estimate is unbiased for the mean of the clipped updates under Poisson sampling.
 */
import { TesseraError } from '../../protocol/errors.ts';

export interface FixedDenominatorOptions {
  /** Sum of the clipped, noised updates (as released by secure aggregation or the central mechanism). */
  noisedSum: ArrayLike<number>;
  /** Poisson sampling rate q of the round. */
  samplingRate: number;
  /** N: number of organisations eligible for (i.e. Poisson-sampled from in) this round. */
  population: number;
}

export function expectedParticipants(samplingRate: number, population: number): number {
  if (!(samplingRate > 0 && samplingRate <= 1)) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `sampling rate must be in (0, 1], got ${samplingRate}`);
  if (!Number.isInteger(population) || population < 1) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `population must be an integer ≥ 1, got ${population}`);
  return samplingRate * population;
}

/** noisedSum / (q·N), in float64 then rounded once to float32. */
export function fixedDenominatorEstimate({ noisedSum, samplingRate, population }: FixedDenominatorOptions): Float32Array {
  const denom = expectedParticipants(samplingRate, population);
  const out = new Float32Array(noisedSum.length);
  for (let i = 0; i < noisedSum.length; i++) out[i] = (noisedSum[i] as number) / denom;
  return out;
}
