/**
 * The pure monitoring maths against hand-checked numbers: the histogram quantile (Prometheus's interpolation),
 * the ECE of Guo et al. 2017 eq. 3 on a six-prediction example worked by hand, the canary verdict's branches
 * (collecting, the accuracy gap waiting for labels then breaching, prediction drift, ready vs watching), and how
 * canary criteria combine across policy layers and meet the floor.
 */
import { describe, expect, it } from 'vitest';
import { policyHash, raiseToFloor, tighten } from '../deploy/floor.ts';
import { CanaryCriteria, DeploymentSection } from '../../protocol/job/governance.ts';
import { addToCalibration, emptyCalibration, onlineQuality } from './calibration.ts';
import { canaryFigures, judgeCanary } from './canary.ts';
import { emptyLatencyCounts, histogramQuantile, LATENCY_BUCKETS_SECONDS, observeLatency } from './latency.ts';
import type { CounterRow } from './store.ts';

describe('latency quantiles from the histogram', () => {
  it('interpolates inside the bucket that holds the rank, as histogram_quantile does', () => {
    const c = emptyLatencyCounts();
    for (let i = 0; i < 10; i++) observeLatency(c, 0.006); // all in (0.005, 0.0075]
    // Rank 5 of 10 is halfway through that bucket: 0.005 + 0.0025 · 0.5.
    expect(histogramQuantile(c, 0.5)).toBeCloseTo(0.00625, 12);
    observeLatency(c, 0.9); // one in (0.75, 1]
    // p99 of 11: rank 10.89 lies in the last occupied bucket, 89 % of the way through it.
    expect(histogramQuantile(c, 0.99)).toBeCloseTo(0.75 + 0.25 * 0.89, 9);
    expect(histogramQuantile(emptyLatencyCounts(), 0.5)).toBeNull();
    const slow = emptyLatencyCounts();
    observeLatency(slow, 60);
    expect(histogramQuantile(slow, 0.99)).toBe(LATENCY_BUCKETS_SECONDS.at(-1));
  });
});

describe('online accuracy and calibration', () => {
  it('gives the ECE of a hand-worked example (Guo et al. 2017, eq. 3, M = 10)', () => {
    const c = emptyCalibration();
    // Four answers at confidence 0.9, three right: bin (0.8, 0.9], |0.75 − 0.9| · 4/6 = 0.1.
    for (const right of [true, true, true, false]) addToCalibration(c, 0.9, right);
    // Two at 0.6, both wrong: bin (0.5, 0.6], |0 − 0.6| · 2/6 = 0.2.
    addToCalibration(c, 0.6, false);
    addToCalibration(c, 0.6, false);
    const q = onlineQuality(c);
    expect(q.labelled).toBe(6);
    expect(q.accuracy).toBeCloseTo(0.5, 12);
    expect(q.ece).toBeCloseTo(0.3, 12);
    expect(q.reliability.filter((b) => b.count > 0).map((b) => [b.lower, b.upper, b.count, b.accuracy])).toEqual([
      [0.5, 0.6, 2, 0],
      [0.8, 0.9, 4, 0.75],
    ]);
  });
});

function counter(over: Partial<CounterRow>): CounterRow {
  return { model: 'm', version: 'v', stage: 'canary', since: '2026-01-01T00:00:00.000Z', requests: 0, instances: 0, errors: 0, refused: 0, latency: emptyLatencyCounts(), latencySum: 0, predicted: [], calibration: emptyCalibration(), updatedAt: '', ...over };
}

function labelled(n: number, right: number): ReturnType<typeof emptyCalibration> {
  const c = emptyCalibration();
  for (let i = 0; i < n; i++) addToCalibration(c, 0.8, i < right);
  return c;
}

