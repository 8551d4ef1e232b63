/**
 * Failed authentication attempts per address (issue 12 item 4): after `maxFailures` failures within `windowMs`,
 * an address is refused — every attempt, valid credential or not — until its window ends. Refusing valid
 * attempts too is the point: if only failures were refused, a blocked guesser would still learn from a success
 * (200 instead of 429) that a guess was right. One limiter per channel: the operator API's bearer tokens and the
 * clients' socket key handshakes.
 *
 * Why not @fastify/rate-limit here (it limits predict): it counts requests, not failures, and a socket.io
 * handshake is no fastify request. Addresses are normalised as that plugin does (IPv4-mapped IPv6 to IPv4, IPv6
 * to its /64), so one host cannot dodge the limit by walking its own /64. Memory is bounded: at most
 * `maxAddresses` windows are kept, the oldest dropped first (an attacker who fills the table with fresh
 * addresses only shortens the memory of other addresses' failures — it cannot make the coordinator grow).
 */
import { normalizeIP } from '@fastify/rate-limit';

export interface FailureLimits {
  /** Failures allowed per address and window; the next attempt is refused. */
  readonly maxFailures: number;
  readonly windowMs: number;
  /** Addresses remembered at most (default 10,000). */
  readonly maxAddresses?: number;
}

interface Window {
  failures: number;
  readonly resetAt: number;
}

export interface FailureLimiter {
  /** Whether `address` is refused now; with the seconds until its window ends. */
  blocked(address: string): { blocked: false } | { blocked: true; retryAfterSeconds: number };
  /** Count one failed attempt from `address`. */
  fail(address: string): void;
  readonly limits: FailureLimits;
}

export function failureLimiter(limits: FailureLimits, now: () => number = Date.now): FailureLimiter {
  const maxAddresses = limits.maxAddresses ?? 10_000;
  // A Map iterates in insertion order: the first key is the oldest window.
  const windows = new Map<string, Window>();
  const current = (key: string): Window | undefined => {
    const w = windows.get(key);
    if (w !== undefined && w.resetAt <= now()) {
      windows.delete(key);
      return undefined;
    }
    return w;
  };
  return {
    limits,
    blocked(address) {
      const w = current(normalizeIP(address));
      if (w === undefined || w.failures < limits.maxFailures) return { blocked: false };
      return { blocked: true, retryAfterSeconds: Math.max(1, Math.ceil((w.resetAt - now()) / 1000)) };
    },
    fail(address) {
      const key = normalizeIP(address);
      const w = current(key);
      if (w !== undefined) {
        w.failures++;
        return;
      }
      if (windows.size >= maxAddresses) {
        const oldest = windows.keys().next();
        if (oldest.done !== true) windows.delete(oldest.value);
      }
      windows.set(key, { failures: 1, resetAt: now() + limits.windowMs });
    },
  };
}
