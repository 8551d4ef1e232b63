/**
 * Every HTTP answer of the coordinator that is not a success carries a coded error, in the one shape the routes
 * already use: `{ "error": { "code": "TESSERA_ERR_…", "message": "…" } }`. Without these handlers fastify answers
 * an unknown path, a malformed JSON body or an oversized body with its own shape and codes (`FST_ERR_…`), which
 * clients of the operator API cannot rely on (found by the HTTP fuzz test, test/fuzz-http.test.ts).
 *
 * Registered on the root instance before any route, so every route plugin inherits the error handler; errors
 * fastify raises before routing (a URL that does not decode, FST_ERR_BAD_URL) go through `frameworkErrors`, given
 * to the Fastify constructor.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { ErrorCode } from '../protocol/errors.ts';

export interface HttpErrorBody {
  readonly error: { readonly code: ErrorCode; readonly message: string };
}

/** The code of an error fastify raised before a handler ran (parsing, limits), by its HTTP status. */
function codeOf(status: number): ErrorCode {
  if (status === 413) return 'TESSERA_ERR_CONNECTION_LIMIT';
  if (status === 404 || status === 405) return 'TESSERA_ERR_ROUTE_NOT_FOUND';
  return status >= 400 && status < 500 ? 'TESSERA_ERR_MESSAGE_INVALID' : 'TESSERA_ERR_INTERNAL';
}

export function codedHttpErrors(app: FastifyInstance, logger: Logger): void {
  app.setNotFoundHandler(async (req, reply) => {
    const body: HttpErrorBody = { error: { code: 'TESSERA_ERR_ROUTE_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0] ?? ''}` } };
    return reply.code(404).send(body);
  });
  app.setErrorHandler(async (err: FastifyError, req, reply) => {
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    const code = codeOf(status);
    // A client error's message is fastify's description of the request (no data of ours); a server error's
    // message may name internals, so it goes to the operator's log and the caller gets a fixed sentence.
    if (status >= 500) logger.error({ code, route: req.routeOptions.url, err }, 'HTTP handler failed');
    const message = status >= 500 ? 'internal error; the coordinator logged it' : err.message;
    const body: HttpErrorBody = { error: { code, message } };
    return reply.code(status).send(body);
  });
}

/** Fastify's `frameworkErrors` option: errors raised before routing (an undecodable URL) in the same coded shape. */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const body: HttpErrorBody = { error: { code: 'TESSERA_ERR_MESSAGE_INVALID', message: err.message } };
  void reply.code(400).send(body);
}
