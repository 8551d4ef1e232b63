/**
 * Issue 13 §6, attacked first: an insider with shell access to a PRODUCTION coordinator state (its approver
 * registry initialised by `tessera approvers init`) tries to change governance state without an approver's
 * signature, through real `tessera` processes (test/support/cli.ts) on a real state directory:
 *  1. every governance command run without --key is refused with TESSERA_ERR_SIGNING_KEY_REQUIRED naming the
 *     command and the missing key, and nothing changes (the cap stays ε 1, no audit entry is added);
 *  2. with a key the registry does not hold (her own), TESSERA_ERR_SIGNER_UNKNOWN naming the key: refused;
 *  3. she forges the signer of an audited action — the signed cap change rewritten to another identity, or the
 *     admin-signed registry init rewritten to `admins:mallory` — re-hashing the chain and re-signing the
 *     checkpoint with the key kept in the state: `tessera audit verify` exits 1 naming the entry;
 *  4. she replays an old signed budget change (Ada's raise to ε 3, later lowered again): copied to the end of
 *     the log with the cap set in SQLite, the attestation no longer verifies at its new place; setting the cap
 *     in SQLite alone leaves it unequal to the latest audited change. Both named by `audit verify`.
 * The honest path (signed by Ada's key) is accepted and verifies.
 */
import Database from 'better-sqlite3';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../lib/canonical-json.ts';
import { databasePath } from '../governance/state/database.ts';
import { keyPairFromSeed, signDetached, toBase64 } from '../governance/identity/ed25519.ts';
import { coordinatorKeyPath, generateKeyFile, readPrivateKeyFile } from '../governance/identity/key-file.ts';
import { checkpointMessage, entryHash, type AuditEntry } from '../governance/audit/chain.ts';
import { cli } from './support/cli.ts';
import { tempStateDir } from './governance-fixtures.ts';

let tmp: { dir: string; cleanup: () => void };
let state: string;
let ada: string;
let eve: string;
let eveKeyId: string;

beforeAll(async () => {
  tmp = tempStateDir('tessera-signed-cli-');
  state = join(tmp.dir, 'state');
  ada = join(tmp.dir, 'ada.key');
  eve = join(tmp.dir, 'eve.key');
  generateKeyFile(ada);
  eveKeyId = generateKeyFile(eve).keyId;
  writeFileSync(join(tmp.dir, 'strict.json'), '{"roles":[{"role":"privacy-officer","min":1}],"maxEpsilon":4}\n');
  const init = await cli('approvers', 'init', '--state', state, '--name', 'Ada Admin', '--key', ada, '--roles', 'privacy-officer', '--admin-quorum', '1');
  expect(init.code, init.stderr).toBe(0);
  const cap = await cli('ledger', 'budget', 'set', '--state', state, '--org', 'cleveland', '--epsilon', '1', '--key', ada);
  expect(cap.code, cap.stderr).toBe(0);
}, 90_000);

afterAll(() => tmp.cleanup());

