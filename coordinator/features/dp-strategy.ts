/**
 * DP wraps a strategy (house rule 8): the wrapped strategy sees the round's aggregate with (1) the
 * coordinator's noise N(0, σ²C²) added to the sum under central placement, and (2) the fixed denominator q·N
 * in place of the realised total weight — the fixed-denominator estimator f̃_f of McMahan, Ramage, Talwar &
 * Zhang 2018 ("Learning Differentially Private Recurrent Language Models", ICLR), whose sensitivity is C/(qN)
 * whatever the sample turned out to be. FedAvg inside then computes global + η·(noised sum)/(qN).
 *
 * The sum must be the UNWEIGHTED sum of clipped updates (the DP feature asks for uniform weighting); under
 * distributed placement it must hold at least m clients' noise shares, so a sum from fewer survivors is never
 * released.
 */
import type { DpPlacement } from '../../protocol/job/dp.ts';
import { TesseraError } from '../../protocol/errors.ts';
import { expectedParticipants } from '../../privacy/dp/estimator.ts';
import { gaussianNoise } from '../../privacy/dp/gaussian.ts';
import type { RandomSource } from '../../privacy/random.ts';
import type { Aggregate, Strategy } from '../strategy.ts';

export interface DpStrategyOptions {
  readonly placement: DpPlacement;
  readonly samplingRate: number;
  /** N of the current round: the number of organisations Poisson-sampled from (set before each round). */
  readonly population: () => number;
  /** Std of the coordinator's noise on the sum (σC under central placement, else 0); a function when it changes per round (adaptive clipping). */
  readonly serverNoiseStd: number | (() => number);
  /** n̄ declared in the job spec: when given, the denominator is this public constant, not q·N of the round. */
  readonly expectedParticipants?: number;
  /** m: fewest participants whose noise shares make up σ²C² (distributed placement). */
  readonly minSurvivors: number;
  /**
   * The coordinator's randomness (a CSPRNG outside seeded simulations); a function when each round draws from
   * its own stream (privacy/random.ts roundStream), so a resumed simulation adds the same noise.
   */
  readonly rng: RandomSource | (() => RandomSource);
}

/** The aggregate the inner strategy sees: noised sum over the fixed denominator q·N (pure given the noise). */
export function dpAggregate(aggregate: Aggregate, noise: Float64Array, denominator: number): Aggregate {
  const sum = new Float64Array(aggregate.sum.length);
  for (let i = 0; i < sum.length; i++) sum[i] = (aggregate.sum[i] as number) + (noise[i] ?? 0);
  return { sum, totalWeight: denominator, participants: aggregate.participants };
}

export function dpStrategy(inner: Strategy, o: DpStrategyOptions): Strategy {
  return {
    name: `dp-fixed-denominator(${inner.name})`,
    apply(global, aggregate, state) {
      if (o.placement === 'distributed' && aggregate.participants < o.minSurvivors) {
        throw new TesseraError(
          'TESSERA_ERR_DP_CONFIG',
          `refusing to release a sum of ${aggregate.participants} update(s): distributed noise needs at least m = ${o.minSurvivors} survivors to reach the accounted σ`,
        );
      }
      const denominator = o.expectedParticipants ?? expectedParticipants(o.samplingRate, o.population());
      const std = typeof o.serverNoiseStd === 'function' ? o.serverNoiseStd() : o.serverNoiseStd;
      const noise = gaussianNoise(aggregate.sum.length, std, typeof o.rng === 'function' ? o.rng() : o.rng);
      return inner.apply(global, dpAggregate(aggregate, noise, denominator), state);
    },
  };
}
