import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { keyPairFromSeed } from '../identity/ed25519.ts';
import { openDatabase, type Db } from '../state/database.ts';
import { registerModel, type RegisteredModel } from '../registry/registry.ts';
import { createApproval } from '../approvals/record.ts';
import { recordApproval } from '../approvals/store.ts';
import { readAuditEntries } from '../audit/log.ts';
import { verifyAuditLog } from '../audit/verify.ts';
import { HEART_LOGISTIC, fixtureLineage, fixtureWeights, initTestRegistry, tempStateDir } from '../../test/governance-fixtures.ts';
import { deployModel, deploymentHistory, deploymentRevision, getDeploymentState, rollbackModel, stageOf } from './deployments.ts';
import { STAGE_TRANSITIONS } from './stages.ts';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const officer = keyPairFromSeed(new Uint8Array(32).fill(11));
const owner = keyPairFromSeed(new Uint8Array(32).fill(12));

async function setup(): Promise<{ dir: string; db: Db; models: RegisteredModel[] }> {
  const s = tempStateDir();
  const db = openDatabase(s.dir);
  cleanups.push(() => {
    db.close();
    s.cleanup();
  });
  initTestRegistry(db, [
    { name: 'Officer', key: officer, roles: ['privacy-officer'] },
    { name: 'Owner', key: owner, roles: ['model-owner'] },
  ]);
  const models: RegisteredModel[] = [];
  for (const seed of ['v1', 'v2', 'v3']) {
    models.push(await registerModel(db, s.dir, { modelSpec: HEART_LOGISTIC, weights: fixtureWeights(28, seed), lineage: fixtureLineage(), name: 'heart' }));
  }
  return { dir: s.dir, db, models };
}

/** The default policy: one privacy officer and one model owner. */
function approveAll(db: Db, m: RegisteredModel): void {
  for (const [key, role] of [[officer, 'privacy-officer'], [owner, 'model-owner']] as const) {
    recordApproval(db, createApproval({ model: m, role, decision: 'approve', key, validForMs: 86_400_000 }));
  }
}

describe('deployments', () => {
  it('has a transition table with no way out of production except replacement or rollback', () => {
    expect(STAGE_TRANSITIONS.production).toEqual([]);
    expect(STAGE_TRANSITIONS.canary).toEqual(['production']);
  });

  it('refuses an unapproved version, naming each unmet condition, and audits the refusal', async () => {
    const { dir, db, models } = await setup();
    const v1 = models[0] as RegisteredModel;
    const out = deployModel(db, dir, { version: v1.version, stage: 'production', actor: 'ops' });
    expect(out.ok).toBe(false);
    expect(out.gate?.policySource).toBe('default');
    expect(out.gate?.unmet.map((u) => `${u.code}:${u.role ?? ''}`)).toEqual(['quorum-unmet:model-owner', 'quorum-unmet:privacy-officer', 'quorum-unmet:']);
    expect(getDeploymentState(db, 'heart').production).toBeNull();
    expect(readAuditEntries(db, { action: 'deployment' })[0]?.details).toMatchObject({ outcome: 'refused', stage: 'production' });
  });

  it('goes candidate → production, candidate → canary → production, and rolls back at once', async () => {
    const { dir, db, models } = await setup();
    const [v1, v2, v3] = models as [RegisteredModel, RegisteredModel, RegisteredModel];
    for (const m of models) approveAll(db, m);

    expect(() => deployModel(db, dir, { version: v1.version, stage: 'canary', actor: 'ops' })).toThrow(/no production version yet/);
    expect(deployModel(db, dir, { version: v1.version, stage: 'production', actor: 'ops' }).ok).toBe(true);
    expect(() => deployModel(db, dir, { version: v2.version, stage: 'production', actor: 'ops' })).toThrow(/must serve as canary/);
    const rev = deploymentRevision(db, 'heart');
    const canary = deployModel(db, dir, { version: v2.version, stage: 'canary', percent: 10, actor: 'ops' });
    expect(canary.ok).toBe(true);
    expect(canary.state).toMatchObject({ production: v1.version, canary: v2.version, canaryPercent: 10 });
    expect(deploymentRevision(db, 'heart')).toBe(rev + 1);
    expect(deployModel(db, dir, { version: v3.version, stage: 'shadow', actor: 'ops' }).state.shadow).toBe(v3.version);
    const promoted = deployModel(db, dir, { version: v2.version, stage: 'production', actor: 'ops' });
    expect(promoted.state).toMatchObject({ production: v2.version, canary: null, history: [v1.version, v2.version], shadow: v3.version });
    expect(() => deployModel(db, dir, { version: v2.version, stage: 'production', actor: 'ops' })).toThrow(/already in production/);

    const back = rollbackModel(db, dir, { name: 'heart', actor: 'ops', reason: 'error rate up' });
    expect(back).toMatchObject({ production: v1.version, history: [v1.version], canary: null, shadow: null });
    expect(stageOf(back, v2.version)).toBe('candidate');
    expect(() => rollbackModel(db, dir, { name: 'heart', actor: 'ops' })).toThrow(/no earlier production version/);

    expect(deploymentHistory(db, { name: 'heart' }).map((e) => `${e.action}:${e.stage}:${e.version?.slice(0, 6)}`)).toEqual([
      `deploy:production:${v1.version.slice(0, 6)}`,
      `deploy:canary:${v2.version.slice(0, 6)}`,
      `deploy:shadow:${v3.version.slice(0, 6)}`,
      `deploy:production:${v2.version.slice(0, 6)}`,
      `rollback:production:${v1.version.slice(0, 6)}`,
    ]);
    expect(readAuditEntries(db, { action: 'rollback' })[0]?.details).toMatchObject({ from: v2.version, to: v1.version, reason: 'error rate up' });
    expect(verifyAuditLog(db).ok).toBe(true);
  });

  it('adds a coordinator file in the state dir to the defaults (it can only tighten)', async () => {
    const { dir, db, models } = await setup();
    writeFileSync(join(dir, 'deployment-policy.json'), JSON.stringify({ roles: [{ role: 'privacy-officer', min: 1 }], maxEpsilon: 1 }));
    const v1 = models[0] as RegisteredModel;
    approveAll(db, v1);
    const out = deployModel(db, dir, { version: v1.version, stage: 'production', actor: 'ops' });
    expect(out.gate?.policySource).toBe('default+state:deployment-policy.json');
    expect(out.gate?.unmet.map((u) => u.code)).toEqual(['epsilon-too-high']);
    expect(out.gate?.roles.map((r) => r.role)).toEqual(['model-owner', 'privacy-officer']);
  });
});
