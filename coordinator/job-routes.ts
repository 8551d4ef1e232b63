/**
 * The job service's HTTP API (issue 15 §1): submit, list, show and cancel hosted jobs. Each route declares who may
 * call it (`config.access`) and its zod schemas (protocol/api.ts) in its own declaration;
 * coordinator/api/conventions.ts turns that into the guard, the error answers and the OpenAPI document. Submitting
 * and cancelling need the operator role; the list is for every operator role (summaries: no per-organisation
 * text), one job's detail (per-client reasons, preflight findings) for the roles that see per-organisation detail.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError, HostedJobView, JobIdParams, JobSubmission, JobsResponse } from '../protocol/api.ts';
import { ANY_OPERATOR, DETAIL_ROLES } from './api/access.ts';
import type { JobService } from './job-service.ts';
import type { OperatorIdentity } from '../governance/identity/operator-tokens.ts';
import { RoundRecordSchema } from './state/round-record-codec.ts';

/** One job with its round records (per-client reasons included): detail roles only. */
export const JobDetail = HostedJobView.extend({ rounds: z.array(RoundRecordSchema) });
export type JobDetail = z.infer<typeof JobDetail>;

/** The token's identity for the audit entry of a submission or cancellation (the guard has set it on these routes). */
function byToken(operator: OperatorIdentity | null | undefined): { by?: OperatorIdentity; actor?: string } {
  return operator ? { by: operator } : { actor: 'operator:unknown' };
}

export interface JobRouteDeps {
  readonly jobs: JobService;
}

export const jobRoutes: FastifyPluginAsyncZod<JobRouteDeps> = async (app, deps) => {
  app.get('/v1/jobs', { config: { access: ANY_OPERATOR }, schema: { summary: 'Hosted jobs (summaries, no per-organisation detail)', tags: ['jobs'], response: { 200: JobsResponse } } }, async () => ({
    jobs: deps.jobs.list().map(({ reason, findings: _findings, ...j }) => ({ ...j, reasonCode: reason.code })),
  }));
  app.get(
    '/v1/jobs/:id',
    { config: { access: DETAIL_ROLES }, schema: { summary: 'One job with its preflight findings, round records and per-client reasons', tags: ['jobs'], params: JobIdParams, response: { 200: JobDetail, 404: ApiError } } },
    async (req, reply) => {
      const job = deps.jobs.get(req.params.id);
      if (!job) return reply.code(404).send({ error: { code: 'TESSERA_ERR_JOB_NOT_FOUND' as const, message: `no job ${req.params.id}` } });
      return { ...job.view, rounds: [...job.rounds] };
    },
  );
  app.post(
    '/v1/jobs',
    {
      config: { access: ['operator'] },
      schema: { summary: 'Submit a job: the preflight runs at once; a refused job is answered failed with its findings', tags: ['jobs'], body: JobSubmission, response: { 200: HostedJobView, 409: ApiError } },
    },
    async (req) => deps.jobs.submit(req.body.spec, { ...(req.body.fresh !== undefined ? { fresh: req.body.fresh } : {}), ...byToken(req.operator) }),
  );
  app.post(
    '/v1/jobs/:id/cancel',
    { config: { access: ['operator'] }, schema: { summary: 'Cancel a queued or running job', tags: ['jobs'], params: JobIdParams, response: { 200: HostedJobView, 404: ApiError, 409: ApiError } } },
    async (req) => deps.jobs.cancel(req.params.id, byToken(req.operator)),
  );
};
