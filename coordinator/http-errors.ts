/**
 * Every HTTP answer of the coordinator that is not a success carries a coded error, in the one shape the routes
 * use: `{ "error": { "code": "TESSERA_ERR_…", "message": "…" } }`. The API conventions' error and not-found
 * handlers (api/conventions.ts) cover everything routed; errors fastify raises BEFORE routing (a URL that does
 * not decode, FST_ERR_BAD_URL) go through `frameworkErrors`, given to the Fastify constructor (found by the HTTP
 * fuzz test, test/fuzz-http.test.ts).
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { ErrorCode } from '../protocol/errors.ts';

export interface HttpErrorBody {
  readonly error: { readonly code: ErrorCode; readonly message: string };
}

/** Fastify's `frameworkErrors` option: errors raised before routing (an undecodable URL) in the same coded shape. */
export function frameworkErrors(err: FastifyError, _req: FastifyRequest, reply: FastifyReply): void {
  const body: HttpErrorBody = { error: { code: 'TESSERA_ERR_MESSAGE_INVALID', message: err.message } };
  void reply.code(400).send(body);
}
