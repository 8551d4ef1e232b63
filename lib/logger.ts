/**
 * Operator logs (house rule 10): pino to stderr, so stdout stays free for `--json` documents. Bind job,
 * round and client with `logger.child({ job, round, client })`. Never log tensors, keys, shares or rows.
 */
import { pino, destination, type Logger } from 'pino';
import { pinoIsoTime } from './time.ts';

export type { Logger };

export function createLogger(options: { level?: string; name?: string } = {}): Logger {
  const level = options.level ?? process.env.TESSERA_LOG_LEVEL ?? 'info';
  // Log lines carry ISO 8601 UTC times like every other output (lib/time.ts), not pino's epoch milliseconds.
  return pino({ name: options.name ?? 'tessera', level, base: undefined, timestamp: pinoIsoTime }, destination({ fd: 2, sync: true }));
}

/** A logger that drops everything, for tests and library callers who pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
