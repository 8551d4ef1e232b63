/**
 * The one convention of the coordinator's HTTP API (issue 12 item 4). A route is a plain fastify declaration with
 * zod schemas (fastify-type-provider-zod) and its access in `config`:
 *
 *   app.withTypeProvider<ZodTypeProvider>().get('/v1/jobs', {
 *     config: { access: ANY_OPERATOR },                       // or 'public', or ['operator'] …
 *     schema: { summary: 'Jobs', response: { 200: JobsResponse, 404: ApiError } },
 *   }, handler);
 *
 * `installApiConventions` (called once, before any route) makes that declaration the single source of truth:
 *  - requests are validated and responses serialised through the zod schemas (a response that does not match
 *    is a 500, never sent; response objects strip undeclared fields);
 *  - an `onRoute` hook refuses, at start, a /v1 route without `config.access` or without a 2xx response schema
 *    (TESSERA_ERR_ROUTE_UNDECLARED), attaches the bearer guard to guarded routes, adds their 401/403/429 (and
 *    400 where there is input) responses, and writes the OpenAPI security requirement and `x-tessera-roles`;
 *  - @fastify/swagger builds the OpenAPI 3.1 document from all of it, served at `GET /v1/openapi.json`.
 *    That route is public: it is generated from the code (the same for every coordinator of a version), holds
 *    no state and no names, and tools need it to learn how to authenticate before they hold a token.
 *  - every error leaves as `{error: {code, message}}` with a TESSERA_ERR_ code, unknown routes included.
 *
 * A feature's routes plug in as a fastify plugin registered after this (e.g. `app.register(jobRoutes, deps)`).
 */
import fastifySwagger from '@fastify/swagger';
import type { FastifyError, FastifyInstance, RouteOptions } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError, jsonSchemaTransform, jsonSchemaTransformObject, serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ApiError } from '../../protocol/api.ts';
import { TesseraError, isTesseraError, type ErrorCode } from '../../protocol/errors.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import { bearerGuard, type ApiAccess, type RouteAccess } from './access.ts';

/** The OpenAPI security scheme every guarded route requires. */
export const BEARER_SCHEME = 'bearerToken';

/** One row of the route → roles table, as declared (for docs and tests). */
export interface DeclaredRoute {
  readonly method: string;
  readonly url: string;
  readonly access: RouteAccess;
}

/** The outline of the generated document (the route's response schema; @readme/openapi-parser checks the rest in tests). */
const OpenApiDocument = z.looseObject({ openapi: z.string(), info: z.looseObject({ title: z.string(), version: z.string() }), paths: z.record(z.string(), z.unknown()) });

const errorBody = (code: ErrorCode, message: string): ApiError => ({ error: { code, message } });

/** The status a TesseraError thrown from a handler is answered with. */
function statusOf(code: ErrorCode): number {
  if (code === 'TESSERA_ERR_NOT_FOUND' || code === 'TESSERA_ERR_ROUTE_NOT_FOUND' || code === 'TESSERA_ERR_JOB_NOT_FOUND') return 404;
  if (code === 'TESSERA_ERR_UNAUTHENTICATED') return 401;
  if (code === 'TESSERA_ERR_FORBIDDEN') return 403;
  if (code === 'TESSERA_ERR_RATE_LIMITED') return 429;
  if (code === 'TESSERA_ERR_INVALID_ARGUMENT' || code === 'TESSERA_ERR_INVALID_JOB_SPEC' || code === 'TESSERA_ERR_MESSAGE_INVALID') return 400;
  // The request is well formed but the job's state does not allow it (cancel an ended job, --fresh on a charged or running job).
  if (code === 'TESSERA_ERR_JOB_STATE' || code === 'TESSERA_ERR_FRESH_REFUSED' || code === 'TESSERA_ERR_REVIEW_DECIDED') return 409;
  return 500;
}

function methods(route: RouteOptions): string[] {
  return Array.isArray(route.method) ? route.method.map(String) : [String(route.method)];
}

function hasSuccessSchema(route: RouteOptions): boolean {
  const response = route.schema?.response;
  if (typeof response !== 'object' || response === null) return false;
  return Object.keys(response).some((status) => /^2\d\d$/.test(status));
}

