/**
 * A production version of a job's model, registered and deployed the honest way before a job runs: a signed
 * approver registry (privacy officer, model owner), one approval per role, then `deployModel` to production. The
 * job's coordinator then finds it as its previous-production baseline (coordinator/features/registry.ts).
 */
import { expect } from 'vitest';
import { createApproval } from '../../governance/approvals/record.ts';
import { recordApproval } from '../../governance/approvals/store.ts';
import { deployModel } from '../../governance/deploy/deployments.ts';
import { keyPairFromSeed } from '../../governance/identity/ed25519.ts';
import { registerModel } from '../../governance/registry/registry.ts';
import type { Db } from '../../governance/state/database.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import { fixtureLineage, initTestRegistry } from '../governance-fixtures.ts';

const OFFICER = keyPairFromSeed(new Uint8Array(32).fill(91));
const OWNER = keyPairFromSeed(new Uint8Array(32).fill(92));

/** Registers `weights` as `spec.name` and deploys it to production; returns its version. */
export async function deployProductionVersion(db: Db, stateDir: string, spec: JobSpec, weights: Float32Array, dataset: string): Promise<string> {
  const registered = await registerModel(db, stateDir, { modelSpec: spec.model, weights, lineage: fixtureLineage({ jobName: spec.name, dataset }), name: spec.name });
  initTestRegistry(db, [
    { name: 'Officer', key: OFFICER, roles: ['privacy-officer'] },
    { name: 'Owner', key: OWNER, roles: ['model-owner'] },
  ]);
  for (const [key, role] of [[OFFICER, 'privacy-officer'], [OWNER, 'model-owner']] as const) recordApproval(db, createApproval({ model: registered, role, decision: 'approve', key, validForMs: 86_400_000 }));
  const outcome = deployModel(db, stateDir, { version: registered.version, stage: 'production', actor: 'test' });
  expect(outcome.ok, JSON.stringify(outcome.gate?.unmet ?? [])).toBe(true);
  return registered.version;
}
