/**
 * The operator console (issue 17), registered by coordinator/server.ts: the public page shells and assets
 * (pages.ts) and the guarded JSON routes they read (api-routes.ts).
 */
import type { FastifyInstance } from 'fastify';
import { consoleApiRoutes, type ConsoleApiDeps } from './api-routes.ts';
import type { EventFeed } from './events.ts';
import { consolePages } from './pages.ts';

export interface ConsoleHandle {
  /**
   * Ends the open change-feed streams. The coordinator calls it before its transport closes the HTTP server:
   * Node's server.close() waits for every open response, and an event stream never ends by itself.
   */
  close(): void;
}

export async function registerConsole(app: FastifyInstance, deps: Omit<ConsoleApiDeps, 'feed'>): Promise<ConsoleHandle> {
  let feed: EventFeed | null = null;
  await app.register(consoleApiRoutes, { ...deps, feed: (f: EventFeed) => void (feed = f) });
  await app.register(consolePages);
  return { close: () => feed?.close() };
}
