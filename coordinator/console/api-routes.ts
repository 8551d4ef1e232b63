/**
 * The JSON routes the operator console reads where the API had nothing (issue 17). Each is a plain /v1 route on
 * the route convention (coordinator/api/conventions.ts): its access in `config.access`, its zod schemas
 * (console/schemas.ts), so it is guarded, validated and listed in /v1/openapi.json like every other route, and
 * scripts may call it too. The console itself holds no data: its pages are public shells that read these.
 *
 *  - `GET /v1/whoami` (every operator role): the token's name and role.
 *  - `GET /v1/jobs/:id/series` (every operator role): a job's rounds as counts per round (no organisation).
 *  - `GET /v1/privacy` (privacy-officer, auditor, operator): ledger, accountant settings, consent.
 *  - `GET /v1/governance` (ml-lead, auditor, privacy-officer): models, evidence, approvals, gate, deployments,
 *    audit verification, model cards.
 *  - `GET /v1/events` (every operator role): the live feed (events.ts).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { ApiError, JobIdParams } from '../../protocol/api.ts';
import { TesseraError } from '../../protocol/errors.ts';
import type { Db } from '../../governance/state/database.ts';
import type { TokenRole } from '../../governance/identity/operator-tokens.ts';
import { ANY_OPERATOR, DETAIL_ROLES } from '../api/access.ts';
import type { DeclaredRoute } from '../api/conventions.ts';
import type { Federation } from '../federation.ts';
import type { JobService } from '../job-service.ts';
import { jobSpecOf } from '../state/job-store.ts';
import { registerEvents, type EventFeed } from './events.ts';
import { governanceOverview } from './governance-view.ts';
import { privacyOverview } from './privacy-view.ts';
import { GovernanceOverview, JobSeries, PrivacyOverview, WhoAmI } from './schemas.ts';
import { seriesRound } from './series.ts';

export interface ConsoleApiDeps {
  readonly jobs: JobService;
  readonly federation: Federation;
  readonly stateDir?: string | undefined;
  readonly db?: Db | undefined;
  /** The declared routes (coordinator/api/conventions.ts): whoami reports the access of those the console reads. */
  readonly routes: () => readonly DeclaredRoute[];
  /** Receives the change feed, so the coordinator can end its open streams when it closes. */
  readonly feed: (feed: EventFeed) => void;
}

/** The guarded routes whose refusal the console renders as a page instead of calling them. */
export const CONSOLE_GUARDED_READS = ['/v1/privacy', '/v1/governance', '/v1/clients'] as const;

/** Privacy officers review budgets and consent; auditors check them; operators run the jobs that spend them. */
export const PRIVACY_ROLES = ['privacy-officer', 'auditor', 'operator'] as const;
/** ML leads and privacy officers sign approvals; auditors check them. */
export const GOVERNANCE_ROLES = ['ml-lead', 'auditor', 'privacy-officer'] as const;

const noState = { error: { code: 'TESSERA_ERR_NOT_FOUND' as const, message: 'this coordinator runs without a state directory (--state DIR): there is no ledger, consent or registry to show' } };

export const consoleApiRoutes: FastifyPluginAsyncZod<ConsoleApiDeps> = async (app, deps) => {
  app.get('/v1/whoami', { config: { access: ANY_OPERATOR }, schema: { summary: "The bearer token's holder and role", tags: ['console'], response: { 200: WhoAmI } } }, async (req) => {
    const who = req.operator;
    // The guard set it (a guarded route is never reached without a holder).
    if (who === null) throw new TesseraError('TESSERA_ERR_INTERNAL', 'a guarded route was reached without a token holder');
    const access: Record<string, TokenRole[]> = {};
    for (const r of deps.routes()) {
      if (r.method === 'GET' && (CONSOLE_GUARDED_READS as readonly string[]).includes(r.url) && r.access !== 'public') access[r.url] = [...r.access];
    }
    return { name: who.name, role: who.role, detail: DETAIL_ROLES.includes(who.role), access };
  });

  app.get(
    '/v1/jobs/:id/series',
    { config: { access: ANY_OPERATOR }, schema: { summary: "A job's rounds as counts per round, for charts (no per-organisation detail)", tags: ['console'], params: JobIdParams, response: { 200: JobSeries, 404: ApiError } } },
    async (req, reply) => {
      const job = deps.jobs.get(req.params.id);
      if (!job) return reply.code(404).send({ error: { code: 'TESSERA_ERR_JOB_NOT_FOUND' as const, message: `no job ${req.params.id}` } });
      const { reason, findings: _findings, ...summary } = job.view;
      const stored = deps.db !== undefined ? jobSpecOf(deps.db, req.params.id) : undefined;
      return {
        job: { ...summary, reasonCode: reason.code },
        spec: stored ? { dataset: stored.spec.data.dataset, contractHash: stored.spec.data.contractHash ?? null, specHash: stored.specHash, budget: stored.spec.dp.enabled ? (stored.spec.dp.epsilon ?? null) : null } : null,
        rounds: job.rounds.map(seriesRound),
      };
    },
  );

  app.get(
    '/v1/privacy',
    { config: { access: [...PRIVACY_ROLES] }, schema: { summary: 'Privacy budgets and spend per job and organisation, charged rounds, accountant settings, consent', tags: ['console'], response: { 200: PrivacyOverview, 404: ApiError } } },
    async (_req, reply) => {
      if (deps.db === undefined) return reply.code(404).send(noState);
      return privacyOverview(deps.db, (jobId) => deps.jobs.get(jobId)?.rounds ?? []);
    },
  );

  app.get(
    '/v1/governance',
    { config: { access: [...GOVERNANCE_ROLES] }, schema: { summary: 'Models with lineage, signed evidence, approvals, the deployment gate, deployments, audit verification and model cards', tags: ['console'], response: { 200: GovernanceOverview, 404: ApiError } } },
    async (_req, reply) => {
      if (deps.db === undefined || deps.stateDir === undefined) return reply.code(404).send(noState);
      return governanceOverview(deps.db, deps.stateDir);
    },
  );

  deps.feed(registerEvents(app, { jobs: deps.jobs, federation: deps.federation, db: deps.db }));
};
