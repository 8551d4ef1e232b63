/**
 * `tessera jobs check` (preflight) warns when a DP job's evaluation sums carry no noise: the default client policy
 * (dp.requireEvaluationNoise) then declines every federated evaluation of the job, so the registry and the gate
 * would get no held-out figures. With `evaluation.noise` the warning is gone, and a job without DP never gets it.
 */
import { describe, expect, it } from 'vitest';
import { evaluatePolicy } from '../client/policy/rules.ts';
import { DEFAULT_CLIENT_POLICY } from '../client/policy/schema.ts';
import { preflight } from '../coordinator/preflight.ts';
import { parseJobSpec } from '../protocol/job/spec.ts';

const base = {
  name: 'heart-risk',
  purpose: 'cardiology-research',
  model: { kind: 'logistic', inputs: 13, classes: 2 },
  data: { dataset: 'heart' },
  rounds: 3,
  sampling: { mode: 'poisson', rate: 1 },
  minClients: 3,
  secagg: { enabled: true, weighting: 'uniform' },
  dp: { enabled: true, epsilon: 8, noiseMultiplier: 1.5, placement: 'distributed' },
};
const noiseWarnings = (spec: unknown) => preflight(spec).findings.filter((f) => f.code === 'TESSERA_ERR_POLICY_EVALUATION_NOISE');

describe('preflight and evaluation noise', () => {
  it('warns about a DP job without evaluation.noise, which default-policy clients decline to evaluate', () => {
    const w = noiseWarnings(base);
    expect(w).toHaveLength(1);
    expect(w[0]).toMatchObject({ level: 'warning', where: 'evaluation.noise' });
    expect(w[0]?.fix).toMatch(/"noise": \{"noiseMultiplier"/);
    expect(preflight(base).ok).toBe(true);
    // The warning says what the client's own policy does with an evaluation task of this job.
    const decision = evaluatePolicy(DEFAULT_CLIENT_POLICY, parseJobSpec(base), { jobId: 'job-1', round: 1, task: 'evaluate' });
    expect(decision.violations.map((v) => v.code)).toContain('TESSERA_ERR_POLICY_EVALUATION_NOISE');
  });

  it('does not warn with evaluation.noise, nor for a job without DP', () => {
    expect(noiseWarnings({ ...base, evaluation: { noise: { noiseMultiplier: 1, maxExamplesPerClient: 200 } } })).toEqual([]);
    expect(noiseWarnings({ ...base, dp: { enabled: false } })).toEqual([]);
  });
});
