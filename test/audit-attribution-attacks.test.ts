/**
 * Signed attribution in the audit log (issue 13 §6) attacked by an insider with shell access to the state
 * directory, including the checkpoint key kept there: she re-hashes the chain after each edit and re-signs the
 * checkpoint, so the hash chain alone verifies. What remains is each entry's Ed25519 attestation over the
 * RFC 8785 canonical JSON of its own action, subject, details and time: `audit verify` must name the entry
 * when she (1) rewrites the actor of Mo's signed deploy to Ada, (2) rewrites it to an unsigned local user,
 * (3) replays Mo's deploy signature onto another action, (4) strips the attestation but keeps the person.
 * The honest state verifies first.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../lib/canonical-json.ts';
import { databasePath, openDatabase, type Db } from '../governance/state/database.ts';
import { keyPairFromSeed, signDetached, toBase64 } from '../governance/identity/ed25519.ts';
import { coordinatorKeyPath, generateKeyFile, readPrivateKeyFile } from '../governance/identity/key-file.ts';
import { registerModel } from '../governance/registry/registry.ts';
import { createApproval } from '../governance/approvals/record.ts';
import { recordApproval } from '../governance/approvals/store.ts';
import { deployModel } from '../governance/deploy/deployments.ts';
import { appendAudit, checkpointAudit, readAuditEntries } from '../governance/audit/log.ts';
import { attributeTo } from '../governance/audit/attribution.ts';
import { verifyAuditLog } from '../governance/audit/verify.ts';
import { checkpointMessage, entryHash, type AuditEntry } from '../governance/audit/chain.ts';
import { HEART_LOGISTIC, fixtureLineage, fixtureWeights, initTestRegistry, tempStateDir } from './governance-fixtures.ts';

let state: { dir: string; cleanup: () => void };
let db: Db;
let deploySeq: number;
let adaKeyId: string;
let moKeyId: string;

beforeAll(async () => {
  state = tempStateDir('tessera-attribution-');
  const ada = generateKeyFile(join(state.dir, 'ada.key'));
  const olivia = generateKeyFile(join(state.dir, 'olivia.key'));
  const mo = generateKeyFile(join(state.dir, 'mo.key'));
  adaKeyId = ada.keyId;
  moKeyId = mo.keyId;
  db = openDatabase(join(state.dir, 'state'));
  initTestRegistry(db, [
    { name: 'Ada Admin', key: ada, roles: ['admin'] },
    { name: 'Olivia Officer', key: olivia, roles: ['privacy-officer'] },
    { name: 'Mo Owner', key: mo, roles: ['model-owner'] },
  ], { at: new Date(Date.now() - 60_000) });
  const model = await registerModel(db, join(state.dir, 'state'), { modelSpec: HEART_LOGISTIC, weights: fixtureWeights(28, 'attr'), lineage: fixtureLineage(), name: 'heart' });
  for (const [k, role] of [[olivia, 'privacy-officer'], [mo, 'model-owner']] as const) recordApproval(db, createApproval({ model, role, decision: 'approve', key: k, validForMs: 86_400_000 }));
  const who = attributeTo(db, join(state.dir, 'mo.key'), 'deploy');
  const out = deployModel(db, join(state.dir, 'state'), { version: model.version, stage: 'production', actor: who.actor, attest: who.attest });
  expect(out.ok).toBe(true);
  appendAudit(db, { actor: 'cli:operator (unsigned)', action: 'ledger.budget-changed', subject: 'cleveland', details: { oldEpsilon: 1, newEpsilon: 3, reason: 'more rounds' } });
  checkpointAudit(db);
  deploySeq = (readAuditEntries(db).find((e) => e.action === 'deployment') as AuditEntry).seq;
});

afterAll(() => {
  db.close();
  state.cleanup();
});

/** The insider's rewrite: change entries through `edit`, re-hash the chain after them, re-sign with the in-state key. */
function rewrite(edit: (e: AuditEntry) => Partial<Pick<AuditEntry, 'actor' | 'details'>>): void {
  const dir = join(state.dir, 'state');
  const seed = readPrivateKeyFile(coordinatorKeyPath(dir)).seed;
  const r = new Database(databasePath(dir));
  try {
    r.exec('DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_checkpoints_no_delete;');
    const rows = readAuditEntries(db);
    let prev = rows[0]?.prevHash as string;
    for (const e of rows) {
      const body = { ...e, ...edit(e), prevHash: prev };
      const hash = entryHash(body);
      r.prepare('UPDATE audit_log SET actor = ?, details = ?, prev_hash = ?, hash = ? WHERE seq = ?').run(body.actor, canonicalJson(body.details), prev, hash, e.seq);
      prev = hash;
    }
    r.prepare('DELETE FROM audit_checkpoints').run();
    const time = new Date().toISOString();
    const last = rows.at(-1) as AuditEntry;
    const pair = keyPairFromSeed(seed);
    r.prepare('INSERT INTO audit_checkpoints (seq, hash, time, key_id, public_key, signature) VALUES (?, ?, ?, ?, ?, ?)').run(last.seq, prev, time, pair.keyId, toBase64(pair.publicKey), toBase64(signDetached(checkpointMessage({ seq: last.seq, hash: prev, time }), seed)));
  } finally {
    r.close();
  }
}

