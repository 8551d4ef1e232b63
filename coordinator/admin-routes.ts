/**
 * Read-only admin API for coordinators watching a federation: health, connected clients, metrics (the jobs'
 * routes are in job-routes.ts, with the same guard). Responses carry counts and metrics only — never updates,
 * weights or client data.
 *
 * Every route declares the operator roles that may call it (ADMIN_ROUTES); a request needs
 * `Authorization: Bearer <token>` (governance/identity/operator-tokens.ts) — no token or an unknown one is 401,
 * a role the route does not allow is 403, both as coded errors. Only /v1/health is open, and it names no
 * organisation. Viewers see summaries; per-organisation detail (clients, a job's per-client reasons) needs an
 * operator, privacy-officer, auditor or ml-lead role.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Federation } from './federation.ts';
import type { Metrics } from './metrics.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import type { OperatorIdentity, OperatorRole } from '../governance/identity/operator-tokens.ts';

/** How the coordinator is reachable: announced on /v1/health so an operator sees an insecure set-up at a glance. */
export interface SecurityPosture {
  readonly tls: boolean;
  readonly mutualTls: boolean;
  /** Plain HTTP on a non-loopback interface (`--insecure`). */
  readonly insecure: boolean;
}

export const ANY_ROLE: readonly OperatorRole[] = ['viewer', 'operator', 'privacy-officer', 'auditor', 'ml-lead'];
export const DETAIL_ROLES: readonly OperatorRole[] = ['operator', 'privacy-officer', 'auditor', 'ml-lead'];

/** Who may call what: one line per route, so a new route cannot be added without deciding it. */
export const ADMIN_ROUTES = {
  '/v1/health': 'public',
  '/v1/metrics': ANY_ROLE,
  '/v1/clients': ['operator', 'auditor'],
} as const satisfies Record<string, 'public' | readonly OperatorRole[]>;

export interface AdminDeps {
  federation: Federation;
  metrics: Metrics;
  security?: SecurityPosture;
  /** Resolves a bearer token to its operator (undefined: unknown or revoked). Without it every guarded route is 401. */
  verifyToken?: (token: string) => OperatorIdentity | undefined;
}

/** The operator a guarded request was admitted for (set by `guard`), e.g. to name the actor of a submission. */
const admitted = new WeakMap<FastifyRequest, OperatorIdentity>();
export function operatorOf(req: FastifyRequest): OperatorIdentity | undefined {
  return admitted.get(req);
}

/** A preHandler admitting a bearer token whose role is in `roles` (401 / 403 as coded errors otherwise). */
export function guard(deps: Pick<AdminDeps, 'verifyToken'>, roles: readonly OperatorRole[]) {
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = req.headers.authorization;
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    const who = token !== undefined ? deps.verifyToken?.(token) : undefined;
    if (who === undefined) {
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer')
        .send({ error: { code: 'TESSERA_ERR_UNAUTHENTICATED', message: 'this route needs an operator token: Authorization: Bearer <token> (tessera tokens create)' } });
      return;
    }
    if (!roles.includes(who.role)) {
      await reply.code(403).send({ error: { code: 'TESSERA_ERR_FORBIDDEN', message: `role ${who.role} may not use ${req.routeOptions.url ?? req.url}; it needs one of: ${roles.join(', ')}` } });
      return;
    }
    admitted.set(req, who);
  };
}

export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const security: SecurityPosture = deps.security ?? { tls: false, mutualTls: false, insecure: false };
  const r = ADMIN_ROUTES;
  app.get('/v1/health', async () => ({
    ok: true,
    protocolVersion: PROTOCOL_VERSION,
    clients: deps.federation.clients().length,
    security: { ...security, ...(security.insecure ? { warning: 'plain HTTP on a non-loopback interface: traffic can be read and altered' } : {}) },
  }));
  app.get('/v1/metrics', { preHandler: guard(deps, r['/v1/metrics']) }, async (_req, reply) => reply.type('text/plain; version=0.0.4').send(deps.metrics.render()));
  app.get('/v1/clients', { preHandler: guard(deps, r['/v1/clients']) }, async () => ({
    // Timestamps leave the API as ISO 8601 UTC (issue 15 §6), whatever the federation keeps internally.
    clients: deps.federation.clients().map((c) => ({ ...c, connectedAt: new Date(c.connectedAt).toISOString() })),
    stats: deps.federation.stats,
  }));
}