/** Prepends a hook to a route's hook list (the guard runs before any other onRequest work). */
function prependOnRequest(route: RouteOptions, hook: NonNullable<RouteOptions['onRequest']>): void {
  const existing = route.onRequest;
  const list = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
  route.onRequest = [...(Array.isArray(hook) ? hook : [hook]), ...list];
}

export interface ApiConventions {
  /** Every /v1 route registered so far, with its declared access. */
  routes(): readonly DeclaredRoute[];
}

export async function installApiConventions(app: FastifyInstance, access: ApiAccess): Promise<ApiConventions> {
  const declared: DeclaredRoute[] = [];
  app.decorateRequest('operator', null);
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);

  app.addHook('onRoute', (route) => {
    if (!route.url.startsWith('/v1/')) return;
    const where = `${methods(route).join(',')} ${route.url}`;
    const routeAccess = route.config?.access;
    if (routeAccess === undefined) {
      throw new TesseraError('TESSERA_ERR_ROUTE_UNDECLARED', `${where} declares no access: add config: { access: 'public' | [roles…] } to its declaration`);
    }
    if (!hasSuccessSchema(route)) {
      throw new TesseraError('TESSERA_ERR_ROUTE_UNDECLARED', `${where} declares no response schema for its success status: add schema.response[200] (a zod schema)`);
    }
    const schema = (route.schema ??= {});
    const response = schema.response as Record<string, unknown>;
    const extra = schema as Record<string, unknown>;
    response['500'] ??= ApiError;
    if (schema.body !== undefined || schema.params !== undefined || schema.querystring !== undefined) response['400'] ??= ApiError;
    if (route.config?.rateLimit !== undefined && route.config.rateLimit !== false) response['429'] ??= ApiError;
    if (routeAccess === 'public') {
      extra.security = [];
      extra['x-tessera-roles'] = 'public';
    } else {
      response['401'] ??= ApiError;
      response['403'] ??= ApiError;
      response['429'] ??= ApiError;
      extra.security = [{ [BEARER_SCHEME]: [] }];
      extra['x-tessera-roles'] = [...routeAccess];
      prependOnRequest(route, bearerGuard(access, routeAccess));
    }
    for (const method of methods(route)) declared.push({ method, url: route.url, access: routeAccess });
  });

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tessera coordinator API',
        version: String(PROTOCOL_VERSION),
        description: 'Operator API, prediction API and audit checkpoints of a Tessera coordinator. Each operation lists the token roles it accepts in x-tessera-roles (docs/access.md).',
      },
      components: { securitySchemes: { [BEARER_SCHEME]: { type: 'http', scheme: 'bearer', description: 'A token from `tessera tokens create` (one role each)' } } },
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issues = err.validation.map((v) => `${err.validationContext ?? 'request'}${v.instancePath || ''}: ${v.message}`).join('; ');
      return reply.code(400).send(errorBody('TESSERA_ERR_MESSAGE_INVALID', `invalid request: ${issues}`));
    }
    if (isResponseSerializationError(err)) {
      req.log.error({ route: req.routeOptions.url, method: req.method, issues: err.cause.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }, 'response does not match its declared schema');
      return reply.code(500).send(errorBody('TESSERA_ERR_RESPONSE_INVALID', 'the response did not match its declared schema and was not sent (a bug: see the coordinator log)'));
    }
    if (isTesseraError(err)) {
      const status = statusOf(err.code);
      if (status === 500) req.log.error({ err }, 'request failed');
      return reply.code(status).send(errorBody(err.code, err.message));
    }
    if (err.statusCode === 429) return reply.code(429).send(errorBody('TESSERA_ERR_RATE_LIMITED', err.message));
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reply.code(413).send(errorBody('TESSERA_ERR_CONNECTION_LIMIT', err.message));
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return reply.code(err.statusCode).send(errorBody('TESSERA_ERR_MESSAGE_INVALID', err.message));
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).send(errorBody('TESSERA_ERR_INTERNAL', 'internal error (see the coordinator log)'));
  });
  app.setNotFoundHandler((req, reply) => reply.code(404).send(errorBody('TESSERA_ERR_ROUTE_NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0] ?? ''}`)));

  app.withTypeProvider<ZodTypeProvider>().get(
    '/v1/openapi.json',
    { config: { access: 'public' }, schema: { summary: 'This OpenAPI document', tags: ['meta'], response: { 200: OpenApiDocument } } },
    async () => OpenApiDocument.parse(app.swagger()),
  );
  return { routes: () => declared };
}
