/**
 * The operator console (issue 17), registered by coordinator/server.ts: the public page shells and assets
 * (pages.ts) and the guarded JSON routes they read (api-routes.ts).
 */
import type { FastifyInstance } from 'fastify';
import { consoleApiRoutes, type ConsoleApiDeps } from './api-routes.ts';
import { consolePages } from './pages.ts';

export async function registerConsole(app: FastifyInstance, deps: ConsoleApiDeps): Promise<void> {
  await app.register(consoleApiRoutes, deps);
  await app.register(consolePages);
}
