/**
 * Whose evidence a canary verdict rests on (canary-evidence.ts), on hand-checked counts: the water-filling share
 * cap, the distinct-token minimum, and the leave-one-token-out rule — one token's slow batches or wrong labels
 * cannot breach the criteria alone, nor its agreeing labels make a bad canary ready, while the same failure seen
 * by several tokens still breaches. The floor's raise of the new fields is checked beside them.
 */
import { describe, expect, it } from 'vitest';
import { raiseToFloor, tighten } from '../deploy/floor.ts';
import type { CanaryCriteria} from '../../protocol/job/governance.ts';
import { DeploymentSection } from '../../protocol/job/governance.ts';
import { addToCalibration, emptyCalibration } from './calibration.ts';
import { cappedWeights, judgeCanaryEvidence } from './canary-evidence.ts';
import { emptyLatencyCounts, observeLatency } from './latency.ts';
import { emptyTokenEvidence, type TokenEvidence } from './token-evidence.ts';

const since = '2026-01-01T00:00:00.000Z';
const now = new Date('2026-01-01T02:00:00.000Z');

/** A token's evidence: `requests` answered in `seconds` each, predicting [half, half], with `labels` of which `right` correct. */
function token(id: string, o: { requests?: number; errors?: number; seconds?: number; labels?: number; right?: number }): TokenEvidence {
  const latency = emptyLatencyCounts();
  const n = o.requests ?? 0;
  for (let i = 0; i < n; i++) observeLatency(latency, o.seconds ?? 0.005);
  const calibration = emptyCalibration();
  for (let i = 0; i < (o.labels ?? 0); i++) addToCalibration(calibration, 0.8, i < (o.right ?? 0));
  return { ...emptyTokenEvidence(id), requests: n, instances: n, errors: o.errors ?? 0, latency, latencySum: n * (o.seconds ?? 0.005), predicted: [Math.ceil(n / 2), Math.floor(n / 2)], calibration };
}

const criteria = raiseToFloor(DeploymentSection.parse({ canaryCriteria: { minRequests: 30, windowMinutes: 0, maxErrorRate: 0.05, maxP99LatencyMs: 200, maxAccuracyGap: 0.2, minLabels: 15 } })).policy.canaryCriteria as CanaryCriteria;
const honestProduction = ['a', 'b', 'c'].map((id) => token(`tok-${id}`, { requests: 40, labels: 20, right: 17 }));

describe('the share cap (water-filling)', () => {
  it('caps the largest token at half the counted sample and leaves balanced samples alone', () => {
    // 100 against 10 + 10: the big one counts 20 (weight 0.2), exactly half of 40.
    expect(cappedWeights([100, 10, 10], 0.5)).toEqual([0.2, 1, 1]);
    expect(cappedWeights([10, 10, 10], 0.5)).toEqual([1, 1, 1]);
    // One token alone counts for nothing: half of a sample made of itself is no evidence.
    expect(cappedWeights([100], 0.5)).toEqual([0]);
    // Cap 0.3 over [60, 30, 10, 10]: two capped at L = 0.3·20 / (1 − 0.6) = 15, i.e. 15 of 50 each (30 %).
    const w = cappedWeights([60, 30, 10, 10], 0.3);
    expect(w[0]).toBeCloseTo(15 / 60, 12);
    expect(w[1]).toBeCloseTo(15 / 30, 12);
    expect(w.slice(2)).toEqual([1, 1]);
    // Three tokens cannot each hold at most 30 %: nothing counts.
    expect(cappedWeights([60, 30, 10], 0.3)).toEqual([0, 0, 0]);
  });
});

