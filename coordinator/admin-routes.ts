/**
 * Read-only admin API for coordinators watching a federation: health, metrics, connected clients, and the
 * organisations seen with when each was last seen (names for operators and auditors, counts for every operator
 * role). The jobs' routes are in job-routes.ts. Responses carry counts and metrics only — never updates, weights or client data.
 *
 * Each route declares who may call it in its own declaration (`config.access`, coordinator/api/access.ts) and its
 * schemas (protocol/api.ts); coordinator/api/conventions.ts turns that into the guard, the OpenAPI document and
 * the roles table. Only /v1/health is open, and it names no organisation. Viewers see summaries; per-organisation
 * detail (clients, a job's per-client reasons) needs an operator, privacy-officer, auditor or ml-lead role.
 */
import { isoUtc } from '../lib/time.ts';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Federation } from './federation.ts';
import type { Metrics } from './metrics.ts';
import { ClientsResponse, Health, PresenceCounts } from '../protocol/api.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { ANY_OPERATOR } from './api/access.ts';

/** How the coordinator is reachable: announced on /v1/health so an operator sees an insecure set-up at a glance. */
export interface SecurityPosture {
  readonly tls: boolean;
  readonly mutualTls: boolean;
  /** Plain HTTP on a non-loopback interface (`--insecure`). */
  readonly insecure: boolean;
}

export interface AdminDeps {
  federation: Federation;
  metrics: Metrics;
  security?: SecurityPosture;
}

const METRICS_TEXT = 'text/plain; version=0.0.4; charset=utf-8';

export const adminRoutes: FastifyPluginAsyncZod<AdminDeps> = async (app, deps) => {
  const security: SecurityPosture = deps.security ?? { tls: false, mutualTls: false, insecure: false };
  app.get('/v1/health', { config: { access: 'public' }, schema: { summary: 'Liveness, protocol version, client count and transport security', tags: ['admin'], response: { 200: Health } } }, async () => ({
    ok: true as const,
    protocolVersion: PROTOCOL_VERSION,
    clients: deps.federation.clients().length,
    security: { ...security, ...(security.insecure ? { warning: 'plain HTTP on a non-loopback interface: traffic can be read and altered' } : {}) },
  }));
  app.get(
    '/v1/metrics',
    {
      config: { access: ANY_OPERATOR },
      schema: { summary: 'Prometheus metrics (text exposition format 0.0.4)', tags: ['admin'], response: { 200: { description: 'Prometheus text', content: { 'text/plain': { schema: z.string() } } } } },
    },
    async (_req, reply) => reply.type(METRICS_TEXT).send(await deps.metrics.render()),
  );
  app.get('/v1/clients', { config: { access: ['operator', 'auditor'] }, schema: { summary: 'Connected clients and their roster organisations', tags: ['admin'], response: { 200: ClientsResponse } } }, async () => ({
    // Timestamps leave the API as ISO 8601 UTC (issue 15 §6), whatever the federation keeps internally.
    clients: deps.federation.clients().map((c) => ({ ...c, connectedAt: isoUtc(c.connectedAt) })),
    organisations: deps.federation.presence.organisations().map((o) => ({ ...o, connected: o.connectedClients > 0, lastSeenAt: isoUtc(o.lastSeenAt) })),
    since: isoUtc(deps.federation.presence.since),
    stats: deps.federation.stats,
  }));
  // The same record as counts, for every operator role: a viewer learns how many organisations, never which.
  app.get('/v1/presence', { config: { access: ANY_OPERATOR }, schema: { summary: 'How many clients and organisations are connected, and how many were seen and left (counts only)', tags: ['admin'], response: { 200: PresenceCounts } } }, async () => ({
    clients: deps.federation.clients().length,
    organisations: deps.federation.presence.counts(),
    since: isoUtc(deps.federation.presence.since),
  }));
};
