/**
 * Read-only admin API for coordinators watching a federation: health, connected clients, jobs and their
 * rounds. Responses carry counts and metrics only — never updates, weights or client data.
 */
import type { FastifyInstance } from 'fastify';
import type { Federation } from './federation.ts';
import type { Metrics } from './metrics.ts';
import type { JobResult, RoundRecord } from './round-records.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';

export interface JobEntry {
  readonly jobId: string;
  readonly name: string;
  status: 'running' | JobResult['status'];
  message: string;
  readonly rounds: RoundRecord[];
  readonly startedAt: string;
}

export type JobBoard = Map<string, JobEntry>;

/** How the coordinator is reachable: announced on /v1/health so an operator sees an insecure set-up at a glance. */
export interface SecurityPosture {
  readonly tls: boolean;
  readonly mutualTls: boolean;
  /** Plain HTTP on a non-loopback interface (`--insecure`). */
  readonly insecure: boolean;
}

export function registerAdminRoutes(app: FastifyInstance, deps: { federation: Federation; jobs: JobBoard; metrics: Metrics; security?: SecurityPosture }): void {
  const security: SecurityPosture = deps.security ?? { tls: false, mutualTls: false, insecure: false };
  app.get('/v1/metrics', async (_req, reply) => reply.type('text/plain; version=0.0.4').send(deps.metrics.render()));
  app.get('/v1/health', async () => ({
    ok: true,
    protocolVersion: PROTOCOL_VERSION,
    clients: deps.federation.clients().length,
    security: { ...security, ...(security.insecure ? { warning: 'plain HTTP on a non-loopback interface: traffic can be read and altered' } : {}) },
  }));
  app.get('/v1/clients', async () => ({ clients: deps.federation.clients(), stats: deps.federation.stats }));
  app.get('/v1/jobs', async () => ({ jobs: [...deps.jobs.values()].map(({ rounds, ...j }) => ({ ...j, roundsCompleted: rounds.length })) }));
  app.get<{ Params: { id: string } }>('/v1/jobs/:id', async (req, reply) => {
    const job = deps.jobs.get(req.params.id);
    if (!job) return reply.code(404).send({ error: { code: 'TESSERA_ERR_JOB_NOT_FOUND', message: `No job ${req.params.id}` } });
    return job;
  });
}
