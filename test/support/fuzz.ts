/**
 * Shared pieces of the fuzz tests (issue 14 §5): the run count and seed (fixed in CI; `TESSERA_FUZZ_RUNS=N` and
 * `TESSERA_FUZZ_SEED=S` for a local soak), a snapshot of everything durable in a state directory (every table
 * of the SQLite database, row by row, and every file's path and size), and the check that an answer is a coded
 * error of protocol/errors.ts.
 */
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import type { Db } from '../../governance/state/database.ts';
import { ERROR_CODES } from '../../protocol/errors.ts';

/**
 * fast-check parameters from a fixed seed: `ciRuns` cases, or `TESSERA_FUZZ_RUNS / costFactor` when that is set
 * (a property whose one case costs as much as `costFactor` cheap ones — a whole secure round — runs fewer).
 */
export function fuzzParameters(ciRuns: number, costFactor = 1): { seed: number; numRuns: number; endOnFailure: true } {
  const runs = Number(process.env.TESSERA_FUZZ_RUNS ?? '');
  const seed = Number(process.env.TESSERA_FUZZ_SEED ?? '');
  return {
    seed: Number.isInteger(seed) && process.env.TESSERA_FUZZ_SEED !== undefined ? seed : 20261205,
    numRuns: Number.isInteger(runs) && runs > 0 ? Math.max(1, Math.ceil(runs / costFactor)) : ciRuns,
    endOnFailure: true,
  };
}

/** Every row of every table (in rowid order), and every file of the directory with its size. */
export function stateSnapshot(db: Db, dir: string): string {
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ name: string }>;
  const rows = tables.map((t) => [t.name, db.prepare(`SELECT * FROM "${t.name}"`).all()]);
  const files: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      // The WAL and shared-memory files change size when SQLite checkpoints; their content is in the tables.
      else if (!/\.db-(wal|shm)$/.test(e.name)) files.push(`${relative(dir, p)}:${statSync(p).size}`);
    }
  };
  walk(dir);
  return JSON.stringify({ rows, files: files.sort() }, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('base64') : v));
}

/** True when `code` is one of the project's documented codes. */
export function isKnownCode(code: unknown): boolean {
  return typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
}

/** A string with characters that break naive parsers: control characters, quotes, separators, surrogates. */
export const nastyString = (maxLength = 64): fc.Arbitrary<string> =>
  fc.oneof(
    fc.string({ maxLength }),
    fc.string({ unit: 'binary', maxLength }),
    fc.constantFrom('', '\u0000', '\uFEFF', '\ud800', '../../etc/passwd', '%00', '__proto__', 'constructor', '"', '\\', '\r\n', ',', 'NaN', '1e309', '-0'),
  );

/** JSON text nested `depth` levels deep (arrays or objects). */
export const deepJson = (depth: number, kind: 'array' | 'object'): string => (kind === 'array' ? `${'['.repeat(depth)}${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