describe('a verdict needs several tokens', () => {
  it('the floor makes the token rules explicit (3 tokens, 50 %) and raises a policy that asks for less', () => {
    expect(criteria.minTokens).toBe(3);
    expect(criteria.maxTokenShare).toBe(0.5);
    const lax = raiseToFloor(DeploymentSection.parse({ canaryCriteria: { minTokens: 1, maxTokenShare: 0.9 } }));
    expect(lax.policy.canaryCriteria).toMatchObject({ minTokens: 2, maxTokenShare: 0.5 });
    expect(lax.raised).toEqual(expect.arrayContaining(['canaryCriteria.minTokens: 1 → 2', 'canaryCriteria.maxTokenShare: 0.9 → 0.5']));
    const both = tighten(DeploymentSection.parse({ canaryCriteria: { minTokens: 4 } }), DeploymentSection.parse({ canaryCriteria: { minTokens: 2, maxTokenShare: 0.4 } }));
    expect(both.canaryCriteria).toMatchObject({ minTokens: 4, maxTokenShare: 0.4 });
  });

  it('one token alone is insufficient evidence, even with every request failing', () => {
    const v = judgeCanaryEvidence({ criteria, canary: [token('tok-a', { requests: 0, errors: 200 })], production: honestProduction, since, now });
    expect(v.status).toBe('insufficient-evidence');
    expect(v.waitingFor[0]).toMatch(/canary requests from 2 more distinct token\(s\) \(1 of 3/);
    expect(v.figures.tokens).toBe(1);
  });

  it('ATTACK: a token flooding slow batches next to two honest tokens cannot breach p99 latency', () => {
    const canary = [token('tok-flood', { requests: 500, seconds: 1.5 }), token('tok-b', { requests: 20 }), token('tok-c', { requests: 20 })];
    const v = judgeCanaryEvidence({ criteria, canary, production: honestProduction, since, now });
    expect(v.status).toBe('insufficient-evidence');
    expect(v.breaches).toEqual([]);
    expect(v.waitingFor.join(' ')).toMatch(/p99 latency .* not without one token's evidence/);
    expect(v.figures.largestTokenShare).toBeCloseTo(500 / 540, 4);
    // The cap: the flood counts 40 of the 80 requests counted, not 500 of 540.
    expect(v.figures.requests).toBeCloseTo(80, 6);
  });

  it('ATTACK: a token labelling every canary prediction wrong (49 % of the labels) cannot breach the accuracy gap', () => {
    const canary = [token('tok-liar', { requests: 30, labels: 29, right: 0 }), token('tok-b', { requests: 20, labels: 15, right: 13 }), token('tok-c', { requests: 20, labels: 15, right: 13 })];
    const v = judgeCanaryEvidence({ criteria, canary, production: honestProduction, since, now });
    expect(v.status).toBe('insufficient-evidence');
    expect(v.waitingFor.join(' ')).toMatch(/online accuracy .* not without one token's evidence/);
  });

  it('ATTACK: a token whose agreeing labels outweigh the others cannot make a bad canary ready', () => {
    const canary = [token('tok-flatter', { requests: 60, labels: 60, right: 60 }), token('tok-b', { requests: 20, labels: 15, right: 6 }), token('tok-c', { requests: 20, labels: 15, right: 6 })];
    const v = judgeCanaryEvidence({ criteria, canary, production: honestProduction, since, now });
    expect(v.status).not.toBe('ready');
  });

  it('CONTROL: the same failure seen by three honest tokens breaches, through the cap and every leave-one-out sample', () => {
    const slow = judgeCanaryEvidence({ criteria, canary: ['a', 'b', 'c'].map((id) => token(`tok-${id}`, { requests: 20, seconds: 1.5 })), production: honestProduction, since, now });
    expect(slow.status).toBe('breached');
    expect(slow.breaches[0]).toMatch(/p99 latency/);
    const wrong = judgeCanaryEvidence({ criteria, canary: ['a', 'b', 'c'].map((id) => token(`tok-${id}`, { requests: 20, labels: 15, right: 6 })), production: honestProduction, since, now });
    expect(wrong.status).toBe('breached');
    // A flood of fast, good requests from a fourth token is capped at half: it cannot dilute the breach away.
    const diluted = judgeCanaryEvidence({ criteria, canary: [token('tok-fast', { requests: 5000 }), ...['a', 'b', 'c'].map((id) => token(`tok-${id}`, { requests: 20, seconds: 1.5 }))], production: honestProduction, since, now });
    expect(diluted.status).toBe('breached');
    const good = judgeCanaryEvidence({ criteria, canary: ['a', 'b', 'c'].map((id) => token(`tok-${id}`, { requests: 20, labels: 15, right: 13 })), production: honestProduction, since, now });
    expect(good.status).toBe('ready');
    expect(good.figures).toMatchObject({ tokens: 3, canaryLabellingTokens: 3, productionLabellingTokens: 3 });
  });

  it('the accuracy gap waits for labels from distinct tokens on each side', () => {
    const canary = [token('tok-a', { requests: 20, labels: 40, right: 10 }), token('tok-b', { requests: 20 }), token('tok-c', { requests: 20 })];
    const v = judgeCanaryEvidence({ criteria, canary, production: honestProduction, since, now });
    expect(v.status).toBe('watching');
    expect(v.waitingFor.join(' ')).toMatch(/labels from 3 distinct tokens on each side \(canary 1, production 3\)/);
  });
});
