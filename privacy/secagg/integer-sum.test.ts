import { describe, expect, it } from 'vitest';
import { parseJobSpec } from '../../protocol/job/spec.ts';
import { decodeEvaluationSum, encodeEvaluationInput, evaluationInput, evaluationPlanForJob, MAX_EXAMPLE_LOSS_MILLI } from './evaluation-input.ts';
import { decodeIntegerSum, encodeIntegerInput, integerSumParams } from './integer-sum.ts';
import { importanceLength } from '../../ml/explain/importance-for-job.ts';

describe('exact integer sums mod 2^32', () => {
  it('the sum of in-bound inputs at the largest n the bound allows is exact (no wrap)', () => {
    const bound = 2 ** 30; // 3 · 2^30 < 2^32 − 1 < 4 · 2^30
    const params = integerSumParams({ clients: 3, segments: [{ name: 'a', length: 2, bound }] });
    const sum = new Uint32Array(2);
    for (let u = 0; u < 3; u++) {
      const x = encodeIntegerInput([bound, u], params);
      for (let i = 0; i < 2; i++) sum[i] = (sum[i] as number) + (x[i] as number);
    }
    expect([...decodeIntegerSum(sum, params, 3)]).toEqual([3 * bound, 3]);
    expect(() => integerSumParams({ clients: 4, segments: [{ name: 'a', length: 2, bound }] })).toThrow(/at most 3 clients/);
    expect(() => decodeIntegerSum(sum, params, 4)).toThrow(/4 summands/);
  });

  it('refuses inputs outside the public bound, negative or fractional', () => {
    const params = integerSumParams({ clients: 2, segments: [{ name: 'examples', length: 1, bound: 10 }, { name: 'cells', length: 2, bound: 5 }] });
    expect([...encodeIntegerInput([10, 0, 5], params)]).toEqual([10, 0, 5]);
    expect(() => encodeIntegerInput([11, 0, 0], params)).toThrow(/examples\[0\] is 11/);
    expect(() => encodeIntegerInput([1, -1, 0], params)).toThrow(/cells\[0\]/);
    expect(() => encodeIntegerInput([1, 0, 0.5], params)).toThrow(/cells\[1\]/);
    expect(() => encodeIntegerInput([1, 0], params)).toThrow(/2 coordinates/);
  });

  it('evaluation vectors: [examples, correct, loss (thousandths), ...counts] sum and decode exactly', () => {
    const job = parseJobSpec({ model: { kind: 'logistic', inputs: 2, classes: 2 }, data: { dataset: 'csv' }, rounds: 1, sampling: { mode: 'fixed', clientsPerRound: 3 }, secagg: { enabled: true, maxExamplesPerClient: 100 }, fairness: { enabled: true, sensitive: ['sex'], groupValues: { sex: ['F', 'M'] } } });
    const plan = evaluationPlanForJob(job, 3, 4);
    expect([plan.dim, plan.k, plan.t]).toEqual([10, 2, 2]);
    const results = [
      { examples: 10, correct: 7, lossSum: 4.2344, brierSum: 2.5, labelCounts: [4, 6], fairnessCounts: Uint32Array.from([1, 2, 3, 4]) },
      { examples: 20, correct: 15, lossSum: 9.1, brierSum: 5.0004, labelCounts: [20, 0], fairnessCounts: Uint32Array.from([5, 6, 7, 8]) },
      { examples: 100, correct: 0, lossSum: 100 * 16.1, brierSum: 200, labelCounts: [0, 100], fairnessCounts: Uint32Array.from([0, 0, 0, 1000 * 100]) },
    ];
    const sum = new Uint32Array(plan.dim);
    for (const r of results) {
      const x = encodeIntegerInput(evaluationInput(r), plan.integer);
      for (let i = 0; i < plan.dim; i++) sum[i] = (sum[i] as number) + (x[i] as number);
    }
    const d = decodeEvaluationSum(sum, plan, 3);
    expect(d.examples).toBe(130);
    expect(d.correct).toBe(22);
    expect(d.lossSum).toBeCloseTo(4.234 + 9.1 + 1610, 9);
    // Brier sums in thousandths (at most 2 per example), label counts exact.
    expect(d.brierSum).toBeCloseTo(2.5 + 5 + 200, 9);
    expect(d.labelCounts).toEqual([24, 106]);
    expect([...(d.fairnessCounts ?? [])]).toEqual([6, 8, 10, 100_012]);
    // A held-out split above the public cap W is refused, not truncated.
    expect(() => encodeIntegerInput(evaluationInput({ examples: 101, correct: 0, lossSum: 0, brierSum: 0, labelCounts: [101, 0] }), evaluationPlanForJob(job, 3, 0).integer)).toThrow(/examples\[0\] is 101/);
  });

  it('with permutation-importance counts: [header, labels, importance, fairness] decode to separate exact sums; counts above W are refused', () => {
    const job = parseJobSpec({ model: { kind: 'logistic', inputs: 2, classes: 2 }, data: { dataset: 'csv' }, rounds: 2, evaluation: { featureImportance: true }, sampling: { mode: 'fixed', clientsPerRound: 3 }, secagg: { enabled: true, maxExamplesPerClient: 100 }, fairness: { enabled: true, sensitive: ['sex'], groupValues: { sex: ['F', 'M'] } } });
    // Only the final round carries them: 2 + one per input column.
    expect([importanceLength(job, 1), importanceLength(job, 2)]).toEqual([0, 4]);
    const plan = evaluationPlanForJob(job, 3, 2, importanceLength(job, 2));
    expect(plan.dim).toBe(4 + 2 + 4 + 2);
    const results = [
      { examples: 10, correct: 7, lossSum: 1, brierSum: 1, labelCounts: [4, 6], importanceCounts: Uint32Array.from([10, 7, 5, 6]), fairnessCounts: Uint32Array.from([1, 2]) },
      { examples: 100, correct: 90, lossSum: 2, brierSum: 2, labelCounts: [50, 50], importanceCounts: Uint32Array.from([100, 90, 60, 89]), fairnessCounts: Uint32Array.from([3, 4]) },
    ];
    const sum = new Uint32Array(plan.dim);
    for (const r of results) {
      const x = encodeEvaluationInput(evaluationInput(r), plan);
      for (let i = 0; i < plan.dim; i++) sum[i] = (sum[i] as number) + (x[i] as number);
    }
    const d = decodeEvaluationSum(sum, plan, 2);
    expect([d.examples, d.correct, d.labelCounts]).toEqual([110, 97, [54, 56]]);
    expect(d.importanceCounts).toEqual([110, 97, 65, 95]);
    expect([...(d.fairnessCounts ?? [])]).toEqual([4, 6]);
    const over = { ...results[0], importanceCounts: Uint32Array.from([10, 7, 101, 6]) } as (typeof results)[number];
    expect(() => encodeEvaluationInput(evaluationInput(over), plan)).toThrow(/importanceCounts\[2\] is 101/);
  });

  it('coarsens the loss unit when n · W · loss bound could wrap 2^32, and refuses when the counts cannot fit', () => {
    const job = parseJobSpec({ model: { kind: 'logistic', inputs: 2, classes: 2 }, data: { dataset: 'csv' }, rounds: 1, sampling: { mode: 'fixed', clientsPerRound: 3 }, secagg: { enabled: true } });
    // W = 10 000: thousandths fit 26 clients (26 · 10⁴ · 16 119 < 2^32 − 1 < 27 · …), hundredths 266, tenths 2651.
    expect(Math.floor((2 ** 32 - 1) / (10_000 * MAX_EXAMPLE_LOSS_MILLI))).toBe(26);
    expect([26, 27, 266, 267, 2651].map((n) => evaluationPlanForJob(job, n, 0).lossScale)).toEqual([1000, 100, 100, 10, 10]);
    const plan = evaluationPlanForJob(job, 100, 0);
    const x = encodeEvaluationInput(evaluationInput({ examples: 10, correct: 3, lossSum: 6.789, brierSum: 1.25, labelCounts: [7, 3] }), plan);
    expect([...x]).toEqual([10, 3, 679, 1250, 7, 3]);
    // The Brier sum (≤ 2W per client in thousandths) coarsens at its own bound: 214 clients in thousandths.
    expect([214, 215].map((n) => evaluationPlanForJob(job, n, 0).brierScale)).toEqual([1000, 100]);
    expect(decodeEvaluationSum(x, plan, 1).lossSum).toBeCloseTo(6.79, 12);
    // Calibration score sums (SCORE_SCALE · W per client) bind at 429 clients.
    expect(evaluationPlanForJob(job, 429, 8).dim).toBe(14);
    expect(() => evaluationPlanForJob(job, 430, 8)).toThrow(/fairnessCounts sum can wrap/);
  });

  it('the previous-production block [c′, ℓ′, b′] sits before the fairness counts, in the candidate’s units and bounds', () => {
    const job = parseJobSpec({ model: { kind: 'logistic', inputs: 2, classes: 2 }, data: { dataset: 'csv' }, rounds: 1, sampling: { mode: 'fixed', clientsPerRound: 3 }, secagg: { enabled: true, maxExamplesPerClient: 10_000 }, fairness: { enabled: true, sensitive: ['sex'], groupValues: { sex: ['F', 'M'] } } });
    // Without a baseline sent the block is absent (a job without evaluation noise); with one, 3 more coordinates.
    expect(evaluationPlanForJob(job, 100, 4).dim).toBe(10);
    const plan = evaluationPlanForJob(job, 100, 4, 0, true);
    expect([plan.dim, plan.baseline, plan.lossScale]).toEqual([13, true, 100]);
    const r = { examples: 10, correct: 3, lossSum: 6.789, brierSum: 1.25, labelCounts: [7, 3], baseline: { correct: 8, lossSum: 2.345, brierSum: 0.5 }, fairnessCounts: Uint32Array.from([1, 2, 3, 4]) };
    const x = encodeEvaluationInput(evaluationInput(r), plan);
    // The baseline's loss is coarsened with the candidate's (hundredths here); its Brier stays in thousandths.
    expect([...x]).toEqual([10, 3, 679, 1250, 7, 3, 8, 235, 500, 1, 2, 3, 4]);
    const decoded = decodeEvaluationSum(x, plan, 1);
    expect(decoded.baseline).toEqual({ correct: 8, lossSum: 2.35, brierSum: 0.5 });
    expect([...(decoded.fairnessCounts ?? [])]).toEqual([1, 2, 3, 4]);
    // Its correct count is bounded by W like the candidate's: a client cannot inflate it.
    expect(() => encodeEvaluationInput(evaluationInput({ ...r, baseline: { ...r.baseline, correct: 10_001 } }), plan)).toThrow(/baselineCorrect\[0\] is 10001/);
    // A vector without the block does not fit a plan that expects it.
    expect(() => encodeEvaluationInput(evaluationInput({ ...r, baseline: undefined }), plan)).toThrow(/coordinates/);
  });

  it('a noised release always carries the block (zeros when no baseline was sent), so Δ₂ and D are the spec’s', () => {
    const job = parseJobSpec({ model: { kind: 'logistic', inputs: 2, classes: 2 }, data: { dataset: 'csv' }, rounds: 1, minClients: 3, sampling: { mode: 'poisson', rate: 1 }, secagg: { enabled: true, weighting: 'uniform' }, dp: { enabled: true, epsilon: 8, noiseMultiplier: 1.5, clipNorm: 1 }, evaluation: { everyRounds: 0, noise: { noiseMultiplier: 1, maxExamplesPerClient: 50 } } });
    const without = evaluationPlanForJob(job, 3, 0);
    const withBaseline = evaluationPlanForJob(job, 3, 0, 0, true);
    expect([without.dim, withBaseline.dim]).toEqual([9, 9]);
    expect(without.noise?.l2Sensitivity).toBeCloseTo(Math.sqrt(8) * 50, 9);
    expect(without.noise).toEqual(withBaseline.noise);
    const x = encodeEvaluationInput(evaluationInput({ examples: 5, correct: 2, lossSum: 1, brierSum: 1, labelCounts: [3, 2] }, without.baseline), without);
    expect([...x].slice(6)).toEqual([0, 0, 0]);
  });
});
