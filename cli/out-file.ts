/**
 * `--out FILE` for the governance commands (issue 13 §7): never overwrites an existing file unless `--force`,
 * and never follows a symbolic link (O_NOFOLLOW), so an insider's link from `report.json` to a key file or the
 * database cannot make a command write through it.
 */
import { closeSync, constants, fsyncSync, lstatSync, openSync, readFileSync, writeSync } from 'node:fs';
import { parseJsonStrict } from '../lib/canonical-json.ts';
import { TesseraError } from '../protocol/errors.ts';

export function writeOutFile(path: string, text: string, options: { force?: boolean } = {}): void {
  let isLink = false;
  try {
    isLink = lstatSync(path).isSymbolicLink();
  } catch {
    // Absent: the exclusive open below creates it.
  }
  if (isLink) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Refusing to write ${path}: it is a symbolic link`);
  // O_EXCL refuses an existing file (and, per POSIX open(2), a symbolic link even if dangling); O_NOFOLLOW
  // covers --force, where the file may exist but must not be a link swapped in after the check above.
  const flags = options.force
    ? constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW
    : constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  let fd: number;
  try {
    fd = openSync(path, flags, 0o644);
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    const why = code === 'EEXIST' ? 'it already exists (pass --force to overwrite)' : code === 'ELOOP' ? 'it is a symbolic link' : String(cause);
    throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Refusing to write ${path}: ${why}`, { cause });
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Commander collector for repeatable options (`--admin-key A --admin-key B`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Reads a JSON file a person wrote: duplicate member names refused (lib/canonical-json.ts parseJsonStrict). */
export function readStrictJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `Cannot read the ${what} ${path}: ${String(cause)}`, { cause });
  }
  return parseJsonStrict(text, `the ${what} ${path}`);
}
