import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { databasePath, openDatabase } from '../state/database.ts';
import { generateKeyFile, readPublicKeyFile } from '../identity/key-file.ts';
import { AUDIT_ACTIONS } from './actions.ts';
import { appendAudit, checkpointAudit, readAuditCheckpoints, readAuditEntries } from './log.ts';
import { exportAuditJsonl, verifyAuditJsonl, verifyAuditLog } from './verify.ts';
import { entryHash } from './chain.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function freshState(): string {
  const d = mkdtempSync(join(tmpdir(), 'tessera-audit-'));
  dirs.push(d);
  return d;
}

const N = 10;

/** A log of N entries with a checkpoint every 4 entries (so entries 9–10 lie after the last checkpoint). */
function buildLog(state: string): void {
  const db = openDatabase(state);
  for (let i = 1; i <= N; i++) {
    appendAudit(db, { actor: 'coordinator', action: AUDIT_ACTIONS.roundCommitted, subject: `job-1/${i}`, details: { round: i, epsilonCharge: 0.1 * i } }, { checkpointEvery: 4 });
  }
  db.close();
}

/** Opens the database file directly, as someone editing the file would, with the append-only triggers dropped. */
function tamper(state: string, sql: string[]): void {
  const raw = new Database(databasePath(state));
  for (const t of ['audit_log_no_update', 'audit_log_no_delete']) raw.exec(`DROP TRIGGER IF EXISTS ${t}`);
  for (const s of sql) raw.exec(s);
  raw.close();
}

function verify(state: string) {
  const db = openDatabase(state);
  try {
    return verifyAuditLog(db);
  } finally {
    db.close();
  }
}

