/**
 * The adaptive server optimisers of Reddi, Charles, Zaheer, Garrett, Rush, Konečný, Kumar & McMahan 2021,
 * "Adaptive Federated Optimization" (ICLR), Algorithm 2 (FedOpt with FedAdagrad, FedYogi, FedAdam). With Δ_t the
 * round's mean update (aggregate sum / total weight; under DP the noised fixed-denominator mean — these rules are
 * post-processing of what DP released, so they cost no privacy):
 *
 *   m_t = β₁·m_{t−1} + (1 − β₁)·Δ_t
 *   v_t = v_{t−1} + Δ_t²                                   (FedAdagrad)
 *   v_t = v_{t−1} − (1 − β₂)·Δ_t²·sign(v_{t−1} − Δ_t²)       (FedYogi)
 *   v_t = β₂·v_{t−1} + (1 − β₂)·Δ_t²                        (FedAdam)
 *   x_{t+1} = x_t + η·m_t / (√v_t + τ)
 *
 * with m_{−1} = 0 and v_{−1} = τ² (the algorithm's input condition v_{−1} ≥ τ²), no bias correction (as in
 * Algorithm 2). Defaults β₁ = 0.9, β₂ = 0.99 (the values Reddi et al. fix in §5) and τ = 10⁻³ (a value of their
 * τ grid; Flower's FedOpt strategies use the same). Arithmetic is float64; the weights are rounded to float32 once.
 * Pure: the state in is never modified, a new state comes out.
 */
import { TesseraError } from '../protocol/errors.ts';
import type { ServerOptimizerState, Strategy } from './strategy.ts';

export const ADAPTIVE_DEFAULTS = { beta1: 0.9, beta2: 0.99, tau: 1e-3 } as const;

export interface AdaptiveOptions {
  readonly kind: ServerOptimizerState['kind'];
  readonly serverLearningRate: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly tau?: number;
}

/** m_{−1} = 0, v_{−1} = τ² (Reddi et al. 2021, Algorithm 2, input). */
export function initialAdaptiveState(kind: ServerOptimizerState['kind'], dimension: number, tau: number): ServerOptimizerState {
  return { kind, m: new Float64Array(dimension), v: new Float64Array(dimension).fill(tau * tau) };
}

export function adaptiveOptimizer(o: AdaptiveOptions): Strategy {
  const beta1 = o.beta1 ?? ADAPTIVE_DEFAULTS.beta1;
  const beta2 = o.beta2 ?? ADAPTIVE_DEFAULTS.beta2;
  const tau = o.tau ?? ADAPTIVE_DEFAULTS.tau;
  const eta = o.serverLearningRate;
  return {
    name: o.kind,
    apply(global, aggregate, state) {
      const d = global.length;
      const prev = state ?? initialAdaptiveState(o.kind, d, tau);
      if (prev.kind !== o.kind || prev.m.length !== d || prev.v.length !== d) {
        throw new TesseraError('TESSERA_ERR_STRATEGY_STATE', `the stored server-optimiser state (${prev.kind}, ${prev.m.length} coordinates) cannot continue ${o.kind} on a model of ${d} weights`);
      }
      // An empty round leaves the model and the moments where they were.
      if (aggregate.totalWeight <= 0) return { weights: Float32Array.from(global), state: prev };
      const m = new Float64Array(d);
      const v = new Float64Array(d);
      const out = new Float32Array(d);
      const inv = 1 / aggregate.totalWeight;
      for (let i = 0; i < d; i++) {
        const delta = (aggregate.sum[i] as number) * inv;
        const sq = delta * delta;
        const mi = beta1 * (prev.m[i] as number) + (1 - beta1) * delta;
        const vPrev = prev.v[i] as number;
        let vi: number;
        if (o.kind === 'fedadagrad') vi = vPrev + sq;
        else if (o.kind === 'fedyogi') vi = vPrev - (1 - beta2) * sq * Math.sign(vPrev - sq);
        else vi = beta2 * vPrev + (1 - beta2) * sq;
        m[i] = mi;
        v[i] = vi;
        out[i] = (global[i] as number) + (eta * mi) / (Math.sqrt(vi) + tau);
      }
      return { weights: out, state: { kind: o.kind, m, v } };
    },
  };
}
