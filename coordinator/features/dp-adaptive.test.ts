/**
 * The coordinator's record of the adaptive clip norm (Andrew et al. 2021, Algorithm 1, geometric update): the
 * per-round spec carries C_t and σ_b, C_{t+1} = C_t·exp(−η_C(b̄ − γ)) takes effect only when its round commits,
 * C is held when not every participant reported an indicator, and under central placement the coordinator
 * adds N(0, σ_b²) to the count (checked over 20 000 releases: 6 standard errors of the sample std).
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../lib/logger.ts';
import { cryptoRandom } from '../../privacy/random.ts';
import { parseJobSpec } from '../../protocol/job/spec.ts';
import type { ConnectedClient } from '../federation.ts';
import type { TrainingOutcome } from '../plain-round.ts';
import { AdaptiveClipTracker } from './dp-adaptive.ts';

const spec = (placement: 'central' | 'distributed', countNoiseStd?: number) =>
  parseJobSpec({
    model: { kind: 'logistic', inputs: 4, classes: 2 },
    data: { dataset: 'adult' },
    rounds: 3,
    sampling: { mode: 'poisson', rate: 0.1 },
    dp: { enabled: true, placement, trustedCoordinator: placement === 'central', epsilon: 3, noiseMultiplier: 1, clipNorm: 2, adaptiveClipping: { enabled: true, learningRate: 0.5, targetQuantile: 0.5, ...(countNoiseStd === undefined ? {} : { countNoiseStd }) } },
  });

const outcome = (participants: number, indicators?: { sum: number; reports: number }): TrainingOutcome => ({
  aggregate: { sum: new Float64Array(1), totalWeight: participants, participants },
  participants: Array.from({ length: participants }, (_, i): ConnectedClient => ({ clientId: `c${i}`, orgId: `o${i}` }) as ConnectedClient),
  dropped: [],
  declined: [],
  trainLoss: null,
  slowestTrainMs: 0,
  totalTrainMs: 0,
  clippedFraction: null,
  declinedChecks: [],
  extensions: indicators ? { adaptiveClipping: { values: Float64Array.of(indicators.sum), reports: indicators.reports } } : {},
});

const release = (t: AdaptiveClipTracker, round: number, o: TrainingOutcome, placement: 'central' | 'distributed' = 'distributed') =>
  t.release({ round, outcome: o, expectedParticipants: 10, placement, minSurvivors: 1, rng: cryptoRandom(), logger: silentLogger() });

describe('AdaptiveClipTracker', () => {
  it('sends C_t and σ_b (0.05·q·N of the first round, then fixed), and moves C only on commit', () => {
    const s = spec('distributed');
    const t = new AdaptiveClipTracker(s);
    expect(t.resolveCountNoise(0.1, 100)).toBeCloseTo(0.5, 12);
    expect(t.resolveCountNoise(0.1, 1000)).toBeCloseTo(0.5, 12);
    expect(t.specForRound(s).dp).toMatchObject({ clipNorm: 2, adaptiveClipping: { countNoiseStd: t.resolveCountNoise(0.1, 1) } });
    // Distributed: the clients' noise shares are already in the sum. All 10 unclipped: Σ = 5, b̄ = 1.
    const r = release(t, 1, outcome(10, { sum: 5, reports: 10 }));
    expect(r).toMatchObject({ clipNorm: 2, unclippedFraction: 1, reports: 10 });
    expect(r.nextClipNorm).toBeCloseTo(2 * Math.exp(-0.5 * (1 - 0.5)), 12);
    expect(t.currentClipNorm).toBe(2);
    t.commit(2); // another round's commit does not apply it
    expect(t.currentClipNorm).toBe(2);
    release(t, 1, outcome(10, { sum: 5, reports: 10 }));
    t.commit(1);
    expect(t.currentClipNorm).toBeCloseTo(r.nextClipNorm, 12);
    expect(t.specForRound(s).dp.clipNorm).toBeCloseTo(r.nextClipNorm, 12);
  });

  it('holds C when a participant did not report its indicator', () => {
    const t = new AdaptiveClipTracker(spec('distributed', 1));
    const r = release(t, 1, outcome(10, { sum: 4.5, reports: 9 }));
    expect(r).toMatchObject({ unclippedFraction: null, nextClipNorm: 2 });
    expect(release(t, 1, outcome(10))).toMatchObject({ unclippedFraction: null, nextClipNorm: 2, reports: 0 });
  });

  it('central placement: the coordinator adds N(0, σ_b²) to the count', () => {
    const sigmaB = 2;
    const t = new AdaptiveClipTracker(spec('central', sigmaB));
    const n = 20_000;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      // Σ = 0 (half clipped) → b̄ = noise/10 + 1/2; C's learning rate 0.5: log(C'/C) = −0.5(b̄ − 0.5) = −noise/20, unclamped.
      const r = release(t, 1, outcome(10, { sum: 0, reports: 10 }), 'central');
      const noise = -20 * Math.log(r.nextClipNorm / 2);
      sq += noise * noise;
    }
    // b̄ is clamped to [0, 1], i.e. |noise| ≤ 5 = 2.5σ_b: the clamped std is ≈ 0.989·σ_b (second moment of a normal clamped at ±2.5).
    const clamp = 2.5;
    const phi = Math.exp(-(clamp ** 2) / 2) / Math.sqrt(2 * Math.PI);
    const tail = 0.0062097; // P(Z > 2.5)
    const expected = sigmaB * Math.sqrt(1 - 2 * tail - 2 * clamp * phi + 2 * clamp ** 2 * tail);
    expect(Math.abs(Math.sqrt(sq / n) / expected - 1)).toBeLessThan(6 / Math.sqrt(2 * n));
  });
});
