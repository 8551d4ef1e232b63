/**
 * The one timestamp format a user or a script reads (issue 15 §6): ISO 8601 in UTC with milliseconds
 * (`2026-12-05T06:01:02.345Z`, RFC 3339 §5.6 profile), in CLI output, `--json`, API responses, audit entries,
 * ledger rows, job views and operator logs. Storage may keep integers where that is simpler (the federation's
 * in-memory connection times, the rate limiter's windows): they are converted here, at the boundary.
 */

/** ISO 8601 UTC for an instant given as a Date or as epoch milliseconds (default: now). */
export function isoUtc(at: Date | number = Date.now()): string {
  const d = typeof at === 'number' ? new Date(at) : at;
  if (Number.isNaN(d.getTime())) throw new RangeError(`not an instant: ${String(at)}`);
  return d.toISOString();
}

/** pino's `timestamp` option: operator logs carry `"time":"…Z"` instead of epoch milliseconds. */
export function pinoIsoTime(): string {
  return `,"time":"${isoUtc()}"`;
}
