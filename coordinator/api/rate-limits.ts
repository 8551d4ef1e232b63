/**
 * Rate limits of the coordinator (issue 12 item 4), configurable per coordinator (`tessera coordinator
 * --rate-limit-predict`, `--rate-limit-auth-failures`):
 *  - predictions: requests per address per minute, by @fastify/rate-limit on the predict route (429,
 *    TESSERA_ERR_RATE_LIMITED, with retry-after) — a served model is an oracle, and each request costs inference;
 *  - failed authentication: operator-API bearer tokens that resolve to no token, and client key proofs that do
 *    not verify, per address per minute (failure-limiter.ts); past the limit the address is refused outright
 *    until its window ends. Handshakes that time out without a proof are not counted.
 */
import type { FailureLimits } from './failure-limiter.ts';

export interface RateLimits {
  /** Prediction requests per address per minute (default 300). */
  readonly predictPerMinute?: number;
  /** Failed bearer tokens per address per minute before every request from it is 429 (default 20). */
  readonly tokenFailuresPerMinute?: number;
  /** Client key proofs that fail to verify, per address per minute, before its connections are refused (default 30). */
  readonly handshakeFailuresPerMinute?: number;
}

export const RATE_WINDOW_MS = 60_000;
export const DEFAULT_PREDICT_PER_MINUTE = 300;
export const DEFAULT_TOKEN_FAILURES_PER_MINUTE = 20;
export const DEFAULT_HANDSHAKE_FAILURES_PER_MINUTE = 30;

export function tokenFailureLimits(r: RateLimits | undefined): FailureLimits {
  return { maxFailures: r?.tokenFailuresPerMinute ?? DEFAULT_TOKEN_FAILURES_PER_MINUTE, windowMs: RATE_WINDOW_MS };
}

export function handshakeFailureLimits(r: RateLimits | undefined): FailureLimits {
  return { maxFailures: r?.handshakeFailuresPerMinute ?? DEFAULT_HANDSHAKE_FAILURES_PER_MINUTE, windowMs: RATE_WINDOW_MS };
}
