/** Shared fixtures for the governance tests: a temp state dir, a small registered model, key files. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalHash } from '../lib/canonical-json.ts';
import { seededRandom } from '../privacy/random.ts';
import type { ModelSpec } from '../protocol/job/model.ts';
import type { LineageInput } from '../governance/registry/lineage.ts';

export const HEART_LOGISTIC: ModelSpec = { kind: 'logistic', inputs: 13, classes: 2, l2: 0 };

export function tempStateDir(prefix = 'tessera-gov-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Deterministic weights for a model of `n` parameters (a test fixture, not a trained model). */
export function fixtureWeights(n: number, seed: string | number): Float32Array {
  const rng = seededRandom(seed);
  return Float32Array.from({ length: n }, () => rng.nextFloat() * 2 - 1);
}

/** A fairness report shaped like governance/fairness's (only the parts the registry and card read). */
export function fixtureFairnessReport(passed: boolean): Record<string, unknown> {
  return {
    schema: 'tessera.fairness-report/1',
    groups: {
      sex: {
        '0': { suppressed: false, count: 60, accuracy: 0.8, selectionRate: 0.3, tpr: 0.75, fpr: 0.1 },
        '1': { suppressed: false, count: 140, accuracy: 0.78, selectionRate: 0.55, tpr: 0.8, fpr: 0.2 },
      },
    },
    disparities: { sex: { demographicParityDifference: 0.25, accuracyGap: 0.02, worstGroup: '1' } },
    policy: {
      passed,
      rules: [{ rule: { metric: 'accuracyGap', attribute: 'sex', max: 0.1 }, value: 0.02, status: passed ? 'pass' : 'fail' }],
    },
    context: {},
  };
}

export function fixtureLineage(overrides: Partial<LineageInput> = {}): LineageInput {
  return {
    jobId: 'job-heart-1',
    jobName: 'heart',
    purpose: 'cardiology-research',
    dataset: 'heart',
    jobSpecHash: canonicalHash({ name: 'heart' }),
    dataContractHash: canonicalHash({ contract: 'heart' }),
    rounds: 3,
    participation: [
      { round: 1, organisations: ['cleveland', 'hungarian', 'switzerland', 'va'] },
      { round: 2, organisations: ['cleveland', 'hungarian', 'va'] },
      { round: 3, organisations: ['cleveland', 'hungarian', 'switzerland', 'va'] },
    ],
    privacy: { epsilon: 2.5, delta: 1e-5, placement: 'distributed', accountant: 'rdp', unit: 'organisation' },
    fairness: { report: fixtureFairnessReport(true) },
    contractChecks: { passed: true, violations: 0, summary: '' },
    metrics: { accuracy: 0.79 },
    ...overrides,
  };
}
