/**
 * The audit's statistics on inputs whose answers are known, then two real simulations (MNIST, 4 clients):
 * without DP the canaries stand out and the empirical ε is large; with DP the estimate stays below the
 * accountant's ε — the check the audit exists for.
 */
import { describe, expect, it } from 'vitest';
import { analyticGaussianEpsilon } from '../privacy/accountant/index.ts';
import { seededRandom } from '../privacy/random.ts';
import { silentLogger } from '../lib/logger.ts';
import { attackScores } from './membership-inference.ts';
import { auditFromCosines, cosine, randomDirection } from './privacy-audit.ts';
import { runSimulation } from './simulate.ts';

describe('audit statistics', () => {
  it('cosines shifted by μ in noise of std s give the analytic Gaussian ε with σ = s/μ, inside the bootstrap interval', () => {
    const rng = seededRandom('shifted');
    const normal = (): number => Math.sqrt(-2 * Math.log(1 - rng.nextFloat())) * Math.cos(2 * Math.PI * rng.nextFloat());
    const s = 0.01;
    for (const mu of [0.005, 0.02]) {
      const inserted = Float64Array.from({ length: 400 }, () => mu + s * normal());
      const heldOut = Float64Array.from({ length: 4000 }, () => s * normal());
      const audit = auditFromCosines(inserted, heldOut, 1000, 1e-5, rng);
      const truth = analyticGaussianEpsilon({ sigma: s / mu, delta: 1e-5 });
      expect(audit.epsilonInterval95.low).toBeLessThanOrEqual(truth);
      expect(audit.epsilonInterval95.high).toBeGreaterThanOrEqual(truth);
      expect(Math.abs(audit.epsilonLowerBound - truth) / truth).toBeLessThan(0.25);
    }
    const none = auditFromCosines(new Float64Array([0, 0]), new Float64Array([0, 0]), 10, 1e-5, rng);
    expect(none.epsilonLowerBound).toBe(0);
  });

  it('AUC and advantage of the loss-threshold attack: separated, identical and interleaved losses', () => {
    expect(attackScores([0.1, 0.2, 0.3], [1, 2, 3])).toEqual({ auc: 1, advantage: 1 });
    expect(attackScores([1, 1, 1], [1, 1, 1])).toEqual({ auc: 0.5, advantage: 0 });
    // Members 1, 3; non-members 2, 4: pairs (1<2, 1<4, 3<4) of 4 → 0.75; best threshold at 1: TPR 0.5 − FPR 0.
    expect(attackScores([1, 3], [2, 4])).toEqual({ auc: 0.75, advantage: 0.5 });
  });

  it('random directions are unit vectors whose cosines are ≈ N(0, 1/d)', () => {
    const rng = seededRandom('directions');
    const d = 4000;
    const ref = randomDirection(d, rng);
    const cos = Array.from({ length: 400 }, () => cosine(ref, randomDirection(d, rng)));
    const mean = cos.reduce((a, b) => a + b, 0) / cos.length;
    const sd = Math.sqrt(cos.reduce((a, b) => a + (b - mean) ** 2, 0) / (cos.length - 1));
    expect(Math.abs(mean)).toBeLessThan(4 / Math.sqrt(d * cos.length));
    expect(sd * Math.sqrt(d)).toBeGreaterThan(0.85);
    expect(sd * Math.sqrt(d)).toBeLessThan(1.15);
  });
});

describe('tessera simulate --audit-privacy on MNIST', () => {
  // The canary statistic needs many dimensions (cosines of random directions are ≈ N(0, 1/d)): the MNIST MLP.
  const base = { dataset: 'mnist' as const, clients: 4, rounds: 2, seed: 7, trainLimit: 2000, testLimit: 500, auditPrivacy: { canaries: 8, heldOutCanaries: 300 } };

  it('without DP the canaries stand out (large empirical ε); with DP the estimate stays below the accountant', async () => {
    const plain = await runSimulation(base, { logger: silentLogger() });
    const dp = await runSimulation(
      { ...base, samplingRate: 1, seededNoise: true, job: { dp: { enabled: true, epsilon: 50, noiseMultiplier: 2, clipNorm: 0.5, placement: 'central', trustedCoordinator: true } } },
      { logger: silentLogger() },
    );
    const a = plain.privacyAudit;
    const b = dp.privacyAudit;
    expect(a && b).toBeTruthy();
    if (!a || !b) return;
    expect(a.canary.canaries).toBe(8);
    expect(a.accountantEpsilon).toBeNull();
    expect(a.canary.epsilonLowerBound).toBeGreaterThan(5);
    expect(b.accountantEpsilon).toBeGreaterThan(0);
    expect(b.canary.epsilonInterval95.low).toBeLessThanOrEqual(b.accountantEpsilon ?? 0);
    expect(b.canary.epsilonLowerBound).toBeLessThan(a.canary.epsilonLowerBound);
    for (const m of [a.membershipInference, b.membershipInference]) {
      expect(m.members).toBeGreaterThan(50);
      expect(m.auc).toBeGreaterThanOrEqual(0);
      expect(m.auc).toBeLessThanOrEqual(1);
      expect(m.aucInterval95.low).toBeLessThanOrEqual(m.aucInterval95.high);
    }
    // The canaries are extra clients: the four real ones are still the federation's clients.
    expect(plain.config.clients).toBe(4);
  }, 240_000);
});
