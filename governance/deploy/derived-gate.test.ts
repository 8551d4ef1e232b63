/**
 * The gate's rules for a derived version (derived-gate.ts), pure, on hand-made evidence: no evidence of its own
 * names the command that produces it; the performance floor and the fairness requirement apply to its own
 * figures (the parent's on the same rows are only shown beside them).
 */
import { describe, expect, it } from 'vitest';
import { DeploymentSection } from '../../protocol/job/governance.ts';
import { fixtureFairnessReport } from '../../test/governance-fixtures.ts';
import type { DerivedEvidence } from '../registry/derived-evidence.ts';
import type { DerivedFrom } from '../registry/lineage.ts';
import { derivedVersionFailures } from './derived-gate.ts';

const policy = DeploymentSection.parse({});
const V = 'b'.repeat(64);
const base: DerivedFrom = { parent: 'a'.repeat(64), transform: 'int8-weights', scheme: 's', int8Sha256: 'c'.repeat(64), sizeBytes: { parent: 100, int8: 30 }, maxAbsWeightError: 0.001, heldOut: null };
const scores = (accuracy: number) => ({ accuracy, loss: 0.5, brier: 0.3 });
const evidence = (accuracy: number, fairness: DerivedEvidence['fairness']): DerivedEvidence => ({
  source: 'held-out-split', dataset: 'heart', examples: 200, labelCounts: [90, 110], model: scores(accuracy), parent: scores(0.8), majority: { class: 1, accuracy: 0.55, brier: 0.9 }, fairness,
});
const passing = { reportHash: 'd'.repeat(64), passed: true, report: fixtureFairnessReport(true), parentPassed: true };

describe('a derived version at the gate', () => {
  it('without evidence of its own: derived-evidence-missing, naming the command', () => {
    const f = derivedVersionFailures(V, base, policy);
    expect(f.map((x) => x.code)).toEqual(['derived-evidence-missing']);
    expect(f[0]?.message).toContain(`tessera models quantize ${'a'.repeat(12)} --dataset NAME`);
  });

  it('judges its own accuracy against the majority class of its rows, with the parent beside it', () => {
    expect(derivedVersionFailures(V, { ...base, evidence: evidence(0.79, passing) }, policy)).toEqual([]);
    const f = derivedVersionFailures(V, { ...base, evidence: evidence(0.555, passing) }, policy);
    expect(f.map((x) => x.code)).toEqual(['performance-below-baseline']);
    expect(f[0]?.message).toBe(`the int8-weights version's own held-out accuracy 0.555 (parent ${'a'.repeat(12)}: 0.8 on the same 200 rows of heart) does not beat the majority-class baseline 0.55 (always predicting class 1) by the required 0.01: the difference is 0.005`);
    expect(derivedVersionFailures(V, { ...base, evidence: evidence(0.79, passing) }, { ...policy, minAccuracyOverMajority: 0.3 }).map((x) => x.code)).toEqual(['performance-below-baseline']);
  });

  it('requires its own fairness report to exist, evaluate a rule and pass', () => {
    expect(derivedVersionFailures(V, { ...base, evidence: evidence(0.79, null) }, policy).map((x) => x.code)).toEqual(['fairness-missing']);
    const failed = derivedVersionFailures(V, { ...base, evidence: evidence(0.79, { ...passing, passed: false, report: fixtureFairnessReport(false) }) }, policy);
    expect(failed.map((x) => x.code)).toEqual(['fairness-failed']);
    expect(failed[0]?.message).toMatch(/own fairness report d{12}… on 200 rows of heart fails the job's fairness policy \(the parent's report on the same rows passes\)/);
    expect(derivedVersionFailures(V, { ...base, evidence: evidence(0.79, { ...passing, report: {} }) }, policy).map((x) => x.code)).toEqual(['fairness-missing']);
  });
});
