/**
 * Who may call a route (issue 12 item 4). Every route under /v1 declares it in its own fastify declaration,
 * `config: { access }` — `'public'` or the token roles allowed — and nowhere else: the guard below, the OpenAPI
 * security requirement and the roles table in docs/access.md all come from that one declaration
 * (coordinator/api/conventions.ts enforces it when a route is registered).
 *
 * A guarded request needs `Authorization: Bearer <token>` (governance/identity/operator-tokens.ts). The guard
 * runs in `onRequest`, before the body is parsed or validated, so an unauthenticated peer learns nothing about a
 * route's input and costs no parsing. No token or an unknown or revoked one is 401; a role the route does not
 * allow is 403; after too many failed tokens from one address, every request from it is 429 until its window
 * ends (failure-limiter.ts).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { OPERATOR_ROLES, REVIEWER_ROLE, SERVING_ROLE, type OperatorIdentity, type TokenRole } from '../../governance/identity/operator-tokens.ts';
import type { ApiError } from '../../protocol/api.ts';
import type { FailureLimiter } from './failure-limiter.ts';

/** `'public'`: no credential. Otherwise the token roles that may call the route. */
export type RouteAccess = 'public' | readonly TokenRole[];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call this route; required for every route under /v1 (coordinator/api/conventions.ts). */
    access?: RouteAccess;
  }
  interface FastifyRequest {
    /** The token holder of a guarded route's request (null on public routes). */
    operator: OperatorIdentity | null;
  }
}

/** Every operator role: summaries without per-organisation detail. The serving role is not among them. */
export const ANY_OPERATOR: readonly TokenRole[] = OPERATOR_ROLES;
/** Operator roles that may see per-organisation detail (a job's per-client reasons). Viewers may not. */
export const DETAIL_ROLES: readonly TokenRole[] = ['operator', 'privacy-officer', 'auditor', 'ml-lead'];
/** The serving credential alone: predictions. */
export const SERVING_ONLY: readonly TokenRole[] = [SERVING_ROLE];
/** The reviewer credential alone: the review queue and its decisions (issue 20 §5). */
export const REVIEW_ONLY: readonly TokenRole[] = [REVIEWER_ROLE];

export interface ApiAccess {
  /** Resolves a bearer token to its holder (undefined: unknown or revoked). Without it every guarded route is 401. */
  readonly verifyToken?: ((token: string) => OperatorIdentity | undefined) | undefined;
  /** Failed bearer tokens per address. */
  readonly tokenFailures: FailureLimiter;
  /** Called with the code of every refused request (401, 403, 429): for metrics. */
  readonly onRefused?: (code: 'TESSERA_ERR_UNAUTHENTICATED' | 'TESSERA_ERR_FORBIDDEN' | 'TESSERA_ERR_RATE_LIMITED') => void;
}

const errorBody = (code: ApiError['error']['code'], message: string): ApiError => ({ error: { code, message } });

function bearerToken(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || !header.startsWith('Bearer ')) return undefined;
  return header.slice('Bearer '.length).trim();
}

/** The onRequest hook of a guarded route. */
export function bearerGuard(access: ApiAccess, roles: readonly TokenRole[]) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const limit = access.tokenFailures.blocked(req.ip);
    if (limit.blocked) {
      access.onRefused?.('TESSERA_ERR_RATE_LIMITED');
      const { maxFailures, windowMs } = access.tokenFailures.limits;
      await reply
        .code(429)
        .header('retry-after', String(limit.retryAfterSeconds))
        .send(errorBody('TESSERA_ERR_RATE_LIMITED', `more than ${maxFailures} failed tokens from this address within ${windowMs / 1000} s; retry in ${limit.retryAfterSeconds} s`));
      return reply;
    }
    const token = bearerToken(req);
    const who = token !== undefined ? access.verifyToken?.(token) : undefined;
    if (who === undefined) {
      access.tokenFailures.fail(req.ip);
      access.onRefused?.('TESSERA_ERR_UNAUTHENTICATED');
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send(errorBody('TESSERA_ERR_UNAUTHENTICATED', 'this route needs a token: Authorization: Bearer <token> (tessera tokens create)'));
      return reply;
    }
    if (!roles.includes(who.role)) {
      access.onRefused?.('TESSERA_ERR_FORBIDDEN');
      await reply.code(403).send(errorBody('TESSERA_ERR_FORBIDDEN', `role ${who.role} may not use ${req.method} ${req.routeOptions.url ?? req.url}; it needs one of: ${roles.join(', ')}`));
      return reply;
    }
    req.operator = who;
  };
}
