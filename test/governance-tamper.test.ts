/**
 * The insider tamper suite of issue 13, over a real state directory with real keys and real SQLite, through
 * the real module calls the CLI makes. Each case is an attack that worked before; each must now be refused
 * or detected with a reason naming it. The honest path (canary → production → rollback) must still work.
 * The CLI-level cases (missing state, anchors exported and verified by the CLI) are in governance-tamper-cli.
 */
import Database from 'better-sqlite3';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalHash, canonicalJson } from '../lib/canonical-json.ts';
import { databasePath, openDatabase, type Db } from '../governance/state/database.ts';
import { keyPairFromSeed, signDetached, toBase64, type Ed25519KeyPair } from '../governance/identity/ed25519.ts';
import { coordinatorKeyPath, readPrivateKeyFile } from '../governance/identity/key-file.ts';
import { newAdminChange, signAdminChange } from '../governance/identity/admin-changes.ts';
import { applyRegistryChange, readRegistry, trustedApprovers } from '../governance/identity/registry-store.ts';
import { registerModel, getModel, type RegisteredModel } from '../governance/registry/registry.ts';
import { createApproval, approvalId } from '../governance/approvals/record.ts';
import { recordApproval } from '../governance/approvals/store.ts';
import { checkGate, deployModel, getDeploymentState, rollbackModel } from '../governance/deploy/deployments.ts';
import { revocationImpact } from '../governance/deploy/revocation.ts';
import { setRecordedPolicy } from '../governance/deploy/policy-store.ts';
import { policyHash } from '../governance/deploy/floor.ts';
import { parsePolicy } from '../governance/deploy/policy.ts';
import { appendAudit, checkpointAudit, readAuditEntries } from '../governance/audit/log.ts';
import { AUDIT_ACTIONS } from '../governance/audit/actions.ts';
import { verifyAuditLog } from '../governance/audit/verify.ts';
import { checkAnchors, toWitnessed } from '../governance/audit/anchor.ts';
import { checkpointMessage, entryHash } from '../governance/audit/chain.ts';
import { modelDir } from '../governance/registry/artifacts.ts';
import { HEART_LOGISTIC, fixtureLineage, fixtureWeights, initTestRegistry, revokeTestKey, tempStateDir } from './governance-fixtures.ts';

const key = (n: number): Ed25519KeyPair => keyPairFromSeed(new Uint8Array(32).fill(n));
const admin = key(41); // Ada: admin and privacy officer
const owner = key(42); // Mo: model owner
const reviewer = key(43); // Rui: model owner too (a second owner, for the revocation case)
const mallory = key(44); // an insider with shell access and a key of her own
const DAY = 86_400_000;

/** A job spec whose own deployment section tries to switch the gate off. */
const LAX_SPEC = { name: 'heart', deployment: { roles: [], distinctSigners: false, requireFairnessPassed: false, requireContractChecksPassed: false } };

let state: { dir: string; cleanup: () => void };
let db: Db;
let models: RegisteredModel[];

function raw(fn: (r: Database.Database) => void): void {
  const r = new Database(databasePath(state.dir));
  try {
    fn(r);
  } finally {
    r.close();
  }
}

function approve(m: RegisteredModel, k: Ed25519KeyPair, role: string, opts: { decision?: 'approve' | 'reject'; stage?: 'canary' | 'production' } = {}): void {
  recordApproval(db, createApproval({ model: m, role, decision: opts.decision ?? 'approve', ...(opts.decision === 'reject' ? { reason: 'fails on the Swiss data' } : {}), key: k, validForMs: 30 * DAY, stage: opts.stage ?? 'production' }));
}

beforeAll(async () => {
  state = tempStateDir('tessera-tamper-');
  db = openDatabase(state.dir);
  initTestRegistry(db, [
    { name: 'Ada Admin', key: admin, roles: ['privacy-officer'] },
    { name: 'Mo Owner', key: owner, roles: ['model-owner'] },
    { name: 'Rui Reviewer', key: reviewer, roles: ['model-owner'] },
  ]);
  models = [];
  for (const seed of ['t1', 't2', 't3', 't4']) {
    models.push(await registerModel(db, state.dir, { modelSpec: HEART_LOGISTIC, weights: fixtureWeights(28, seed), lineage: fixtureLineage({ jobSpecHash: canonicalHash(LAX_SPEC) }), jobSpec: LAX_SPEC, name: 'heart' }));
  }
});

afterAll(() => {
  db.close();
  state.cleanup();
});

