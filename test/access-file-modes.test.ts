/**
 * File modes of the state directory and keys (issue 12, item 5): a fresh state directory is 0700, its database
 * (with SQLite's -wal and -shm) and model artifacts 0600, the coordinator's key 0600 in a 0700 keys/ directory;
 * an older, world-readable state directory is tightened when opened; a private key file readable by others is
 * refused with TESSERA_ERR_FILE_PERMISSIONS — the insider here is any other local user.
 */
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateKeyFile, loadOrCreateCoordinatorKey, readPrivateKeyFile } from '../governance/identity/key-file.ts';
import { writeModelArtifacts } from '../governance/registry/artifacts.ts';
import { openDatabase } from '../governance/state/database.ts';
import { thrownTesseraError } from './support/thrown.ts';

const mode = (path: string): number => statSync(path).mode & 0o777;

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? [join(dir, e.name), ...walk(join(dir, e.name))] : [join(dir, e.name)]));
}

describe.skipIf(process.platform === 'win32')('state and key file modes', () => {
  it('creates the state directory 0700, the database and its WAL files 0600, artifacts and the coordinator key private', async () => {
    const root = mkdtempSync(join(tmpdir(), 'tessera-modes-'));
    const state = join(root, 'state');
    const db = openDatabase(state);
    db.prepare('CREATE TABLE IF NOT EXISTS t (x)').run();
    db.prepare('INSERT INTO t VALUES (1)').run();
    expect(mode(state)).toBe(0o700);
    for (const f of ['tessera.db', 'tessera.db-wal', 'tessera.db-shm']) expect([f, mode(join(state, f))]).toEqual([f, 0o600]);
    await writeModelArtifacts(state, { kind: 'logistic', inputs: 4, classes: 2, l2: 0 }, new Float32Array(10).fill(0.5));
    loadOrCreateCoordinatorKey(state);
    db.close();
    const entries = walk(state);
    expect(entries.some((p) => p.endsWith('weights.bin'))).toBe(true);
    expect(entries.some((p) => p.endsWith('coordinator.key'))).toBe(true);
    for (const p of entries) {
      const isDir = statSync(p).isDirectory();
      // The public half of a key is meant to be shared; everything else is the coordinator's alone.
      if (p.endsWith('.pub')) continue;
      expect([p, mode(p)]).toEqual([p, isDir ? 0o700 : 0o600]);
    }
  });

  it('tightens a state directory and database left world-readable by an older version', () => {
    const state = mkdtempSync(join(tmpdir(), 'tessera-modes-old-'));
    openDatabase(state).close();
    chmodSync(state, 0o755);
    chmodSync(join(state, 'tessera.db'), 0o644);
    openDatabase(state).close();
    expect(mode(state)).toBe(0o700);
    expect(mode(join(state, 'tessera.db'))).toBe(0o600);
  });

  it('refuses a private key file that other users can read or write, with a coded error; 0600 is used', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-keymode-'));
    const path = join(dir, 'org.key');
    const pair = generateKeyFile(path);
    expect(mode(path)).toBe(0o600);
    expect(readPrivateKeyFile(path).keyId).toBe(pair.keyId);
    for (const bad of [0o644, 0o640, 0o604, 0o620]) {
      chmodSync(path, bad);
      const e = thrownTesseraError(() => readPrivateKeyFile(path));
      expect(e.code).toBe('TESSERA_ERR_FILE_PERMISSIONS');
      expect(e.message).toMatch(/chmod 600/);
      expect(e.exitCode).toBe(2);
    }
    // A bare-seed key file written by hand with a permissive umask is refused the same way.
    mkdirSync(join(dir, 'hand'));
    writeFileSync(join(dir, 'hand', 'seed.key'), `${'ab'.repeat(32)}\n`, { mode: 0o644 });
    chmodSync(join(dir, 'hand', 'seed.key'), 0o644);
    expect(thrownTesseraError(() => readPrivateKeyFile(join(dir, 'hand', 'seed.key'))).code).toBe('TESSERA_ERR_FILE_PERMISSIONS');
  });
});
