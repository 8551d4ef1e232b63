/**
 * The coordinator process: a fastify server (admin API, serving) with socket.io attached for the clients.
 * Listens on 127.0.0.1 by default; port 0 picks a free port (tests and simulations use that).
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Federation } from './federation.ts';
import { socketIoServerTransport } from './transport/socketio-server.ts';
import { registerAdminRoutes, type JobBoard } from './admin-routes.ts';
import { Metrics } from './metrics.ts';
import type { Db } from '../governance/state/database.ts';

export interface CoordinatorOptions {
  readonly host?: string;
  readonly port?: number;
  readonly logger: Logger;
  readonly maxMessageBytes?: number;
  /**
   * The coordinator's state (`--state DIR`): with both, the deployed models are served at
   * `POST /v1/models/:name/predict` (coordinator/serving/routes.ts).
   */
  readonly stateDir?: string;
  readonly db?: Db;
}

export interface CoordinatorServer {
  readonly app: FastifyInstance;
  readonly federation: Federation;
  readonly jobs: JobBoard;
  readonly metrics: Metrics;
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startCoordinator(options: CoordinatorOptions): Promise<CoordinatorServer> {
  // Request lines are noise for operators of a federation; the http child logs warnings and errors only.
  const app = Fastify({ loggerInstance: options.logger.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger });
  const transport = socketIoServerTransport(app.server, options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes });
  const federation = new Federation(transport, options.logger.child({ component: 'federation' }));
  const jobs: JobBoard = new Map();
  const metrics = new Metrics();
  registerAdminRoutes(app, { federation, jobs, metrics });
  if (options.stateDir !== undefined && options.db !== undefined) {
    // Loaded on use: serving pulls in TensorFlow.js.
    const { servingRoutes } = await import('./serving/routes.ts');
    await app.register(servingRoutes, { stateDir: options.stateDir, db: options.db, logger: options.logger });
    await app.register((await import('./audit-checkpoint-route.ts')).auditCheckpointRoute, { db: options.db });
  }
  await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  const address = app.server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  let closed = false;
  return {
    app,
    federation,
    jobs,
    metrics,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    port: address.port,
    async close() {
      if (closed) return;
      closed = true;
      federation.cancelAll('coordinator shutting down');
      await transport.close();
      await app.close();
    },
  };
}
