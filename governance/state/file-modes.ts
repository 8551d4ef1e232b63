/**
 * File modes of the coordinator's state (issue 12): consent, approvals, the ledger, the audit log and keys are
 * for the coordinator's own user only. Directories are 0700 and files 0600, set when created (never readable by
 * others, not even for a moment) and tightened when an older state directory is opened. A private key file that
 * others can read is refused outright: it must be assumed copied, and using it would hide that.
 */
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, statSync } from 'node:fs';
import { TesseraError } from '../../protocol/errors.ts';

export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** POSIX permission bits mean nothing on Windows (ACLs decide there), so the checks apply elsewhere only. */
const POSIX = process.platform !== 'win32';

/** Creates `dir` (and missing parents) as 0700, or tightens an existing one to 0700. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (POSIX && (statSync(dir).mode & 0o077) !== 0) chmodSync(dir, PRIVATE_DIR_MODE);
}

/** Creates `path` empty as 0600 if missing, or tightens an existing file to 0600 (SQLite then gives its -wal and -shm files the same mode). */
export function ensurePrivateFile(path: string): void {
  if (!existsSync(path)) closeSync(openSync(path, 'a', PRIVATE_FILE_MODE));
  if (POSIX && (statSync(path).mode & 0o077) !== 0) chmodSync(path, PRIVATE_FILE_MODE);
}

/** Tightens `path` to 0600 when it exists (e.g. SQLite's -wal and -shm files left by an older version). */
export function tightenIfPresent(path: string): void {
  if (existsSync(path) && POSIX && (statSync(path).mode & 0o077) !== 0) chmodSync(path, PRIVATE_FILE_MODE);
}

/** Refuses a private key file whose mode lets group or others read or write it. */
export function assertPrivateKeyFileMode(path: string): void {
  if (!POSIX) return;
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new TesseraError(
      'TESSERA_ERR_FILE_PERMISSIONS',
      `the private key file ${path} has mode ${mode.toString(8).padStart(4, '0')}: other users can read or change it, so it is refused (treat the key as exposed; if it is not, chmod 600 ${path})`,
    );
  }
}
