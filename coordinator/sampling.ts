/**
 * Client selection for a round. Poisson sampling (each eligible client joins independently with
 * probability q) is what the privacy accountant assumes (Mironov, Talwar & Zhang 2019); fixed-size sampling
 * is offered for runs without DP. Randomness comes from the injected source.
 */
import { poissonSample } from '../privacy/dp/sampling.ts';
import type { RandomSource } from '../privacy/random.ts';
import { shuffleInPlace } from '../privacy/random.ts';
import type { JobSpec } from '../protocol/job/spec.ts';

export interface Selection<T> {
  readonly selected: T[];
  /** Expected number of participants: q·N for Poisson, the fixed size otherwise. */
  readonly expected: number;
}

export function selectClients<T>(sampling: JobSpec['sampling'], eligible: readonly T[], rng: RandomSource): Selection<T> {
  if (sampling.mode === 'poisson') {
    return { selected: poissonSample(eligible, sampling.rate, rng), expected: sampling.rate * eligible.length };
  }
  const k = Math.min(sampling.clientsPerRound, eligible.length);
  return { selected: shuffleInPlace(rng, [...eligible]).slice(0, k), expected: k };
}
