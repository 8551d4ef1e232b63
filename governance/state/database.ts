/**
 * The coordinator's one durable store (DESIGN.md "One state directory"): `<state>/tessera.db`, SQLite in WAL
 * mode with synchronous=FULL so a committed transaction survives a crash (SQLite docs, "Write-Ahead Logging"
 * and "PRAGMA synchronous"). Every table is created by a migration listed in ./migrations/index.ts; each runs
 * once, in order, and is recorded in `schema_migrations`.
 */
import Database from 'better-sqlite3';
import { ensurePrivateDir, ensurePrivateFile, tightenIfPresent } from './file-modes.ts';
import { join, resolve } from 'node:path';
import { TesseraError } from '../../protocol/errors.ts';
import { MIGRATIONS } from './migrations/index.ts';

export type Db = Database.Database;

export interface Migration {
  /** Stable id, `<module>-<nnn>`, e.g. `ledger-001`. Never renamed once released. */
  readonly id: string;
  readonly sql: string;
}

export function databasePath(stateDir: string): string {
  return join(resolve(stateDir), 'tessera.db');
}

export function artifactsDir(stateDir: string): string {
  return join(resolve(stateDir), 'artifacts');
}

/**
 * Opens (creating on first use) the state database and applies every migration not yet applied.
 *
 * Several processes may open one state directory at once (a coordinator and CLI commands, or two CLI
 * commands), so the order matters: `busy_timeout` is set first, so that every later statement — including
 * the switch to WAL, which needs a lock — waits for another process's lock instead of failing with
 * SQLITE_BUSY; then the migrations run inside one `BEGIN IMMEDIATE` transaction that re-reads which are
 * applied after taking the write lock, so two processes never both apply (or half-see) the same migration.
 */
export function openDatabase(stateDir: string): Db {
  let db: Db;
  try {
    // 0700 directory, 0600 database (and so -wal/-shm): consent, approvals and the ledger are for this user only.
    ensurePrivateDir(resolve(stateDir));
    ensurePrivateFile(databasePath(stateDir));
    for (const suffix of ['-wal', '-shm']) tightenIfPresent(`${databasePath(stateDir)}${suffix}`);
    db = new Database(databasePath(stateDir), { timeout: BUSY_TIMEOUT_MS });
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_STATE', `Cannot open the state database in ${resolve(stateDir)}: ${String(cause)}`, { cause });
  }
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    retryWhileBusy(() => {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      migrate(db);
    });
    db.pragma('foreign_keys = ON');
  } catch (cause) {
    db.close();
    throw new TesseraError('TESSERA_ERR_STATE', `Cannot prepare the state database in ${resolve(stateDir)}: ${String(cause)}`, { cause });
  }
  return db;
}

/**
 * Runs `read` on one snapshot of the database: inside a deferred transaction, which in WAL mode sees every
 * commit made before its first read and none made after, until it ends (SQLite docs, "Write-Ahead Logging" §2.2
 * "Concurrency"). A view assembled from several reads (a model's approvals, then its gate) is otherwise torn when
 * another process — `tessera approve` — commits between them: the console showed a satisfied gate beside one of
 * its two approvals. `read` must be synchronous. Inside a caller's transaction it simply runs.
 */
export function readConsistent<T>(db: Db, read: () => T): T {
  return db.inTransaction ? read() : db.transaction(read).deferred();
}

/** How long a statement waits for another process's lock on the state database before failing. */
export const BUSY_TIMEOUT_MS = 15_000;

/**
 * Runs `prepare` again while SQLite answers SQLITE_BUSY, until BUSY_TIMEOUT_MS have passed. Some lock requests
 * return SQLITE_BUSY at once instead of calling the busy handler — SQLite does so where waiting could deadlock,
 * e.g. while several processes switch a fresh file to WAL (seen here: five CLI processes opening one new state
 * directory, "database is locked" after 6 s, well inside busy_timeout). Safe to repeat: the pragmas are
 * idempotent and a busy migration transaction rolls back whole, then re-reads what is applied.
 */
function retryWhileBusy(prepare: () => void): void {
  const deadline = Date.now() + BUSY_TIMEOUT_MS;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (let attempt = 0; ; attempt++) {
    try {
      prepare();
      return;
    } catch (e) {
      const busy = e instanceof Database.SqliteError && e.code.startsWith('SQLITE_BUSY');
      if (!busy || Date.now() >= deadline) throw e;
      // A short synchronous backoff (openDatabase is synchronous), growing to 200 ms.
      Atomics.wait(pause, 0, 0, Math.min(200, 5 * 2 ** attempt));
    }
  }
}

/**
 * Applies, in one exclusive (IMMEDIATE) transaction, every migration of `MIGRATIONS` not yet recorded.
 * Foreign keys are off while it runs (a pragma that cannot change inside a transaction), so a migration may
 * rebuild a referenced table by SQLite's documented procedure; `PRAGMA foreign_key_check` must then find no
 * violation before the transaction commits. The caller's setting is restored afterwards.
 */
export function migrate(db: Db): void {
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) === 1;
  db.pragma('foreign_keys = OFF');
  try {
    migrateWithoutForeignKeys(db);
  } finally {
    if (foreignKeys) db.pragma('foreign_keys = ON');
  }
}

function migrateWithoutForeignKeys(db: Db): void {
  const apply = db.transaction(() => {
    db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
    const done = new Set(db.prepare('SELECT id FROM schema_migrations').pluck().all() as string[]);
    const record = db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)');
    for (const m of MIGRATIONS) {
      if (done.has(m.id)) continue;
      db.exec(m.sql);
      record.run(m.id, new Date().toISOString());
    }
    const violations = db.pragma('foreign_key_check') as unknown[];
    if (violations.length > 0) throw new Error(`migrations left ${violations.length} foreign-key violation(s): ${JSON.stringify(violations.slice(0, 3))}`);
  });
  apply.immediate();
}
