/**
 * Server-side aggregation behind one `Strategy` type (DESIGN.md "Seams"). A strategy sees only the aggregate —
 * a sum and a total weight whose quotient is the round's mean update Δ — never an individual update, so the same
 * strategies work unchanged when secure aggregation hides the individual updates. (Robust aggregators, which do
 * need the individual updates, run inside the plain training protocol and hand the strategy their estimate as an
 * aggregate of weight 1: coordinator/robust-aggregators.ts.)
 *
 * A server optimiser with memory (FedAdam's moments) returns its next state with the next weights; the round
 * loop commits that state with the round and hands it back next round, so `apply` stays pure and a resumed job
 * continues from the committed state (coordinator/state/resume.ts).
 */
import type { StrategySection } from '../protocol/job/sections.ts';
import { adaptiveOptimizer } from './server-optimizers.ts';

export interface Aggregate {
  /** Σ_i w_i · Δ_i over the participants (Δ_i = client weights − global weights), or a robust estimate of the mean with totalWeight 1. */
  readonly sum: Float64Array;
  /** Σ_i w_i; for FedAvg the example counts. */
  readonly totalWeight: number;
  readonly participants: number;
}

/** What a server optimiser carries from one round to the next (Reddi et al. 2021, Algorithm 2: m_t and v_t). */
export interface ServerOptimizerState {
  /** The optimiser that wrote it: a state is only ever continued by the same rule. */
  readonly kind: 'fedadam' | 'fedyogi' | 'fedadagrad';
  /** First moment m_t. */
  readonly m: Float64Array;
  /** Second moment v_t. */
  readonly v: Float64Array;
}

export interface StrategyStep {
  readonly weights: Float32Array;
  /** The optimiser state after this round (null for a memoryless rule such as FedAvg). */
  readonly state: ServerOptimizerState | null;
}

export interface Strategy {
  readonly name: string;
  /** The next global weights (and optimiser state) from the current ones and the round's aggregate. Pure. */
  apply(global: Float32Array, aggregate: Aggregate, state: ServerOptimizerState | null): StrategyStep;
}

/**
 * FedAvg (McMahan et al. 2017, "Communication-Efficient Learning of Deep Networks from Decentralized Data",
 * Algorithm 1): the example-weighted mean of the client updates, here scaled by a server learning rate η
 * (η = 1 is the original algorithm; Reddi et al. 2021 "Adaptive Federated Optimization" for η ≠ 1).
 */
export function fedAvg(options: { serverLearningRate?: number } = {}): Strategy {
  const eta = options.serverLearningRate ?? 1;
  return {
    name: 'fedavg',
    apply(global, aggregate) {
      if (aggregate.totalWeight <= 0) return { weights: Float32Array.from(global), state: null };
      const out = new Float32Array(global.length);
      const scale = eta / aggregate.totalWeight;
      for (let i = 0; i < global.length; i++) out[i] = (global[i] ?? 0) + scale * (aggregate.sum[i] ?? 0);
      return { weights: out, state: null };
    },
  };
}

/** The job's server strategy from its `strategy` section: FedAvg, or one of Reddi et al.'s adaptive optimisers. */
export function serverStrategy(section: StrategySection): Strategy {
  if (section.name === 'fedavg') return fedAvg({ serverLearningRate: section.serverLearningRate });
  return adaptiveOptimizer({ kind: section.name, serverLearningRate: section.serverLearningRate, ...(section.beta1 !== undefined ? { beta1: section.beta1 } : {}), ...(section.beta2 !== undefined ? { beta2: section.beta2 } : {}), ...(section.tau !== undefined ? { tau: section.tau } : {}) });
}

/** Adds w · update into the float64 accumulator (float64 so the order of arrival cannot change the sum's bits meaningfully). */
export function accumulate(sum: Float64Array, update: Float32Array, weight: number): void {
  for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] ?? 0) + weight * (update[i] ?? 0);
}