describe('audit log', () => {
  it('chains entries, checkpoints every N and after job.stopped, and verifies', () => {
    const state = freshState();
    buildLog(state);
    const db = openDatabase(state);
    const entries = readAuditEntries(db);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(entries[1]?.prevHash).toBe(entries[0]?.hash);
    expect(entries[0]?.hash).toBe(entryHash(entries[0]!));
    expect(readAuditCheckpoints(db).map((c) => c.seq)).toEqual([4, 8]);
    appendAudit(db, { actor: 'coordinator', action: AUDIT_ACTIONS.jobStopped, subject: 'job-1' });
    expect(readAuditCheckpoints(db).map((c) => c.seq)).toEqual([4, 8, 11]);
    expect(verifyAuditLog(db)).toEqual({ ok: true, entries: 11, checkpoints: 3, firstBadEntry: null, reason: null, problems: [], anchors: 0 });
    db.close();
  });

  it('refuses UPDATE and DELETE through SQLite and required details that are missing', () => {
    const state = freshState();
    buildLog(state);
    const db = openDatabase(state);
    expect(() => db.exec("UPDATE audit_log SET actor = 'x' WHERE seq = 1")).toThrow(/append-only/);
    expect(() => db.exec('DELETE FROM audit_log WHERE seq = 1')).toThrow(/append-only/);
    expect(() => appendAudit(db, { actor: 'c', action: AUDIT_ACTIONS.roundCommitted, subject: 'j/1', details: { round: 1 } })).toThrow(/epsilonCharge/);
    expect(() => appendAudit(db, { actor: 'c', action: AUDIT_ACTIONS.clientExcluded, subject: 'org-a' })).toThrow(/reason/);
    db.close();
  });

  it('joins the caller transaction: a rolled-back change leaves no entry', () => {
    const state = freshState();
    const db = openDatabase(state);
    db.exec('CREATE TABLE t (x INTEGER)');
    expect(() =>
      db.transaction(() => {
        db.prepare('INSERT INTO t VALUES (1)').run();
        appendAudit(db, { actor: 'coordinator', action: AUDIT_ACTIONS.jobCreated, subject: 'job-2' });
        throw new Error('abort');
      })(),
    ).toThrow('abort');
    expect(readAuditEntries(db)).toHaveLength(0);
    db.transaction(() => appendAudit(db, { actor: 'coordinator', action: AUDIT_ACTIONS.jobCreated, subject: 'job-2' }))();
    expect(readAuditEntries(db)).toHaveLength(1);
    db.close();
  });

  it.each(Array.from({ length: N }, (_, i) => i + 1))('detects a change to entry %i and names it', (k) => {
    const state = freshState();
    buildLog(state);
    tamper(state, [`UPDATE audit_log SET details = '{"epsilonCharge":0,"round":${k}}' WHERE seq = ${k}`]);
    const r = verify(state);
    expect(r.ok).toBe(false);
    expect(r.firstBadEntry).toBe(k);
    expect(r.reason).toMatch(/do not match its hash/);
  });

  it.each(Array.from({ length: N - 1 }, (_, i) => i + 1))('detects the deletion of entry %i and names it', (k) => {
    const state = freshState();
    buildLog(state);
    tamper(state, [`DELETE FROM audit_log WHERE seq = ${k}`]);
    const r = verify(state);
    expect(r).toMatchObject({ ok: false, firstBadEntry: k });
    expect(r.reason).toMatch(new RegExp(`entry ${k} is missing`));
  });

  it.each(Array.from({ length: N - 1 }, (_, i) => i + 1))('detects swapping entries %i and %i+1 and names the first', (k) => {
    const state = freshState();
    buildLog(state);
    const cols = 'time, actor, action, subject, details, prev_hash, hash';
    tamper(state, [
      `CREATE TEMP TABLE a AS SELECT ${cols} FROM audit_log WHERE seq = ${k}`,
      `CREATE TEMP TABLE b AS SELECT ${cols} FROM audit_log WHERE seq = ${k + 1}`,
      `DELETE FROM audit_log WHERE seq IN (${k}, ${k + 1})`,
      `INSERT INTO audit_log (seq, ${cols}) SELECT ${k}, ${cols} FROM b`,
      `INSERT INTO audit_log (seq, ${cols}) SELECT ${k + 1}, ${cols} FROM a`,
    ]);
    const r = verify(state);
    expect(r).toMatchObject({ ok: false, firstBadEntry: k });
  });

  it('detects deletion of the tail covered by a checkpoint', () => {
    const state = freshState();
    buildLog(state);
    tamper(state, ['DELETE FROM audit_log WHERE seq >= 7']);
    expect(verify(state)).toMatchObject({ ok: false, firstBadEntry: 7 });
  });

  it('detects a rewritten chain (changed entry re-hashed onward) through the signed checkpoint', () => {
    const state = freshState();
    buildLog(state);
    const db = openDatabase(state);
    const entries = readAuditEntries(db);
    db.close();
    // Rewrite entry 2 and every hash after it, as an attacker without the coordinator's key would.
    const sql: string[] = [];
    let prev = entries[0]!.hash;
    for (const e of entries.slice(1)) {
      const details = e.seq === 2 ? { round: 2, epsilonCharge: 0 } : e.details;
      const body = { ...e, details, prevHash: prev };
      const hash = entryHash(body);
      sql.push(`UPDATE audit_log SET details = '${JSON.stringify(details)}', prev_hash = '${prev}', hash = '${hash}' WHERE seq = ${e.seq}`);
      prev = hash;
    }
    tamper(state, sql);
    const r = verify(state);
    expect(r).toMatchObject({ ok: false, firstBadEntry: 4 });
    expect(r.reason).toMatch(/checkpoint/);
  });

  it('detects checkpoints re-signed with a key other than the pinned coordinator key', () => {
    const state = freshState();
    buildLog(state);
    const other = generateKeyFile(join(state, 'other.key'));
    const db = openDatabase(state);
    expect(verifyAuditLog(db, { trustedKey: other.publicKey })).toMatchObject({ ok: false, firstBadEntry: 4 });
    const coordinator = readPublicKeyFile(join(state, 'keys', 'coordinator.key.pub'));
    expect(verifyAuditLog(db, { trustedKey: coordinator }).ok).toBe(true);
    db.close();
  });

  it('exports JSONL that verifies away from the database, and catches an edited line', () => {
    const state = freshState();
    buildLog(state);
    const db = openDatabase(state);
    checkpointAudit(db);
    const text = exportAuditJsonl(db);
    db.close();
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(N + 3);
    expect(verifyAuditJsonl(text)).toMatchObject({ ok: true, entries: N, checkpoints: 3 });
    const edited = text.replace('"actor":"coordinator","action":"round.committed","subject":"job-1/5"', '"actor":"mallory","action":"round.committed","subject":"job-1/5"');
    expect(edited).not.toBe(text);
    expect(verifyAuditJsonl(edited)).toMatchObject({ ok: false, firstBadEntry: 5 });
  });
});