function read<T>(dir: string, fn: (db: Database.Database) => T): T {
  const db = new Database(databasePath(dir), { readonly: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

const capOf = (dir: string): number | undefined => read(dir, (db) => db.prepare('SELECT max_epsilon FROM ledger_org_caps WHERE org_id = ?').pluck().get('cleveland') as number | undefined);
const entryCount = (dir: string): number => read(dir, (db) => db.prepare('SELECT COUNT(*) FROM audit_log').pluck().get() as number);

function entries(dir: string): AuditEntry[] {
  return read(dir, (db) =>
    (db.prepare('SELECT * FROM audit_log ORDER BY seq').all() as Array<{ seq: number; time: string; actor: string; action: string; subject: string; details: string; prev_hash: string; hash: string }>).map((r) => ({
      seq: r.seq,
      time: r.time,
      actor: r.actor,
      action: r.action,
      subject: r.subject,
      details: JSON.parse(r.details) as unknown,
      prevHash: r.prev_hash,
      hash: r.hash,
    })),
  );
}

/**
 * The insider's rewrite of a copy of the state: replace the log with `next` (edited, reordered or extended),
 * re-hash every entry, replace the checkpoints with one she signs with the checkpoint key kept in the state, and
 * run `sql` against the database (e.g. setting the cap). The hash chain and checkpoint then verify.
 */
function insider(name: string, next: (log: AuditEntry[]) => AuditEntry[], sql = ''): string {
  const dir = join(tmp.dir, name);
  cpSync(state, dir, { recursive: true });
  const seed = readPrivateKeyFile(coordinatorKeyPath(dir)).seed;
  const db = new Database(databasePath(dir));
  try {
    db.exec('DROP TRIGGER IF EXISTS audit_log_no_update; DROP TRIGGER IF EXISTS audit_log_no_delete; DROP TRIGGER IF EXISTS audit_checkpoints_no_delete;');
    const log = next(entries(dir));
    db.prepare('DELETE FROM audit_log').run();
    db.prepare('DELETE FROM audit_checkpoints').run();
    let prev = '0'.repeat(64);
    const insert = db.prepare('INSERT INTO audit_log (seq, time, actor, action, subject, details, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (const [i, e] of log.entries()) {
      const body = { seq: i + 1, time: e.time, actor: e.actor, action: e.action, subject: e.subject, details: e.details, prevHash: prev };
      prev = entryHash(body);
      insert.run(body.seq, body.time, body.actor, body.action, body.subject, canonicalJson(body.details), body.prevHash, prev);
    }
    const time = new Date().toISOString();
    const pair = keyPairFromSeed(seed);
    db.prepare('INSERT INTO audit_checkpoints (seq, hash, time, key_id, public_key, signature) VALUES (?, ?, ?, ?, ?, ?)').run(log.length, prev, time, pair.keyId, toBase64(pair.publicKey), toBase64(signDetached(checkpointMessage({ seq: log.length, hash: prev, time }), seed)));
    if (sql !== '') db.exec(sql);
  } finally {
    db.close();
  }
  return dir;
}

async function verify(dir: string): Promise<{ code: number; ok: boolean; problems: string[]; reason: string }> {
  const r = await cli('audit', 'verify', '--state', dir, '--json');
  const doc = JSON.parse(r.stdout) as { ok: boolean; problems: string[]; reason: string | null };
  return { code: r.code, ok: doc.ok, problems: doc.problems, reason: doc.reason ?? '' };
}

describe('governance on a production state needs a signing key (real CLI processes)', () => {
  it('1. every governance command without --key is refused, naming the command and the missing key; nothing changes', async () => {
    const before = entryCount(state);
    const commands: Array<[string, string[]]> = [
      ['ledger budget set', ['ledger', 'budget', 'set', '--state', state, '--org', 'cleveland', '--epsilon', '3']],
      ['ledger budget set', ['ledger', 'budget', 'set', '--state', state, '--job', 'job-x', '--epsilon', '3']],
      ['ledger budget change', ['ledger', 'budget', 'change', '--state', state, '--job', 'job-x', '--epsilon', '3', '--officer', 'eve', '--reason', 'more rounds']],
      ['consent grant', ['consent', 'grant', '--state', state, '--org', 'cleveland', '--dataset', 'heart', '--purposes', 'research', '--expires', '2099-01-01', '--max-epsilon', '5', '--retention', '30']],
      ['consent revoke', ['consent', 'revoke', '--state', state, '--org', 'cleveland', '--reason', 'test']],
      ['deploy', ['deploy', '--state', state, '--model', 'deadbeefdeadbeef', '--stage', 'production']],
      ['rollback', ['rollback', '--state', state, '--name', 'heart']],
      ['deployment-policy set', ['deployment-policy', 'set', '--state', state, '--file', join(tmp.dir, 'strict.json')]],
    ];
    const results = await Promise.all(commands.map(([, args]) => cli(...args)));
    for (const [i, r] of results.entries()) {
      const command = commands[i]?.[0] ?? '';
      expect(r.code, `${command}: ${r.stderr}`).toBe(1);
      expect(r.stderr).toContain('TESSERA_ERR_SIGNING_KEY_REQUIRED');
      expect(r.stderr).toContain(`tessera ${command}`);
      expect(r.stderr).toContain('--key');
    }
    expect(capOf(state)).toBe(1);
    expect(entryCount(state)).toBe(before);
  }, 120_000);

  it("2. a key the registry does not hold is refused, naming the key; the cap stays ε 1", async () => {
    const r = await cli('ledger', 'budget', 'set', '--state', state, '--org', 'cleveland', '--epsilon', '3', '--key', eve);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('TESSERA_ERR_SIGNER_UNKNOWN');
    expect(r.stderr).toContain(eveKeyId);
    expect(capOf(state)).toBe(1);
  }, 60_000);

  it('3. the honest signed raise is accepted and verifies; a forged signer of it, or of the admin-signed init, is named', async () => {
    const raise = await cli('ledger', 'budget', 'set', '--state', state, '--org', 'cleveland', '--epsilon', '3', '--key', ada);
    expect(raise.code, raise.stderr).toBe(0);
    const lower = await cli('ledger', 'budget', 'set', '--state', state, '--org', 'cleveland', '--epsilon', '1', '--key', ada);
    expect(lower.code, lower.stderr).toBe(0);
    const log = entries(state);
    const raised = log.find((e) => e.action === 'ledger.cap-set' && (e.details as { maxEpsilon: number }).maxEpsilon === 3) as AuditEntry;
    expect(raised.actor).toMatch(/^person:ada-admin\/[0-9a-f]{32}$/);
    expect((raised.details as { attestation?: { type: string } }).attestation?.type).toBe('tessera.audit-attestation/v2');
    const honest = await verify(state);
    expect(honest, honest.reason).toMatchObject({ code: 0, ok: true, problems: [] });

    const toEve = insider('forged-signer', (l) => l.map((e) => (e.seq === raised.seq ? { ...e, actor: `key:${eveKeyId}` } : e)));
    const toRoot = insider('forged-unsigned', (l) => l.map((e) => (e.seq === raised.seq ? { ...e, actor: 'cli:root (unsigned)' } : e)));
    const init = log.find((e) => e.action === 'approvers.initialised') as AuditEntry;
    const toMallory = insider('forged-admins', (l) => l.map((e) => (e.seq === init.seq ? { ...e, actor: 'admins:mallory' } : e)));
    const [a, b, c] = await Promise.all([verify(toEve), verify(toRoot), verify(toMallory)]);
    expect(a.code).toBe(1);
    expect(a.problems).toContain(`entry ${raised.seq}: the actor 'key:${eveKeyId}' is not the signer of its attestation (${(raised.details as { attestation: { keyId: string } }).attestation.keyId})`);
    expect(b.code).toBe(1);
    expect(b.problems.some((p) => p.startsWith(`entry ${raised.seq}: the actor 'cli:root (unsigned)' is not the signer`))).toBe(true);
    expect(c.code).toBe(1);
    expect(c.problems).toContain(`entry ${init.seq}: attributed to 'admins:mallory', but the registry record it names is signed by ada-admin`);
  }, 120_000);

  it('4. an old signed budget change replayed — copied to the end of the log, or its value written to SQLite — is named', async () => {
    const log = entries(state);
    const raised = log.find((e) => e.action === 'ledger.cap-set' && (e.details as { maxEpsilon: number }).maxEpsilon === 3) as AuditEntry;
    const latest = log.filter((e) => e.action === 'ledger.cap-set').at(-1) as AuditEntry;
    const setCap = "UPDATE ledger_org_caps SET max_epsilon = 3 WHERE org_id = 'cleveland';";
    const copied = insider('replay-copied', (l) => [...l, { ...raised }], setCap);
    const written = insider('replay-sql', (l) => l, setCap);
    const [a, b] = await Promise.all([verify(copied), verify(written)]);
    expect(a.code).toBe(1);
    expect(a.problems.some((p) => p.startsWith(`entry ${log.length + 1}: the attestation by`) && p.includes('place in the log'))).toBe(true);
    expect(b.code).toBe(1);
    expect(b.problems).toContain(`ledger: the cap of 'cleveland' is ε 3, but its latest audited change (entry ${latest.seq}) set ε 1 (changed in storage, or an old change replayed)`);
    expect(capOf(state)).toBe(1);
  }, 120_000);
});
