/**
 * The deployment gate against real parts: a registered model in a temp state dir, Ed25519 keys, the trust
 * registry and stored approvals in SQLite. Each "done when" condition of issue 6 is refused with its reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyPairFromSeed, type Ed25519KeyPair } from '../identity/ed25519.ts';
import { listApprovers } from '../identity/approvers.ts';
import { openDatabase, type Db } from '../state/database.ts';
import { registerModel, type RegisteredModel } from '../registry/registry.ts';
import { createApproval, type SignedApproval } from '../approvals/record.ts';
import { listApprovals, recordApproval } from '../approvals/store.ts';
import { parsePolicy } from './policy.ts';
import { evaluateGate } from './gate.ts';
import { HEART_LOGISTIC, addTestApprover, fixtureFairnessReport, fixtureLineage, fixturePerformance, fixtureWeights, initTestRegistry, revokeTestKey, tempStateDir } from '../../test/governance-fixtures.ts';
import type { DeploymentPolicy } from '../../protocol/job/governance.ts';

const DAY = 86_400_000;
const T0 = new Date('2025-03-01T09:00:00Z');
const key = (n: number): Ed25519KeyPair => keyPairFromSeed(new Uint8Array(32).fill(n));
const officer = key(1);
const reviewers = [key(2), key(3), key(4)] as const;
const outsider = key(9);

// "A privacy officer and 2 of 3 reviewers", a maximum ε, fairness and contract checks passed (issue 6 §4).
const policy: DeploymentPolicy = parsePolicy(
  { roles: [{ role: 'privacy-officer', min: 1 }, { role: 'fairness-reviewer', min: 2, of: 3 }], maxEpsilon: 5 },
  'test',
);

let state: { dir: string; cleanup: () => void };
let db: Db;
let model: RegisteredModel;
let other: RegisteredModel;
let unfair: RegisteredModel;
let noBetter: RegisteredModel;
let unmeasured: RegisteredModel;

beforeAll(async () => {
  state = tempStateDir();
  db = openDatabase(state.dir);
  model = await registerModel(db, state.dir, { modelSpec: HEART_LOGISTIC, weights: fixtureWeights(28, 'a'), lineage: fixtureLineage(), name: 'heart' });
  other = await registerModel(db, state.dir, { modelSpec: HEART_LOGISTIC, weights: fixtureWeights(28, 'b'), lineage: fixtureLineage(), name: 'heart' });
  unfair = await registerModel(db, state.dir, {
    modelSpec: HEART_LOGISTIC,
    weights: fixtureWeights(28, 'c'),
    lineage: fixtureLineage({ fairness: { report: fixtureFairnessReport(false) }, privacy: { epsilon: 8, delta: 1e-5, placement: 'distributed', accountant: 'rdp' } }),
    name: 'heart',
  });
  // Held-out accuracy 0.555 against the majority-class baseline 0.55 (110 of 200): 0.005 better, under the floor's 0.01.
  noBetter = await registerModel(db, state.dir, { modelSpec: HEART_LOGISTIC, weights: fixtureWeights(28, 'd'), lineage: fixtureLineage({ performance: fixturePerformance(0.555) }), name: 'heart' });
  unmeasured = await registerModel(db, state.dir, { modelSpec: HEART_LOGISTIC, weights: fixtureWeights(28, 'e'), lineage: fixtureLineage({ performance: undefined }), name: 'heart' });
  const at = new Date(T0.getTime() - DAY);
  initTestRegistry(db, [{ name: 'Olivia Officer', key: officer, roles: ['privacy-officer'] }, ...reviewers.map((r, i) => ({ name: `Reviewer ${i + 1}`, key: r, roles: ['fairness-reviewer'] }))], { at });
});

afterAll(() => {
  db.close();
  state.cleanup();
});

function approve(m: RegisteredModel, k: Ed25519KeyPair, role: string, opts: { now?: Date; validForMs?: number; decision?: 'approve' | 'reject' } = {}): SignedApproval {
  return createApproval({ model: m, role, decision: opts.decision ?? 'approve', ...(opts.decision === 'reject' ? { reason: 'calibration too poor for women' } : {}), key: k, now: opts.now ?? T0, validForMs: opts.validForMs ?? 30 * DAY });
}

const completeSet = (m: RegisteredModel): SignedApproval[] => [approve(m, officer, 'privacy-officer'), approve(m, reviewers[0], 'fairness-reviewer'), approve(m, reviewers[1], 'fairness-reviewer')];

function gate(m: RegisteredModel, records: unknown[], now = new Date(T0.getTime() + DAY), p = policy) {
  return evaluateGate({ model: m, policy: p, approvals: records.map((record) => ({ record })), approvers: listApprovers(db), now });
}

const codes = (g: { unmet: ReadonlyArray<{ code: string }> }): string[] => g.unmet.map((u) => u.code);

describe('deployment gate', () => {
  it('passes a complete, valid set: a privacy officer and 2 of 3 reviewers', () => {
    const g = gate(model, completeSet(model));
    expect(g.unmet).toEqual([]);
    expect(g.ok).toBe(true);
    expect(g.roles).toEqual([
      { role: 'privacy-officer', min: 1, of: null, approvals: 1, signers: [officer.keyId], people: ['olivia-officer'] },
      { role: 'fairness-reviewer', min: 2, of: 3, approvals: 2, signers: [reviewers[0].keyId, reviewers[1].keyId].sort(), people: ['reviewer-1', 'reviewer-2'] },
    ]);
    expect(g.counted).toHaveLength(3);
  });

  it('refuses a forged signature, on arrival and at the gate', () => {
    // Signed by an outsider's key but claiming a registered reviewer's key id.
    const forged = createApproval({ model, role: 'fairness-reviewer', decision: 'approve', key: { ...outsider, keyId: reviewers[1].keyId }, now: T0, validForMs: 30 * DAY });
    expect(() => recordApproval(db, forged, { now: T0 })).toThrow(/signature-invalid.*forged or altered/);
    // A genuine record whose evidence was edited after signing (ε lowered).
    const genuine = approve(model, reviewers[1], 'fairness-reviewer');
    const altered = { ...genuine, payload: { ...genuine.payload, evidence: { ...genuine.payload.evidence, privacy: { ...genuine.payload.evidence.privacy, epsilon: 0.1 } } } };
    const g = gate(model, [approve(model, officer, 'privacy-officer'), approve(model, reviewers[0], 'fairness-reviewer'), altered]);
    expect(g.ok).toBe(false);
    expect(codes(g)).toEqual(['signature-invalid', 'quorum-unmet']);
    expect(g.unmet[0]?.message).toMatch(/signature does not verify under Reviewer 2's key/);
  });

  it('refuses an expired approval and names it as the reason quorum is unmet', () => {
    const short = approve(model, reviewers[1], 'fairness-reviewer', { validForMs: 3_600_000 });
    expect(recordApproval(db, short, { now: T0 }).check.ok).toBe(true);
    expect(() => recordApproval(db, short, { now: new Date(T0.getTime() + 2 * 3_600_000) })).toThrow(/expired/);
    const g = gate(model, [approve(model, officer, 'privacy-officer'), approve(model, reviewers[0], 'fairness-reviewer'), short]);
    expect(g.ok).toBe(false);
    expect(g.notCounted).toEqual([expect.objectContaining({ code: 'expired', keyId: reviewers[1].keyId })]);
    expect(g.unmet).toEqual([expect.objectContaining({ code: 'quorum-unmet', role: 'fairness-reviewer' })]);
    expect(g.unmet[0]?.message).toMatch(/fairness-reviewer: 1 of 2 required approvals \(from a panel of 3\); not counted: expired/);
  });

  it('refuses a signer without the required role', () => {
    const wrongRole = approve(model, reviewers[0], 'privacy-officer');
    expect(() => recordApproval(db, wrongRole, { now: T0 })).toThrow(/role-not-held.*does not hold the role 'privacy-officer'/);
    const g = gate(model, [wrongRole, approve(model, reviewers[0], 'fairness-reviewer'), approve(model, reviewers[1], 'fairness-reviewer')]);
    expect(g.notCounted.map((n) => n.code)).toEqual(['role-not-held']);
    expect(g.unmet).toEqual([expect.objectContaining({ code: 'quorum-unmet', role: 'privacy-officer' })]);
  });

  it('refuses a record for another model hash, and a record for a model not in the registry', () => {
    const forOther = approve(other, reviewers[1], 'fairness-reviewer');
    const g = gate(model, [approve(model, officer, 'privacy-officer'), approve(model, reviewers[0], 'fairness-reviewer'), forOther]);
    expect(codes(g)).toEqual(['model-mismatch', 'quorum-unmet']);
    expect(g.unmet[0]?.message).toContain(`the record is for model ${other.version}, not ${model.version}`);
    const ghost = { ...model, version: 'f'.repeat(64) };
    expect(() => recordApproval(db, approve(ghost, officer, 'privacy-officer'), { now: T0 })).toThrow(/model-unknown/);
  });

  it('refuses an unmet quorum, naming the role and the count', () => {
    const g = gate(model, [approve(model, officer, 'privacy-officer'), approve(model, reviewers[2], 'fairness-reviewer')]);
    expect(g.unmet).toEqual([{ code: 'quorum-unmet', role: 'fairness-reviewer', message: 'fairness-reviewer: 1 of 2 required approvals (from a panel of 3)' }]);
  });

  it('refuses ε above the maximum and a failed fairness report, whatever the approvals', () => {
    const g = gate(unfair, completeSet(unfair));
    expect(codes(g)).toEqual(['epsilon-too-high', 'fairness-failed']);
    expect(g.unmet[0]?.message).toBe("ε = 8 spent exceeds the policy's maximum 5");
  });

  it('refuses a model that does not beat the majority-class baseline by the floor, naming the comparison (issue 13 §6)', () => {
    const g = gate(noBetter, completeSet(noBetter));
    expect(codes(g)).toEqual(['performance-below-baseline']);
    expect(g.unmet[0]?.message).toBe('held-out accuracy 0.555 does not beat the majority-class baseline 0.55 (always predicting class 1) by the required 0.01: the difference is 0.005 on the same 200 held-out examples (4 clients, round 3)');
    // A policy that asks for margin 0 is raised to the floor (0.01 > 0); a stricter one is kept.
    expect(gate(noBetter, completeSet(noBetter), undefined, { ...policy, minAccuracyOverMajority: 0 }).ok).toBe(false);
    const strict = gate(model, completeSet(model), undefined, { ...policy, minAccuracyOverMajority: 0.3 });
    expect(strict.unmet[0]?.message).toMatch(/accuracy 0\.79 does not beat the majority-class baseline 0\.55 .* by the required 0\.3: the difference is 0\.24/);
    expect(gate(model, completeSet(model), undefined, { ...policy, minAccuracyOverMajority: 0.2 }).ok).toBe(true);
  });

  it('refuses a lineage without performance evidence: deleting the evidence does not pass the floor', () => {
    const g = gate(unmeasured, completeSet(unmeasured));
    expect(codes(g)).toEqual(['performance-missing']);
  });

  it('approvers sign the performance evidence: a record with the accuracy edited after signing is forged', () => {
    const genuine = approve(model, reviewers[1], 'fairness-reviewer');
    expect(genuine.payload.evidence.performance).toMatchObject({ accuracy: 0.79, majorityAccuracy: 0.55, examples: 200, previousProduction: null });
    const perf = genuine.payload.evidence.performance;
    if (perf === undefined) throw new Error('no performance evidence signed');
    const altered = { ...genuine, payload: { ...genuine.payload, evidence: { ...genuine.payload.evidence, performance: { ...perf, majorityAccuracy: 0.1 } } } };
    expect(codes(gate(model, [approve(model, officer, 'privacy-officer'), approve(model, reviewers[0], 'fairness-reviewer'), altered]))).toEqual(['signature-invalid', 'quorum-unmet']);
  });

  it('lets a rejection by a required role block, until the same signer approves later', () => {
    const reject = approve(model, reviewers[2], 'fairness-reviewer', { decision: 'reject' });
    const g = gate(model, [...completeSet(model), reject]);
    expect(codes(g)).toEqual(['rejected']);
    expect(g.unmet[0]?.message).toMatch(/Reviewer 3 .* rejected the model as fairness-reviewer: calibration too poor/);
    const later = approve(model, reviewers[2], 'fairness-reviewer', { now: new Date(T0.getTime() + 3_600_000) });
    expect(gate(model, [...completeSet(model), reject, later]).ok).toBe(true);
  });

  it('does not let one person fill two required places', () => {
    const both = key(5);
    addTestApprover(db, officer, { name: 'Both Hats', key: both, roles: ['model-owner', 'privacy-officer'] }, new Date(T0.getTime() - DAY));
    const p = parsePolicy({ roles: [{ role: 'privacy-officer' }, { role: 'model-owner' }] }, 'test');
    const g = gate(model, [approve(model, both, 'privacy-officer'), approve(model, both, 'model-owner')], undefined, p);
    expect(g.unmet).toEqual([
      expect.objectContaining({ code: 'quorum-unmet', message: expect.stringMatching(/2 distinct approvers .* only 1/) }),
      expect.objectContaining({ code: 'quorum-unmet', message: expect.stringMatching(/floor requires approvals from 2 distinct people/) }),
    ]);
    // Even a policy that waives distinct signers cannot go below the floor of two distinct people (issue 13 §1).
    const waived = gate(model, [approve(model, both, 'privacy-officer'), approve(model, both, 'model-owner')], undefined, { ...p, distinctSigners: false });
    expect(waived.unmet).toEqual([expect.objectContaining({ code: 'quorum-unmet', message: expect.stringMatching(/floor requires approvals from 2 distinct people; 1 counted \(both-hats\)/) })]);
  });

  it('refuses a revoked key, at the gate and on arrival (runs last: it revokes a reviewer)', () => {
    const set = completeSet(model);
    for (const r of set) recordApproval(db, r, { now: T0 });
    expect(listApprovals(db, model.version).length).toBeGreaterThanOrEqual(3);
    revokeTestKey(db, officer, reviewers[0].keyId, 'laptop stolen', new Date(T0.getTime() + 2 * 3_600_000));
    const g = gate(model, set);
    expect(g.notCounted).toEqual([expect.objectContaining({ code: 'key-revoked', reason: expect.stringMatching(/revoked .*laptop stolen/) })]);
    expect(g.unmet).toEqual([expect.objectContaining({ code: 'quorum-unmet', role: 'fairness-reviewer' })]);
    expect(() => recordApproval(db, approve(model, reviewers[0], 'fairness-reviewer', { now: new Date(T0.getTime() + DAY) }), { now: new Date(T0.getTime() + DAY) })).toThrow(/key-revoked/);
  });
});
