/**
 * The CLI half of the issue 13 tamper suite, each step a real `tessera` process on a real state directory:
 * a missing or misspelt state is refused (and not created); `--file` needs `--public-key`; a checkpoint
 * exported with `audit checkpoint --out` (signed by a key kept outside the state) anchors `audit verify`
 * against tail truncation and total deletion; `--out` neither overwrites nor follows a link; a huge
 * `--expires` is a coded usage error, never TESSERA_ERR_INTERNAL; `--checkpoint-key` chooses the key that signs and
 * the key that is trusted.
 */
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databasePath, openDatabase } from '../governance/state/database.ts';
import { generateKeyFile, readPrivateKeyFile } from '../governance/identity/key-file.ts';
import { registerModel, type RegisteredModel } from '../governance/registry/registry.ts';
import { REPO_ROOT } from './paths.ts';
import { HEART_LOGISTIC, fixtureLineage, fixtureWeights, tempStateDir } from './governance-fixtures.ts';

const run = promisify(execFile);
const BIN = join(REPO_ROOT, 'bin', 'tessera.mjs');

let state: { dir: string; cleanup: () => void };
let outside: { dir: string; cleanup: () => void };
let model: RegisteredModel;

async function tessera(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, TESSERA_LOG_LEVEL: 'warn', ...env } });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

beforeAll(async () => {
  state = tempStateDir('tessera-tcli-');
  outside = tempStateDir('tessera-witness-');
  const db = openDatabase(state.dir);
  model = await registerModel(db, state.dir, { modelSpec: HEART_LOGISTIC, weights: fixtureWeights(28, 'tcli'), lineage: fixtureLineage(), name: 'heart' });
  db.close();
});

afterAll(() => {
  state.cleanup();
  outside.cleanup();
});

