/**
 * The coordinator's one durable store (DESIGN.md "One state directory"): `<state>/tessera.db`, SQLite in WAL
 * mode with synchronous=FULL so a committed transaction survives a crash (SQLite docs, "Write-Ahead Logging"
 * and "PRAGMA synchronous"). Each module owns its tables and registers its migrations here under its own ids;
 * a migration runs once, in order, inside a transaction, and is recorded in `schema_migrations`.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { TesseraError } from '../../protocol/errors.ts';

export type Db = Database.Database;

export interface Migration {
  /** Stable id, `<module>-<nnn>`, e.g. `ledger-001`. Never renamed once released. */
  readonly id: string;
  readonly sql: string;
}

const registered: Migration[] = [];

/** Modules call this at import time with their migrations, in order. */
export function registerMigrations(migrations: readonly Migration[]): void {
  for (const m of migrations) {
    if (!registered.some((r) => r.id === m.id)) registered.push(m);
  }
}

export function databasePath(stateDir: string): string {
  return join(resolve(stateDir), 'tessera.db');
}

export function artifactsDir(stateDir: string): string {
  return join(resolve(stateDir), 'artifacts');
}

/** Opens (creating on first use) the state database and applies every registered migration not yet applied. */
export function openDatabase(stateDir: string): Db {
  let db: Db;
  try {
    mkdirSync(resolve(stateDir), { recursive: true });
    db = new Database(databasePath(stateDir));
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_STATE', `Cannot open the state database in ${resolve(stateDir)}: ${String(cause)}`, { cause });
  }
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  migrate(db);
  return db;
}

export function migrate(db: Db): void {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
  const done = new Set(db.prepare('SELECT id FROM schema_migrations').pluck().all() as string[]);
  const record = db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)');
  for (const m of registered) {
    if (done.has(m.id)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.id, new Date().toISOString());
    })();
  }
}
