/**
 * Server-side aggregation behind one `Strategy` type (DESIGN.md "Seams"). A strategy sees only the
 * aggregate — the weighted sum of the participants' updates and the total weight — never an individual
 * update, so the same strategies work unchanged when secure aggregation hides the individual updates.
 */
export interface Aggregate {
  /** Σ_i w_i · Δ_i over the participants (Δ_i = client weights − global weights). */
  readonly sum: Float64Array;
  /** Σ_i w_i; for FedAvg the example counts. */
  readonly totalWeight: number;
  readonly participants: number;
}

export interface Strategy {
  readonly name: string;
  /** The next global weights from the current ones and the round's aggregate. Pure. */
  apply(global: Float32Array, aggregate: Aggregate): Float32Array;
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
      if (aggregate.totalWeight <= 0) return Float32Array.from(global);
      const out = new Float32Array(global.length);
      const scale = eta / aggregate.totalWeight;
      for (let i = 0; i < global.length; i++) out[i] = (global[i] ?? 0) + scale * (aggregate.sum[i] ?? 0);
      return out;
    },
  };
}

/** Adds w · update into the float64 accumulator (float64 so the order of arrival cannot change the sum's bits meaningfully). */
export function accumulate(sum: Float64Array, update: Float32Array, weight: number): void {
  for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] ?? 0) + weight * (update[i] ?? 0);
}
