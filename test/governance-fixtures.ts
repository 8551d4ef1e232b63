/** Shared fixtures for the governance tests: a temp state dir, a small registered model, key files. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalHash } from '../lib/canonical-json.ts';
import { seededRandom } from '../privacy/random.ts';
import type { ModelSpec } from '../protocol/job/model.ts';
import type { LineageInput } from '../governance/registry/lineage.ts';
import { performanceEvidence } from '../governance/registry/performance.ts';
import type { Db } from '../governance/state/database.ts';
import { toBase64, type Ed25519KeyPair } from '../governance/identity/ed25519.ts';
import { personIdOf } from '../governance/identity/approvers.ts';
import { founder, newAdminChange, signAdminChange } from '../governance/identity/admin-changes.ts';
import { applyRegistryChange, readRegistry } from '../governance/identity/registry-store.ts';

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

/**
 * Held-out performance evidence as the federated evaluation records it (governance/registry/performance.ts):
 * 200 examples, 110 of class 1, so the majority-class baseline is 0.55.
 */
export function fixturePerformance(accuracy: number): NonNullable<LineageInput['performance']> {
  const evidence = performanceEvidence({ round: 3, examples: 200, clients: 4, accuracy, loss: 0.5, brier: 0.35, labelCounts: [90, 110] });
  if (evidence === null) throw new Error('fixturePerformance: no evidence');
  return evidence;
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
    performance: fixturePerformance(0.79),
    metrics: { accuracy: 0.79 },
    ...overrides,
  };
}

/**
 * Initialises the signed approver registry (issue 13 §3) the honest way: the first person is the founding
 * admin (signs `init`); every other key is added by an admin-signed change. Admin quorum 1 unless given.
 */
export function initTestRegistry(
  db: Db,
  people: ReadonlyArray<{ name: string; key: Ed25519KeyPair; roles: readonly string[]; person?: string }>,
  options: { adminQuorum?: number; at?: Date } = {},
): void {
  const [first, ...rest] = people;
  if (!first) throw new Error('initTestRegistry needs at least one person');
  const at = options.at ?? new Date();
  const admin = first.key;
  const head = (): string => readRegistry(db).registry.head;
  applyRegistryChange(db, signAdminChange(newAdminChange({ op: 'init', admins: [founder(first.name, first.key.publicKey, first.roles, first.person)], adminQuorum: options.adminQuorum ?? 1 }, head(), at), admin), { now: at });
  for (const p of rest) {
    const body = { op: 'approver.add' as const, person: p.person ?? personIdOf(p.name), name: p.name, publicKey: toBase64(p.key.publicKey), roles: [...p.roles] };
    applyRegistryChange(db, signAdminChange(newAdminChange(body, head(), at), admin), { now: at });
  }
}

/** Revokes a key through an admin-signed change. */
export function revokeTestKey(db: Db, admin: Ed25519KeyPair, keyId: string, reason: string, at: Date = new Date()): void {
  applyRegistryChange(db, signAdminChange(newAdminChange({ op: 'approver.revoke', keyId, reason }, readRegistry(db).registry.head, at), admin), { now: at });
}

/** Adds one key through an admin-signed change. */
export function addTestApprover(db: Db, admin: Ed25519KeyPair, p: { name: string; key: Ed25519KeyPair; roles: readonly string[]; person?: string }, at: Date = new Date()): void {
  const body = { op: 'approver.add' as const, person: p.person ?? personIdOf(p.name), name: p.name, publicKey: toBase64(p.key.publicKey), roles: [...p.roles] };
  applyRegistryChange(db, signAdminChange(newAdminChange(body, readRegistry(db).registry.head, at), admin), { now: at });
}