describe('signed attribution under audit verify', () => {
  it('the honest state verifies, and the deploy is attributed to Mo as a person with an attestation', () => {
    expect(verifyAuditLog(db)).toMatchObject({ ok: true, problems: [] });
    const entry = readAuditEntries(db).find((e) => e.seq === deploySeq) as AuditEntry;
    expect(entry.actor).toBe(`person:mo-owner/${moKeyId}`);
    expect((entry.details as { attestation?: { keyId: string } }).attestation?.keyId).toBe(moKeyId);
  });

  it("(1) the actor of Mo's signed deploy rewritten to Ada, chain re-hashed and re-signed: named", () => {
    rewrite((e) => (e.seq === deploySeq ? { actor: `person:ada-admin/${adaKeyId}` } : {}));
    const v = verifyAuditLog(db);
    expect(v.ok).toBe(false);
    expect(v.problems).toContain(`entry ${deploySeq}: the actor 'person:ada-admin/${adaKeyId}' is not the signer of its attestation (${moKeyId})`);
  });

  it('(2) rewritten to an unsigned local user: named', () => {
    rewrite((e) => (e.seq === deploySeq ? { actor: 'cli:root (unsigned)' } : {}));
    expect(verifyAuditLog(db).problems).toContain(`entry ${deploySeq}: the actor 'cli:root (unsigned)' is not the signer of its attestation (${moKeyId})`);
  });

  it("(3) Mo's deploy signature replayed onto the budget change, attributed to Mo: named", () => {
    const deploy = readAuditEntries(db).find((e) => e.seq === deploySeq) as AuditEntry;
    const attestation = (deploy.details as { attestation: unknown }).attestation;
    rewrite((e) => (e.seq === deploySeq ? { actor: `person:mo-owner/${moKeyId}` } : e.action === 'ledger.budget-changed' ? { actor: `person:mo-owner/${moKeyId}`, details: { ...(e.details as object), attestation } } : {}));
    const budgetSeq = (readAuditEntries(db).find((e) => e.action === 'ledger.budget-changed') as AuditEntry).seq;
    const v = verifyAuditLog(db);
    expect(v.problems).toEqual([`entry ${budgetSeq}: the attestation by ${moKeyId} does not verify over this entry's action, subject, details, time and place in the log (edited, or a signature replayed from another entry)`]);
  });

  it('(4) the attestation stripped while the actor still names Mo: named', () => {
    rewrite((e) => {
      if (e.action === 'ledger.budget-changed') return { actor: 'cli:operator (unsigned)', details: { oldEpsilon: 1, newEpsilon: 3, reason: 'more rounds' } };
      if (e.seq !== deploySeq) return {};
      const { attestation: _dropped, ...rest } = e.details as Record<string, unknown>;
      return { details: rest };
    });
    expect(verifyAuditLog(db).problems).toEqual([`entry ${deploySeq}: the actor 'person:mo-owner/${moKeyId}' claims a signed identity but the entry carries no attestation`]);
  });
});
