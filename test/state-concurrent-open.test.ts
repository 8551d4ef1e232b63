/**
 * Several processes opening one fresh state directory at the same instant (a coordinator and CLI commands, or
 * two CLI commands): every one succeeds, and every migration is applied exactly once. Before migrations were
 * listed in one place and applied in one IMMEDIATE transaction (with busy_timeout set before WAL), this race
 * made one of two CLI processes exit 1 on a loaded machine (`dp-cli` budget test, `governance-e2e-heart`).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { databasePath } from '../governance/state/database.ts';
import { MIGRATIONS } from '../governance/state/migrations/index.ts';
import { REPO_ROOT } from './paths.ts';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function child(stateDir: string, startAt: number, org: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/support/open-state-child.ts'), stateDir, String(startAt), org], { cwd: REPO_ROOT, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1, out: stdout + stderr });
    });
  });
}

describe('state directory opened by several processes at once', () => {
  it('every process opens a fresh state directory and writes; each migration is applied once', async () => {
    for (let trial = 0; trial < 2; trial++) {
      const state = mkdtempSync(join(tmpdir(), 'tessera-concurrent-'));
      dirs.push(state);
      // Far enough ahead that every child has loaded its modules (tsx start-up is 1–3 s on a busy machine).
      const startAt = Date.now() + 6000;
      const results = await Promise.all(['a', 'b', 'c', 'd', 'e'].map((org) => child(state, startAt, `org-${org}`)));
      for (const r of results) expect(r, r.out).toMatchObject({ code: 0 });
      const db = new Database(databasePath(state), { readonly: true });
      const applied = db.prepare('SELECT id FROM schema_migrations ORDER BY id').pluck().all() as string[];
      const consents = db.prepare('SELECT COUNT(*) FROM consents').pluck().get() as number;
      db.close();
      expect(applied).toEqual(MIGRATIONS.map((m) => m.id).sort());
      expect(consents).toBe(5);
    }
  });
});
