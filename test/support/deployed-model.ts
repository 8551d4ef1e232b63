/**
 * A state directory with a Heart model registered, approved by two approvers and deployed to production, so a
 * coordinator started on it serves `POST /v1/models/heart/predict` (13 features per instance).
 */
import { createApproval } from '../../governance/approvals/record.ts';
import { recordApproval } from '../../governance/approvals/store.ts';
import { deployModel } from '../../governance/deploy/deployments.ts';
import { keyPairFromSeed } from '../../governance/identity/ed25519.ts';
import { registerModel, type RegisteredModel } from '../../governance/registry/registry.ts';
import type { Db } from '../../governance/state/database.ts';
import { HEART_LOGISTIC, fixtureLineage, fixtureWeights, initTestRegistry } from '../governance-fixtures.ts';

export const HEART_ROW: readonly number[] = Array.from({ length: 13 }, (_, i) => i / 13);

export async function deployHeartModel(db: Db, stateDir: string): Promise<RegisteredModel> {
  const officer = keyPairFromSeed(new Uint8Array(32).fill(41));
  const owner = keyPairFromSeed(new Uint8Array(32).fill(42));
  initTestRegistry(db, [
    { name: 'Officer', key: officer, roles: ['privacy-officer'] },
    { name: 'Owner', key: owner, roles: ['model-owner'] },
  ]);
  const m = await registerModel(db, stateDir, { modelSpec: HEART_LOGISTIC, weights: fixtureWeights(28, 'api'), lineage: fixtureLineage(), name: 'heart' });
  for (const [key, role] of [[officer, 'privacy-officer'], [owner, 'model-owner']] as const) recordApproval(db, createApproval({ model: m, role, decision: 'approve', key, validForMs: 86_400_000 }));
  const outcome = deployModel(db, stateDir, { version: m.version, stage: 'production', actor: 'test' });
  if (!outcome.ok) throw new Error('the test deployment was refused by the gate');
  return m;
}