describe('the canary verdict', () => {
  const now = new Date('2026-01-01T01:00:00.000Z');
  const criteria = CanaryCriteria.parse({ minRequests: 30, windowMinutes: 30, maxErrorRate: 0.1, maxAccuracyGap: 0.1, minLabels: 20, maxPredictionPsi: 0.25 });

  it('collects until minRequests, waits for labels, then breaches on the accuracy gap', () => {
    expect(judgeCanary(criteria, canaryFigures(counter({ requests: 29, instances: 29 }), undefined, '2026-01-01T00:00:00.000Z', now)).status).toBe('collecting');
    const production = counter({ stage: 'production', requests: 100, instances: 100, predicted: [50, 50], calibration: labelled(40, 36) });
    const few = judgeCanary(criteria, canaryFigures(counter({ requests: 30, instances: 30, predicted: [15, 15], calibration: labelled(10, 2) }), production, '2026-01-01T00:00:00.000Z', now));
    expect(few.status).toBe('watching');
    expect(few.waitingFor[0]).toMatch(/canary 10, production 40 of 20/);
    const bad = judgeCanary(criteria, canaryFigures(counter({ requests: 30, instances: 30, predicted: [15, 15], calibration: labelled(20, 14) }), production, '2026-01-01T00:00:00.000Z', now));
    // Production 36/40 = 0.9, canary 14/20 = 0.7: a gap of 0.2 above 0.1.
    expect(bad.status).toBe('breached');
    expect(bad.figures.accuracyGap).toBeCloseTo(0.2, 6);
    expect(bad.breaches[0]).toMatch(/0\.2 below production's 0\.9/);
  });

  it('breaches on prediction drift against production, and is ready only after its window', () => {
    const production = counter({ stage: 'production', requests: 100, instances: 100, predicted: [50, 50], calibration: labelled(40, 36) });
    const skewed = judgeCanary(criteria, canaryFigures(counter({ requests: 30, instances: 30, predicted: [29, 1], calibration: labelled(20, 18) }), production, '2026-01-01T00:00:00.000Z', now));
    expect(skewed.status).toBe('breached');
    expect(skewed.breaches[0]).toMatch(/prediction drift PSI/);
    const good = counter({ requests: 30, instances: 30, predicted: [16, 14], calibration: labelled(20, 18) });
    expect(judgeCanary(criteria, canaryFigures(good, production, '2026-01-01T00:00:00.000Z', now)).status).toBe('ready');
    const young = judgeCanary(criteria, canaryFigures(good, production, '2026-01-01T00:45:00.000Z', now));
    expect(young.status).toBe('watching');
    expect(young.waitingFor[0]).toMatch(/15 more minute/);
  });
});

describe('canary criteria in the policy layers and the floor', () => {
  const base = DeploymentSection.parse({});
  it('combine by keeping the stricter of each: lower limits, more evidence, longer window', () => {
    const a = DeploymentSection.parse({ canaryCriteria: { minRequests: 50, maxErrorRate: 0.05, maxP99LatencyMs: 300 } });
    const b = DeploymentSection.parse({ canaryCriteria: { minRequests: 200, windowMinutes: 120, maxErrorRate: 0.1, maxAccuracyGap: 0.02 } });
    expect(tighten(a, b).canaryCriteria).toEqual({ minRequests: 200, windowMinutes: 120, minLabels: 30, maxErrorRate: 0.05, maxP99LatencyMs: 300, maxAccuracyGap: 0.02 });
    expect(tighten(base, a).canaryCriteria).toEqual(a.canaryCriteria);
  });

  it('are raised to the floor’s 30 requests, named in the gate’s list, and leave the hash of a policy without them unchanged', () => {
    const lax = DeploymentSection.parse({ canaryCriteria: { minRequests: 5, maxErrorRate: 0.5 } });
    const floored = raiseToFloor(lax);
    expect(floored.policy.canaryCriteria?.minRequests).toBe(30);
    expect(floored.raised).toContain('canaryCriteria.minRequests: 5 → 30');
    // A policy without criteria gets no `canaryCriteria` key from any layer's combination or the floor, so the
    // canonical form (and hash) of policies recorded before criteria existed does not move.
    expect('canaryCriteria' in tighten(base, base)).toBe(false);
    expect('canaryCriteria' in raiseToFloor(base).policy).toBe(false);
    expect(policyHash(lax)).not.toBe(policyHash(base));
  });
});