describe('tamper suite through the CLI (issue 13)', { timeout: 180_000 }, () => {
  it('refuses a missing state without creating it, and --file without --public-key', async () => {
    const missing = join(outside.dir, 'stat');
    const r = await tessera(['audit', 'verify', '--state', missing, '--json']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'TESSERA_ERR_STATE', message: expect.stringMatching(/No state database .* \(nothing was created\)/) } });
    expect(existsSync(missing)).toBe(false);
    const f = await tessera(['audit', 'verify', '--file', join(outside.dir, 'x.jsonl'), '--state', state.dir]);
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/--file needs --public-key/);
  });

  it('anchors the log with a checkpoint exported outside the state, and names truncation and deletion', async () => {
    const ckey = join(outside.dir, 'checkpoint.key');
    const env = { TESSERA_CHECKPOINT_KEY: ckey };
    // Trusting the inside-the-state default key is warned about.
    const warned = await tessera(['audit', 'verify', '--state', state.dir]);
    expect(warned.stderr).toMatch(/checkpoint key .* is inside the state directory/);
    for (let i = 0; i < 3; i++) {
      const k = join(outside.dir, `a${i}.key`);
      generateKeyFile(k);
      if (i === 0) expect((await tessera(['approvers', 'init', '--state', state.dir, '--name', 'Ada', '--key', k], env)).code).toBe(0);
      else expect((await tessera(['approvers', 'add', '--state', state.dir, '--name', `P${i}`, '--public-key', `${k}.pub`, '--roles', 'model-owner', '--admin-key', join(outside.dir, 'a0.key')], env)).code).toBe(0);
    }
    const anchor = join(outside.dir, 'anchor.json');
    const cp = await tessera(['audit', 'checkpoint', '--state', state.dir, '--out', anchor], env);
    expect(cp.code).toBe(0);
    expect(cp.stderr).not.toMatch(/inside the state/);
    const witnessed = JSON.parse(readFileSync(anchor, 'utf8')) as { seq: number; hash: string; keyId: string };
    expect(witnessed).toMatchObject({ seq: expect.any(Number), hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    // --out never overwrites without --force and never follows a link.
    expect((await tessera(['audit', 'checkpoint', '--state', state.dir, '--out', anchor], env)).stderr).toMatch(/already exists \(pass --force to overwrite\)/);
    const link = join(outside.dir, 'link.json');
    symlinkSync(join(outside.dir, 'victim.txt'), link);
    writeFileSync(join(outside.dir, 'victim.txt'), 'keep me');
    expect((await tessera(['audit', 'checkpoint', '--state', state.dir, '--out', link, '--force'], env)).stderr).toMatch(/symbolic link/);
    expect(readFileSync(join(outside.dir, 'victim.txt'), 'utf8')).toBe('keep me');

    const pub = `${ckey}.pub`;
    expect((await tessera(['audit', 'verify', '--state', state.dir, '--anchor', anchor, '--public-key', pub], env)).code).toBe(0);
    // The insider cuts the last entry and every checkpoint after the one before it.
    const raw = new Database(databasePath(state.dir));
    raw.exec('DROP TRIGGER audit_log_no_delete; DROP TRIGGER audit_checkpoints_no_delete;');
    raw.prepare('DELETE FROM audit_log WHERE seq = ?').run(witnessed.seq);
    raw.prepare('DELETE FROM audit_checkpoints WHERE seq >= ?').run(witnessed.seq);
    raw.close();
    const cut = await tessera(['audit', 'verify', '--state', state.dir, '--anchor', anchor, '--public-key', pub, '--json'], env);
    expect(cut.code).toBe(1);
    expect(JSON.parse(cut.stdout)).toMatchObject({ ok: false, firstBadEntry: witnessed.seq, reason: expect.stringMatching(new RegExp(`entries ${witnessed.seq}–${witnessed.seq} are missing: the log ends at entry ${witnessed.seq - 1}`)) });
    // Every entry deleted: refused with the anchor (naming all of them) and without it (an empty log).
    const wipe = new Database(databasePath(state.dir));
    wipe.exec('DELETE FROM audit_log; DELETE FROM audit_checkpoints;');
    wipe.close();
    const gone = await tessera(['audit', 'verify', '--state', state.dir, '--anchor', anchor, '--public-key', pub, '--json'], env);
    expect(JSON.parse(gone.stdout)).toMatchObject({ ok: false, reason: expect.stringMatching(new RegExp(`all ${witnessed.seq} entries were deleted`)) });
    const empty = await tessera(['audit', 'verify', '--state', state.dir, '--json'], env);
    expect(empty.code).toBe(1);
    expect(JSON.parse(empty.stdout)).toMatchObject({ ok: false, reason: expect.stringMatching(/the audit log is empty/) });
  });

  it('signs and verifies with the key --checkpoint-key names, and refuses a checkpoint under another key', async () => {
    const own = tempStateDir('tessera-tcli-flag-');
    try {
      const db = openDatabase(own.dir);
      await registerModel(db, own.dir, { modelSpec: HEART_LOGISTIC, weights: fixtureWeights(28, 'tcli-flag'), lineage: fixtureLineage(), name: 'heart' });
      db.close();
      const flagKey = join(outside.dir, 'flag.key');
      const cp = await tessera(['audit', 'checkpoint', '--state', own.dir, '--checkpoint-key', flagKey, '--json']);
      expect(cp.code).toBe(0);
      expect(cp.stderr).not.toMatch(/inside the state/);
      // Created on first use, owner-only, and the checkpoint carries its key id.
      expect(statSync(flagKey).mode & 0o777).toBe(0o600);
      expect(JSON.parse(cp.stdout)).toMatchObject({ keyId: readPrivateKeyFile(flagKey).keyId });
      const ok = await tessera(['audit', 'verify', '--state', own.dir, '--checkpoint-key', flagKey, '--json']);
      expect(ok.stderr).not.toMatch(/inside the state/);
      expect(JSON.parse(ok.stdout)).toMatchObject({ ok: true });
      expect(ok.code).toBe(0);
      // Trusting another key, the same log's checkpoint no longer verifies: the flag, not a default, chose the key.
      const other = join(outside.dir, 'other.key');
      generateKeyFile(other);
      const refused = await tessera(['audit', 'verify', '--state', own.dir, '--checkpoint-key', other, '--json']);
      expect(refused.code).toBe(1);
      expect(JSON.parse(refused.stdout)).toMatchObject({ ok: false, reason: expect.stringMatching(/key|signature/i) });
    } finally {
      own.cleanup();
    }
  });

  it('refuses a huge --expires with a coded usage error, not TESSERA_ERR_INTERNAL', async () => {
    const r = await tessera(['approve', '--state', state.dir, '--model', model.version, '--role', 'model-owner', '--key', join(outside.dir, 'a1.key'), '--expires', '99999999w']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/longer than the longest validity any policy allows \(365 days\)/);
    expect(r.stderr).not.toMatch(/INTERNAL/);
    const over = await tessera(['approve', '--state', state.dir, '--model', model.version, '--role', 'model-owner', '--key', join(outside.dir, 'a1.key'), '--expires', '200d']);
    expect(over.stderr).toMatch(/TESSERA_ERR_INVALID_ARGUMENT.*maxApprovalValidityDays \(90 days\)/);
  });
});
