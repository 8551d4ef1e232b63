/**
 * One writer per state directory (issue 14, "One writer"): a coordinator — `tessera coordinator --state DIR` or a
 * simulation with `--state DIR` — holds an exclusive lock on the directory while it runs, so two coordinators can
 * never sample, charge and commit rounds into one ledger at once. CLI commands (consent, approvals, ledger
 * budgets …) do not take it: they are short transactions the database itself serialises.
 *
 * The lock is an EXCLUSIVE transaction held open on `<state>/coordinator.lock.db`. SQLite takes it with a POSIX
 * advisory lock on that file, which the operating system releases when the process ends — however it ends,
 * SIGKILL included — so a crashed coordinator never leaves a stale lock behind for an operator to delete by hand
 * (a PID file would). Who holds the lock is written next to it, only to name the holder in the refusal.
 */
import Database from 'better-sqlite3';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { TesseraError } from '../../protocol/errors.ts';

const LOCK_DB = 'coordinator.lock.db';
const HOLDER_FILE = 'coordinator.lock.json';

const Holder = z.object({ pid: z.number().int(), host: z.string(), since: z.string(), command: z.string() });
export type LockHolder = z.infer<typeof Holder>;

export interface StateLock {
  readonly holder: LockHolder;
  /** Releases the lock (also released by the OS when the process exits). Idempotent. */
  release(): void;
}

/**
 * Takes the state directory's writer lock, or throws TESSERA_ERR_STATE_LOCKED naming the process that holds it.
 * It waits up to `waitMs` (SQLite's busy timeout) first: a coordinator restarted right after a crash may start
 * while the kernel is still reaping the dead process that held the lock.
 */
export function lockStateDirectory(stateDir: string, command: string, options: { waitMs?: number } = {}): StateLock {
  const dir = resolve(stateDir);
  mkdirSync(dir, { recursive: true });
  const db = new Database(join(dir, LOCK_DB), { timeout: options.waitMs ?? 2000 });
  try {
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
  } catch (cause) {
    db.close();
    const holder = readHolder(dir);
    const who = holder ? `process ${holder.pid} on ${holder.host} (${holder.command}, since ${holder.since})` : 'another process';
    throw new TesseraError('TESSERA_ERR_STATE_LOCKED', `The state directory ${dir} is in use by ${who}; only one coordinator may write a state directory. Stop it first, or use another --state.`, {
      cause,
      ...(holder ? { details: { ...holder } } : {}),
    });
  }
  const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), command };
  writeFileSync(join(dir, HOLDER_FILE), `${JSON.stringify(holder)}\n`, { mode: 0o600 });
  let released = false;
  return {
    holder,
    release() {
      if (released) return;
      released = true;
      db.exec('ROLLBACK');
      db.close();
    },
  };
}

function readHolder(dir: string): LockHolder | undefined {
  try {
    const parsed = Holder.safeParse(JSON.parse(readFileSync(join(dir, HOLDER_FILE), 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