describe('insider tamper suite (issue 13)', { timeout: 60_000 }, () => {
  it('an empty policy — from the job spec, the state file or --policy — cannot switch the gate off', () => {
    const [v1] = models as [RegisteredModel];
    writeFileSync(join(state.dir, 'deployment-policy.json'), JSON.stringify({ roles: [], requireFairnessPassed: false }));
    const lax = join(state.dir, 'lax.json');
    writeFileSync(lax, JSON.stringify({ roles: [], distinctSigners: false, requireContractChecksPassed: false }));
    const out = deployModel(db, state.dir, { version: v1.version, stage: 'production', actor: 'mallory', policyFile: lax });
    expect(out.ok).toBe(false);
    expect(out.gate?.policySource).toBe(`default+state:deployment-policy.json+job-spec+file:${lax}`);
    // The default roles survive every layer, and the floor restores what the layers tried to waive.
    expect(out.gate?.roles.map((r) => r.role)).toEqual(['model-owner', 'privacy-officer']);
    expect(out.gate?.unmet.map((u) => u.code)).toEqual(['quorum-unmet', 'quorum-unmet', 'quorum-unmet']);
    expect(out.gate?.unmet.at(-1)?.message).toMatch(/floor requires approvals from 2 distinct people; 0 counted/);
    expect(getDeploymentState(db, 'heart').production).toBeNull();
    expect(readAuditEntries(db, { action: 'deployment' }).at(-1)?.details).toMatchObject({ outcome: 'refused', policySource: expect.stringMatching(/job-spec\+file:/) });
  });

  it('the recorded policy only tightens without an admin quorum; a laxer row written into SQLite is caught', () => {
    const strict = { roles: [{ role: 'privacy-officer', min: 1 }, { role: 'model-owner', min: 1 }], maxEpsilon: 4 };
    expect(setRecordedPolicy(db, strict, { actor: 'ops' })).toMatchObject({ version: 1, relaxed: false });
    const empty = { roles: [], requireFairnessPassed: false };
    expect(() => setRecordedPolicy(db, empty, { actor: 'mallory' })).toThrow(/relaxes the current one .* admin quorum/);
    // A change signed by a non-admin does not make the quorum.
    const current = policyHash(parsePolicy(strict, 't'));
    const forged = signAdminChange(newAdminChange({ op: 'policy.set', policyHash: policyHash(parsePolicy(empty, 't')), previousPolicyHash: current }, readRegistry(db).registry.head), mallory);
    expect(() => setRecordedPolicy(db, empty, { actor: 'mallory', change: forged })).toThrow(/needs valid signatures from 1 distinct admin person; it has 0/);
    // The insider writes the laxer policy straight into the table: the chain no longer verifies, the gate refuses.
    raw((r) =>
      r.prepare('INSERT INTO deployment_policies (policy, policy_hash, previous_hash, recorded_at, actor, change) VALUES (?, ?, ?, ?, ?, NULL)').run(
        canonicalJson(parsePolicy(empty, 't')),
        policyHash(parsePolicy(empty, 't')),
        current,
        new Date().toISOString(),
        'mallory',
      ),
    );
    const gate = checkGate(db, state.dir, models[0] as RegisteredModel);
    expect(gate.unmet).toContainEqual(expect.objectContaining({ code: 'policy-tampered', message: expect.stringMatching(/recorded policy version 2: it relaxes the policy before it without an admin-quorum signed change/) }));
    expect(verifyAuditLog(db)).toMatchObject({ ok: false, problems: expect.arrayContaining([expect.stringMatching(/recorded policy version 2/)]) });
    raw((r) => r.prepare('DELETE FROM deployment_policies WHERE id = 2').run());
    // Even the admin quorum cannot go below the floor: a signed relaxation to an empty policy is recorded,
    // but the gate raises its booleans and refuses its empty role list.
    const signed = signAdminChange(newAdminChange({ op: 'policy.set', policyHash: policyHash(parsePolicy(empty, 't')), previousPolicyHash: current }, readRegistry(db).registry.head), admin);
    expect(setRecordedPolicy(db, empty, { actor: 'ops', change: signed })).toMatchObject({ version: 2, relaxed: true, signers: ['ada-admin'] });
    rmSync(join(state.dir, 'deployment-policy.json'));
    const floored = checkGate(db, state.dir, models[0] as RegisteredModel);
    expect(floored.raisedByFloor).toEqual(['requireFairnessPassed: false → true']);
    expect(floored.unmet[0]).toMatchObject({ code: 'policy-below-floor', message: expect.stringMatching(/names no approving role; the floor requires at least 1 role and 2 distinct people/) });
    expect(readAuditEntries(db, { action: 'policy.changed' }).at(-1)).toMatchObject({ actor: 'admins:ada-admin', details: { relaxed: true, signers: ['ada-admin'] } });
    // Put the strict policy back (a tightening: no signature needed).
    expect(setRecordedPolicy(db, strict, { actor: 'ops' })).toMatchObject({ version: 3, relaxed: false });
  });

  it('self-enrolment fails: no admin signature, rows written around the registry, and two keys of one person', () => {
    // Through the module the CLI calls: a change signed only by Mallory's own key.
    const selfAdd = signAdminChange(newAdminChange({ op: 'approver.add', person: 'mallory', name: 'Mallory', publicKey: toBase64(mallory.publicKey), roles: ['model-owner'] }, readRegistry(db).registry.head), mallory);
    expect(() => applyRegistryChange(db, selfAdd)).toThrow(/needs valid signatures from 1 distinct admin person; it has 0/);
    // A replayed, once-valid change (bound to an older registry head) is refused too.
    const stale = signAdminChange(newAdminChange({ op: 'approver.add', person: 'mo-owner', name: 'Mo Owner', publicKey: toBase64(mallory.publicKey), roles: ['model-owner'] }, '0'.repeat(64)), admin);
    expect(() => applyRegistryChange(db, stale)).toThrow(/replayed or stale change/);
    // Straight into the approvers table, as Mo's second key: not in the signed chain, so it does not count.
    raw((r) => r.prepare('INSERT INTO approvers (key_id, person, public_key, name, roles, added_at) VALUES (?, ?, ?, ?, ?, ?)').run(mallory.keyId, 'mallory', toBase64(mallory.publicKey), 'Mallory', '["privacy-officer"]', new Date().toISOString()));
    expect(trustedApprovers(db).map((a) => a.keyId)).not.toContain(mallory.keyId);
    const v = models[0] as RegisteredModel;
    expect(() => approve(v, mallory, 'privacy-officer')).toThrow(/unknown-signer/);
    raw((r) => r.prepare('DELETE FROM approvers WHERE key_id = ?').run(mallory.keyId));
    // An honest second key for Mo (admin-signed) is the same person: Mo cannot fill two places with two keys.
    const moSecond = key(45);
    applyRegistryChange(db, signAdminChange(newAdminChange({ op: 'approver.add', person: 'mo-owner', name: 'Mo Owner', publicKey: toBase64(moSecond.publicKey), roles: ['model-owner'] }, readRegistry(db).registry.head), admin));
    const twoKeys = models[3] as RegisteredModel;
    approve(twoKeys, owner, 'model-owner');
    approve(twoKeys, moSecond, 'model-owner');
    const gate = checkGate(db, state.dir, twoKeys, { policyFile: writePolicy('owners.json', { roles: [{ role: 'model-owner', min: 2 }] }) });
    // The later decision of the person stands (whichever key signed it); two keys are still one person.
    expect(gate.roles.find((r) => r.role === 'model-owner')).toMatchObject({ approvals: 1, people: ['mo-owner'] });
    expect(gate.unmet).toContainEqual(expect.objectContaining({ code: 'quorum-unmet', role: 'model-owner' }));
  });

  it('an edited stored job spec or lineage blocks the gate and audit verify', () => {
    const v = models[2] as RegisteredModel;
    approve(v, admin, 'privacy-officer');
    approve(v, owner, 'model-owner');
    expect(checkGate(db, state.dir, v).ok).toBe(true);
    const original = raw2((r) => r.prepare('SELECT job_spec FROM models WHERE version = ?').pluck().get(v.version) as string);
    raw((r) => r.prepare('UPDATE models SET job_spec = ? WHERE version = ?').run(canonicalJson({ ...LAX_SPEC, deployment: { roles: [{ role: 'model-owner', min: 1 }] } }), v.version));
    const gate = checkGate(db, state.dir, getModel(db, v.version) as RegisteredModel);
    expect(gate.unmet).toContainEqual(expect.objectContaining({ code: 'integrity-mismatch', message: expect.stringMatching(/stored job spec no longer hashes/) }));
    expect(verifyAuditLog(db)).toMatchObject({ ok: false, reason: expect.stringMatching(/stored job spec no longer hashes/) });
    // Lineage and its hash rewritten together: the hash audited at registration gives it away.
    raw((r) => r.prepare('UPDATE models SET job_spec = ? WHERE version = ?').run(original, v.version));
    const lineage = { ...getModel(db, v.version)?.lineage, metrics: { accuracy: 0.99 } };
    raw((r) => r.prepare('UPDATE models SET lineage = ?, lineage_hash = ? WHERE version = ?').run(canonicalJson(lineage), canonicalHash(lineage), v.version));
    expect(checkGate(db, state.dir, getModel(db, v.version) as RegisteredModel).unmet.map((u) => u.code)).toContain('integrity-mismatch');
    raw((r) => r.prepare('UPDATE models SET lineage = ?, lineage_hash = ? WHERE version = ?').run(canonicalJson(v.lineage), v.lineageHash, v.version));
    expect(verifyAuditLog(db).ok).toBe(true);
  });

  it('an approval with a +14:00 offset is refused; decisions compare as instants', () => {
    const v = models[1] as RegisteredModel;
    const signed = createApproval({ model: v, role: 'model-owner', decision: 'approve', key: owner, validForMs: DAY });
    // Re-sign the same decision with an offset that sorts after any UTC string of the same day.
    const payload = { ...signed.payload, issuedAt: signed.payload.issuedAt.replace('Z', '+14:00') };
    const record = { payload, signature: toBase64(signDetached(canonicalJson(payload), owner.seed)) };
    expect(() => recordApproval(db, record)).toThrow(/malformed/);
    expect(approvalId(payload)).not.toBe(approvalId(signed.payload));
  });

  it('the honest path: canary → production → rollback, and rollback refuses a rejected or tampered version', () => {
    const [v1, v2] = models as [RegisteredModel, RegisteredModel];
    for (const m of [v1, v2]) {
      approve(m, admin, 'privacy-officer');
      approve(m, owner, 'model-owner');
    }
    expect(deployModel(db, state.dir, { version: v1.version, stage: 'production', actor: 'ops' }).ok).toBe(true);
    expect(deployModel(db, state.dir, { version: v2.version, stage: 'canary', actor: 'ops' }).ok).toBe(true);
    expect(deployModel(db, state.dir, { version: v2.version, stage: 'production', actor: 'ops' }).ok).toBe(true);
    // Rui rejects v1 after it left production: rolling back to it is refused, naming the rejection.
    approve(v1, reviewer, 'model-owner', { decision: 'reject' });
    expect(() => rollbackModel(db, state.dir, { name: 'heart', actor: 'ops' })).toThrow(/refused: rejected: Rui Reviewer .* rejected the model as model-owner: fails on the Swiss data/);
    expect(readAuditEntries(db, { action: 'rollback.refused' }).at(-1)?.details).toMatchObject({ to: v1.version });
    // Rui approves later (a newer instant): the rejection no longer stands, but a flipped byte in v1's weights refuses it.
    approve(v1, reviewer, 'model-owner');
    const weights = join(modelDir(state.dir, v1.version), 'weights.bin');
    const bytes = new Uint8Array(readFileSync(weights));
    bytes[3] = (bytes[3] ?? 0) ^ 1;
    writeFileSync(weights, bytes);
    expect(() => rollbackModel(db, state.dir, { name: 'heart', actor: 'ops' })).toThrow(/artifacts-invalid: .*the files were altered/);
    bytes[3] = (bytes[3] ?? 0) ^ 1;
    writeFileSync(weights, bytes);
    expect(rollbackModel(db, state.dir, { name: 'heart', actor: 'ops', reason: 'latency' })).toMatchObject({ production: v1.version });
  });

  it('a canary approved through a key later revoked is paused, and the pause is audited', () => {
    const [v1, , v3] = models as [RegisteredModel, RegisteredModel, RegisteredModel];
    // v3 was approved by Ada and Mo (above); it goes out as canary beside v1.
    expect(deployModel(db, state.dir, { version: v3.version, stage: 'canary', percent: 10, actor: 'ops' }).ok).toBe(true);
    revokeTestKey(db, admin, owner.keyId, 'laptop stolen');
    const effects = revocationImpact(db, owner.keyId, { actor: 'admins:ada-admin' });
    expect(effects).toContainEqual(expect.objectContaining({ name: 'heart', version: v3.version, stage: 'canary', action: 'paused' }));
    expect(getDeploymentState(db, 'heart')).toMatchObject({ production: v1.version, canary: null });
    expect(readAuditEntries(db, { action: 'deployment.paused' }).at(-1)).toMatchObject({ subject: v3.version, details: { revokedKey: owner.keyId } });
    expect(verifyAuditLog(db).ok).toBe(true);
  });

  it('the checkpoint key inside the state lets an insider edit, truncate and re-sign — the witnessed anchor catches it', () => {
    for (let i = 0; i < 12; i++) appendAudit(db, { actor: 'coordinator', action: AUDIT_ACTIONS.jobCreated, subject: `job-${i}` });
    checkpointAudit(db);
    const entries = readAuditEntries(db);
    const anchor = toWitnessed(checkpointAudit(db) as NonNullable<ReturnType<typeof checkpointAudit>>);
    const last = entries.length;
    // Tail truncation of 1, 7 and 30 entries (with their checkpoints): caught by the anchor, naming the gap.
    expect(last).toBeGreaterThan(30);
    for (const n of [1, 7, 30]) {
      expect(checkAnchors(entries.slice(0, last - n), [anchor])[0]?.reason).toBe(
        `entries ${last - n + 1}–${last} are missing: the log ends at entry ${last - n}, but a checkpoint witnessed at ${anchor.time} covers entry ${last} (the tail was cut)`,
      );
    }
    expect(checkAnchors([], [anchor])[0]?.reason).toMatch(new RegExp(`the log is empty, but .* covers entries 1–${last}: all ${last} entries were deleted`));
    // The real thing on the real state: edit entry 5, re-hash everything after it, re-sign with the in-state key.
    const seed = readPrivateKeyFile(coordinatorKeyPath(state.dir)).seed;
    raw((r) => {
      r.exec('DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_checkpoints_no_delete;');
      const rows = readAuditEntries(db);
      let prev = rows[3]?.hash as string;
      for (const e of rows.slice(4, last - 7)) {
        const body = { ...e, prevHash: prev, details: e.seq === 5 ? { edited: true } : e.details };
        const hash = entryHash(body);
        r.prepare('UPDATE audit_log SET details = ?, prev_hash = ?, hash = ? WHERE seq = ?').run(canonicalJson(body.details), prev, hash, e.seq);
        prev = hash;
      }
      r.prepare('DELETE FROM audit_log WHERE seq > ?').run(last - 7);
      r.prepare('DELETE FROM audit_checkpoints WHERE seq >= 5').run();
      const time = new Date().toISOString();
      r.prepare('INSERT INTO audit_checkpoints (seq, hash, time, key_id, public_key, signature) VALUES (?, ?, ?, ?, ?, ?)').run(
        last - 7,
        prev,
        time,
        keyPairFromSeed(seed).keyId,
        toBase64(keyPairFromSeed(seed).publicKey),
        toBase64(signDetached(checkpointMessage({ seq: last - 7, hash: prev, time }), seed)),
      );
    });
    // Without an anchor the re-signed chain verifies (the attack of issue 13) …
    expect(verifyAuditLog(db).reason ?? '').not.toMatch(/entry 5/);
    // … with the witnessed checkpoint it does not, and the reason names the missing entries.
    expect(verifyAuditLog(db, { anchors: [anchor] })).toMatchObject({ ok: false, firstBadEntry: last - 6, reason: expect.stringMatching(new RegExp(`entries ${last - 6}–${last} are missing`)) });
    // An older witness (before the cut, after entry 5) shows the fork at its own position.
    const older = { ...anchor, seq: 6, hash: entries[5]?.hash as string };
    const olderSigned = { ...older, signature: toBase64(signDetached(checkpointMessage(older), seed)) };
    expect(verifyAuditLog(db, { anchors: [olderSigned] })).toMatchObject({ ok: false, firstBadEntry: 6, reason: expect.stringMatching(/entry 6 differs from the checkpoint witnessed .*\(a fork or replacement\)/) });
  });
});

function raw2<T>(fn: (r: Database.Database) => T): T {
  const r = new Database(databasePath(state.dir));
  try {
    return fn(r);
  } finally {
    r.close();
  }
}

function writePolicy(name: string, value: unknown): string {
  const p = join(state.dir, name);
  writeFileSync(p, JSON.stringify(value));
  return p;
}

describe('hand-written records are strict (issue 13 §5)', () => {
  it('refuses an approval record with an unknown key, naming it', () => {
    const signed = createApproval({ model: models[0] as RegisteredModel, role: 'privacy-officer', decision: 'approve', key: admin, validForMs: DAY });
    const payload = { ...signed.payload, overrides: { quorum: 0 } };
    const record = { payload, signature: toBase64(signDetached(canonicalJson(payload), admin.seed)) };
    expect(() => recordApproval(db, record)).toThrow(/malformed.*Unrecognized key.*overrides/);
  });
});
