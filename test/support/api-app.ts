/**
 * A fastify app with the coordinator's API conventions (coordinator/api/conventions.ts) and real tokens in a
 * real state directory, for tests that mount one route plugin (e.g. serving) without a whole coordinator.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { installApiConventions } from '../../coordinator/api/conventions.ts';
import { failureLimiter } from '../../coordinator/api/failure-limiter.ts';
import { createOperatorToken, operatorTokenVerifier, type TokenRole } from '../../governance/identity/operator-tokens.ts';

export interface ApiTestApp {
  readonly app: FastifyInstance;
  /** `authorization` header of a token of this role (made once per role). */
  auth(role: TokenRole): { authorization: string };
}

export async function apiTestApp(stateDir: string): Promise<ApiTestApp> {
  const app = Fastify({ exposeHeadRoutes: false });
  await installApiConventions(app, { verifyToken: operatorTokenVerifier(stateDir), tokenFailures: failureLimiter({ maxFailures: 1000, windowMs: 60_000 }) });
  const tokens = new Map<TokenRole, string>();
  return {
    app,
    auth(role) {
      let t = tokens.get(role);
      if (t === undefined) {
        t = createOperatorToken(stateDir, { name: `test-${role}`, role }).token;
        tokens.set(role, t);
      }
      return { authorization: `Bearer ${t}` };
    },
  };
}
