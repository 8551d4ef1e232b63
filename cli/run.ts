/**
 * Shared plumbing for every `tessera <group> <command>` action: one way to print results (human text or one
 * JSON document on stdout), and one way to turn errors into readable messages and exit codes
 * (0 ok, 1 check failed, 2 unusable input). No stack traces for expected errors.
 */
import { InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { ZodError } from 'zod';
import { TesseraError, describeZodIssues } from '../protocol/errors.ts';

export interface OutputOptions {
  json?: boolean;
}

/** Prints one JSON document (for --json) on stdout. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(text = ''): void {
  process.stdout.write(`${text}\n`);
}

/** Converts whatever was thrown into a TesseraError. */
export function toTesseraError(e: unknown): TesseraError {
  if (e instanceof TesseraError) return e;
  if (e instanceof ZodError) return new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', describeZodIssues(e.issues), { cause: e });
  const message = e instanceof Error ? e.message : String(e);
  return new TesseraError('TESSERA_ERR_INTERNAL', message, { cause: e });
}

/**
 * Wraps a command action: runs it, sets the exit code it returns (default 0), and reports errors on stderr
 * (or as `{"error": {...}}` on stdout with --json) with exit code 1 or 2.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void> | number | void) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      process.exitCode = typeof code === 'number' ? code : 0;
    } catch (e) {
      const err = toTesseraError(e);
      const opts = args.find((a): a is OutputOptions => typeof a === 'object' && a !== null && 'json' in a);
      if (opts?.json === true) printJson({ error: err.toJSON() });
      process.stderr.write(`error [${err.code}]: ${err.message}\n`);
      if (err.code === 'TESSERA_ERR_INTERNAL' && process.env.TESSERA_DEBUG) process.stderr.write(`${String(err.cause instanceof Error ? err.cause.stack : err.stack)}\n`);
      process.exitCode = err.exitCode;
    }
  };
}

/**
 * Parses a number option, naming the option when it is not a number. Throws commander's
 * InvalidArgumentError, which commander reports as a one-line usage error (exit 2), not a stack trace.
 */
export function numberOption(name: string, min?: number, max?: number) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`${name} must be a number, got "${value}"`);
    if (min !== undefined && n < min) throw new InvalidArgumentError(`${name} must be at least ${min}, got ${n}`);
    if (max !== undefined && n > max) throw new InvalidArgumentError(`${name} must be at most ${max}, got ${n}`);
    return n;
  };
}

export function integerOption(name: string, min?: number, max?: number) {
  const parse = numberOption(name, min, max);
  return (value: string): number => {
    const n = parse(value);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer, got ${value}`);
    return n;
  };
}

/** Reads a JSON file given on the command line; `what` names it in the error (unreadable or invalid: exit 2). */
export function readJsonFile(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `Cannot read ${what} ${path}: ${(cause as Error).message}`, { cause });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `${what} ${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}
