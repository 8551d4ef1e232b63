/**
 * The job service's HTTP API (issue 15 §1): submit, list, show and cancel hosted jobs. Each route is declared
 * once in JOB_ROUTES — method, path, the operator roles that may call it, and zod schemas for its params, body
 * and responses (the fastify-type-provider-zod convention: the plugin sets its own validator and serializer, so
 * it is self-contained and can be registered under any OpenAPI set-up). Submitting and cancelling need the
 * operator role; reading is as before: the list for every role (summaries: no per-organisation text), one job's
 * detail (per-client reasons, preflight findings) for the roles that see per-organisation detail.
 */
import type { FastifyError, FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { OperatorIdentity, OperatorRole } from '../governance/identity/operator-tokens.ts';
import { TesseraError } from '../protocol/errors.ts';
import { ANY_ROLE, DETAIL_ROLES, guard, operatorOf } from './admin-routes.ts';
import type { JobService } from './job-service.ts';
import { HostedJobView } from './job-views.ts';
import { RoundRecordSchema } from './state/round-record-codec.ts';

export const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }) });

/** A job in the list: no reason text and no findings (both may name organisations). */
export const HostedJobSummary = HostedJobView.omit({ reason: true, findings: true }).extend({ reasonCode: z.string().nullable() });
export const JobList = z.object({ jobs: z.array(HostedJobSummary) });
export const JobDetail = HostedJobView.extend({ rounds: z.array(RoundRecordSchema) });
export const JobParams = z.object({ id: z.string().min(1).max(200) });
/** A submission: the job spec (checked by the preflight, which names unknown keys) and whether to start it over. */
export const JobSubmission = z.strictObject({ spec: z.record(z.string(), z.unknown()), fresh: z.boolean().optional() });

const WRITE: readonly OperatorRole[] = ['operator'];

/** Every job route: one line each, so a route cannot be added without deciding who may call it. */
export const JOB_ROUTES = {
  list: { method: 'GET', url: '/v1/jobs', roles: ANY_ROLE, schema: { response: { 200: JobList } } },
  show: { method: 'GET', url: '/v1/jobs/:id', roles: DETAIL_ROLES, schema: { params: JobParams, response: { 200: JobDetail, 404: ErrorBody } } },
  submit: { method: 'POST', url: '/v1/jobs', roles: WRITE, schema: { body: JobSubmission, response: { 200: HostedJobView, 400: ErrorBody, 409: ErrorBody } } },
  cancel: { method: 'POST', url: '/v1/jobs/:id/cancel', roles: WRITE, schema: { params: JobParams, response: { 200: HostedJobView, 404: ErrorBody, 409: ErrorBody } } },
} as const;

export interface JobRouteDeps {
  readonly jobs: JobService;
  readonly verifyToken?: (token: string) => OperatorIdentity | undefined;
}

const STATUS: Partial<Record<string, 400 | 404 | 409>> = {
  TESSERA_ERR_INVALID_JOB_SPEC: 400,
  TESSERA_ERR_INVALID_ARGUMENT: 400,
  TESSERA_ERR_JOB_NOT_FOUND: 404,
  TESSERA_ERR_JOB_STATE: 409,
  TESSERA_ERR_FRESH_REFUSED: 409,
};

export const jobRoutes: FastifyPluginAsyncZod<JobRouteDeps> = async (app, deps) => {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.setErrorHandler((err: FastifyError, _req, reply) => {
    if (err instanceof TesseraError) {
      const code = STATUS[err.code] ?? 500;
      return reply.code(code).send({ error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
    }
    // Schema validation of params or body: the request is unusable as sent.
    if (err.validation) return reply.code(400).send({ error: { code: 'TESSERA_ERR_INVALID_ARGUMENT', message: err.message } });
    return reply.code(500).send({ error: { code: 'TESSERA_ERR_INTERNAL', message: err.message } });
  });
  const r = JOB_ROUTES;
  app.route({ method: r.list.method, url: r.list.url, schema: r.list.schema, preHandler: guard(deps, r.list.roles), handler: async () => ({
    jobs: deps.jobs.list().map(({ reason, findings: _f, ...j }) => ({ ...j, reasonCode: reason.code })),
  }) });
  app.route({ method: r.show.method, url: r.show.url, schema: r.show.schema, preHandler: guard(deps, r.show.roles), handler: async (req, reply) => {
    const job = deps.jobs.get(req.params.id);
    if (!job) return reply.code(404).send({ error: { code: 'TESSERA_ERR_JOB_NOT_FOUND', message: `no job ${req.params.id}` } });
    return { ...job.view, rounds: job.rounds.map((x) => RoundRecordSchema.parse(x)) };
  } });
  app.route({ method: r.submit.method, url: r.submit.url, schema: r.submit.schema, preHandler: guard(deps, r.submit.roles), handler: async (req) => {
    const who = operatorOf(req);
    return deps.jobs.submit(req.body.spec, { ...(req.body.fresh !== undefined ? { fresh: req.body.fresh } : {}), actor: `operator:${who?.name ?? 'unknown'}` });
  } });
  app.route({ method: r.cancel.method, url: r.cancel.url, schema: r.cancel.schema, preHandler: guard(deps, r.cancel.roles), handler: async (req) => deps.jobs.cancel(req.params.id) });
};

/** Registers the job routes on a coordinator's app (encapsulated: their compilers and error handler stay inside). */
export async function registerJobRoutes(app: FastifyInstance, deps: JobRouteDeps): Promise<void> {
  await app.register(jobRoutes, deps);
}
