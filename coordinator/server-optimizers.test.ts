/**
 * Reddi et al. 2021, Algorithm 2, stepped by hand: one and two rounds of FedAdam, FedYogi and FedAdagrad on a
 * two-coordinate model against the equations; the state passed in is never modified (apply is pure), and a
 * state of another optimiser or size is refused.
 */
import { describe, expect, it } from 'vitest';
import { adaptiveOptimizer, initialAdaptiveState } from './server-optimizers.ts';
import { serverStrategy } from './strategy.ts';
import { StrategySection } from '../protocol/job/sections.ts';

const agg = (sum: number[], totalWeight: number) => ({ sum: Float64Array.from(sum), totalWeight, participants: 2 });

describe('adaptive server optimisers (Reddi et al. 2021, Algorithm 2)', () => {
  it('FedAdam: m, v and x after two rounds follow the equations', () => {
    const [b1, b2, tau, eta] = [0.9, 0.99, 1e-3, 0.1];
    const s = adaptiveOptimizer({ kind: 'fedadam', serverLearningRate: eta });
    const x0 = Float32Array.from([0.5, -0.25]);
    const r1 = s.apply(x0, agg([0.4, -2], 2), null); // Δ = (0.2, −1)
    const d1 = [0.2, -1];
    const m1 = d1.map((d) => (1 - b1) * d);
    const v1 = d1.map((d) => b2 * (tau * tau) + (1 - b2) * (d * d));
    expect(Array.from(r1.state?.m ?? [])).toEqual(m1);
    expect(Array.from(r1.state?.v ?? [])).toEqual(v1);
    expect(Array.from(r1.weights)).toEqual([0, 1].map((i) => Math.fround((x0[i] as number) + (eta * (m1[i] as number)) / (Math.sqrt(v1[i] as number) + tau))));
    const before = Float64Array.from(r1.state?.m ?? []);
    const r2 = s.apply(r1.weights, agg([-0.1, 0.3], 1), r1.state);
    expect(Array.from(r1.state?.m ?? [])).toEqual(Array.from(before)); // not modified
    const d2 = [-0.1, 0.3];
    const m2 = d2.map((d, i) => b1 * (m1[i] as number) + (1 - b1) * d);
    const v2 = d2.map((d, i) => b2 * (v1[i] as number) + (1 - b2) * (d * d));
    expect(Array.from(r2.weights)).toEqual([0, 1].map((i) => Math.fround((r1.weights[i] as number) + (eta * (m2[i] as number)) / (Math.sqrt(v2[i] as number) + tau))));
  });

  it('FedYogi and FedAdagrad second moments', () => {
    const tau = 1e-3;
    const yogi = adaptiveOptimizer({ kind: 'fedyogi', serverLearningRate: 0.01, beta2: 0.9 }).apply(new Float32Array(1), agg([3], 1), null);
    // v₀ = τ² − (1 − β₂)·9·sign(τ² − 9) = τ² + 0.9
    expect(yogi.state?.v[0]).toBeCloseTo(tau * tau + 0.1 * 9, 15);
    const prev = { kind: 'fedyogi' as const, m: Float64Array.from([0]), v: Float64Array.from([20]) };
    const yogi2 = adaptiveOptimizer({ kind: 'fedyogi', serverLearningRate: 0.01, beta2: 0.9 }).apply(new Float32Array(1), agg([3], 1), prev);
    expect(yogi2.state?.v[0]).toBeCloseTo(20 - 0.1 * 9, 12); // v > Δ²: decreases additively
    const ada = adaptiveOptimizer({ kind: 'fedadagrad', serverLearningRate: 0.01 }).apply(new Float32Array(1), agg([3], 1), null);
    expect(ada.state?.v[0]).toBeCloseTo(tau * tau + 9, 12);
  });

  it('refuses to continue another optimiser\'s or another model\'s state', () => {
    const s = adaptiveOptimizer({ kind: 'fedadam', serverLearningRate: 0.01 });
    expect(() => s.apply(new Float32Array(2), agg([1, 1], 1), initialAdaptiveState('fedyogi', 2, 1e-3))).toThrow(/cannot continue fedadam/);
    expect(() => s.apply(new Float32Array(2), agg([1, 1], 1), initialAdaptiveState('fedadam', 3, 1e-3))).toThrow(/3 coordinates/);
  });

  it('the job spec picks the rule and its default η (1 for FedAvg, 0.01 for adaptive rules)', () => {
    expect(StrategySection.parse({}).serverLearningRate).toBe(1);
    expect(StrategySection.parse({ name: 'fedadam' }).serverLearningRate).toBe(0.01);
    expect(serverStrategy(StrategySection.parse({ name: 'fedyogi' })).name).toBe('fedyogi');
    const fedavg = serverStrategy(StrategySection.parse({}));
    expect(Array.from(fedavg.apply(Float32Array.from([1]), agg([4], 2), null).weights)).toEqual([3]);
  });
});
