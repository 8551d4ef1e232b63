import { describe, expect, it } from 'vitest';
import { parseJobSpec } from '../../protocol/job/spec.ts';
import { SecAggSection } from '../../protocol/job/secagg.ts';
import { seededRandom } from '../random.ts';
import { decodeSecAggSum, encodeForSecAgg, planSecAggRound } from './plan.ts';

describe('planSecAggRound', () => {
  it('defaults from the job spec: off, semi-malicious finder-chosen (k, t) with the consistency check, example weighting with one extra coordinate', () => {
    const spec = parseJobSpec({ model: { kind: 'logistic', inputs: 4, classes: 2 }, data: { dataset: 'adult' }, rounds: 1, sampling: { mode: 'fixed', clientsPerRound: 100 } });
    expect(spec.secagg.enabled).toBe(false);
    const plan = planSecAggRound({ section: spec.secagg, clients: 100, updateLength: 10 });
    // Defaults since issue 10: semi-malicious parameters with the consistency check (semi-honest gave k = 16, t = 6).
    expect([plan.k, plan.t, plan.dim, plan.threatModel, plan.consistencyCheck]).toEqual([28, 18, 11, 'semi-malicious', true]);
  });

  it('pinned degree and threshold are used as given (and both are required)', () => {
    const section = SecAggSection.parse({ enabled: true, degree: 19, threshold: 11, weighting: 'uniform' });
    const plan = planSecAggRound({ section, clients: 20, updateLength: 3 });
    expect([plan.k, plan.t, plan.complete, plan.dim]).toEqual([19, 11, true, 3]);
    expect(SecAggSection.safeParse({ degree: 4 }).success).toBe(false);
  });

  it('encode → sum → decode gives the weighted mean (example weighting) and the plain mean (uniform)', () => {
    for (const weighting of ['examples', 'uniform'] as const) {
      const section = SecAggSection.parse({ enabled: true, weighting, clipRange: 2 });
      const plan = planSecAggRound({ section, clients: 3, updateLength: 2 });
      const updates = [[1, -1], [0.5, 0.5], [-2, 1.5]];
      const examples = [10, 30, 60];
      const sum = new Uint32Array(plan.dim);
      updates.forEach((u, i) => {
        const enc = encodeForSecAgg(plan, u, examples[i] as number, seededRandom(i));
        for (let j = 0; j < plan.dim; j++) sum[j] = (sum[j] as number) + (enc[j] as number);
      });
      const { mean, totalExamples } = decodeSecAggSum(plan, sum, 3);
      const w = weighting === 'examples' ? examples : [1, 1, 1];
      const W = w.reduce((a, b) => a + b, 0);
      for (let j = 0; j < 2; j++) expect(mean[j]).toBeCloseTo(updates.reduce((a, u, i) => a + (w[i] as number) * (u[j] as number), 0) / W, 6);
      expect(totalExamples).toBe(weighting === 'examples' ? 100 : undefined);
    }
  });

  it('refuses a bit width that could wrap for the round size', () => {
    const section = SecAggSection.parse({ enabled: true, bitsPerCoordinate: 32 });
    expect(() => planSecAggRound({ section, clients: 100, updateLength: 3 })).toThrow(/at most 25 bits/);
  });
});
