/**
 * The coordinator process: a fastify server (admin API, serving) with socket.io attached for the clients.
 * Listens on 127.0.0.1 by default; port 0 picks a free port (tests and simulations use that).
 *
 * Every client proves the key the consortium roster lists for it (coordinator/transport/socket-auth.ts), and the
 * coordinator proves its own key (`<state>/keys/coordinator.key`; a throw-away key without a state directory).
 * With `tls` it serves HTTPS/WSS; without, it refuses to listen anywhere but loopback unless `insecure` is set,
 * and then says so in its log and on `/v1/health`.
 */
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { Federation } from './federation.ts';
import { socketIoServerTransport, type SocketServerOptions } from './transport/socketio-server.ts';
import { adminRoutes } from './admin-routes.ts';
import { frameworkErrors } from './http-errors.ts';
import { jobRoutes } from './job-routes.ts';
import { registerConsole } from './console/routes.ts';
import { JobService, type JobServiceDeps } from './job-service.ts';
import { cryptoRandom } from '../privacy/random.ts';
import { Metrics } from './metrics.ts';
import { installApiConventions, type ApiConventions } from './api/conventions.ts';
import { failureLimiter } from './api/failure-limiter.ts';
import { handshakeFailureLimits, tokenFailureLimits, type RateLimits } from './api/rate-limits.ts';
import type { Db } from '../governance/state/database.ts';
import type { ClientRoster } from '../governance/identity/client-roster.ts';
import { keyPairFromSeed, type Ed25519KeyPair } from '../governance/identity/ed25519.ts';
import { loadOrCreateCoordinatorKey } from '../governance/identity/key-file.ts';
import { operatorTokenVerifier } from '../governance/identity/operator-tokens.ts';
import { TesseraError } from '../protocol/errors.ts';
import type { ConnectionCaps } from './transport/connection-limits.ts';
import type { FeedbackSink } from './serving/review/feedback-sink.ts';

export interface CoordinatorTls {
  /** PEM certificate chain and private key of the coordinator. */
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
  /** With `ca`: mutual TLS — clients must present a certificate issued by this CA. */
  readonly ca?: string | Buffer;
}

export interface CoordinatorOptions extends ConnectionCaps {
  readonly host?: string;
  readonly port?: number;
  readonly logger: Logger;
  /** Who may connect: client id → public key and organisation (`tessera keys roster`). */
  readonly roster: ClientRoster;
  /** The key this coordinator proves to clients. Default: `<state>/keys/coordinator.key`, else a throw-away key. */
  readonly coordinatorKey?: Ed25519KeyPair;
  readonly tls?: CoordinatorTls;
  /** Allow plain HTTP on a non-loopback interface (announced at start and on /v1/health). */
  readonly insecure?: boolean;
  readonly maxMessageBytes?: number;
  readonly handshakeTimeoutMs?: number;
  readonly preAuthMessageBytes?: number;
  /**
   * The coordinator's state (`--state DIR`): with both, the deployed models are served at
   * `POST /v1/models/:name/predict` (coordinator/serving/routes.ts).
   */
  readonly stateDir?: string;
  readonly db?: Db;
  /** Predictions and failed authentication per address (coordinator/api/rate-limits.ts). */
  readonly rateLimits?: RateLimits;
  /**
   * Human review and retention (issue 20 §5, §7): where review decisions go as feedback (default: the review
   * record only) and how often the retention purge runs (default hourly).
   */
  readonly review?: { readonly feedback?: FeedbackSink; readonly retentionEveryMs?: number };
  /**
   * The job service's settings (job-service.ts): how long rounds wait for eligible clients, the resume grace,
   * secure aggregation's identities, the roster for preflight. Jobs run only after `server.jobs.start()`.
   */
  readonly jobs?: Partial<Pick<JobServiceDeps, 'waitClientsMs' | 'resumeGraceMs' | 'rng'>> & Pick<JobServiceDeps, 'secAggIdentities' | 'consentRoster' | 'contracts' | 'population' | 'preflightContext' | 'say'>;
}

/** Defaults of the job service: rounds wait up to 5 minutes for eligible clients; a resumed job 15 s for reconnections (client back-off is ≤ ~12 s). */
export const JOB_SERVICE_DEFAULTS = { waitClientsMs: 300_000, resumeGraceMs: 15_000 } as const;

export interface CoordinatorServer {
  readonly app: FastifyInstance;
  readonly federation: Federation;
  /** The jobs this coordinator hosts (submit, list, cancel; `start()` runs them). */
  readonly jobs: JobService;
  readonly metrics: Metrics;
  readonly url: string;
  readonly port: number;
  /** The public key clients see proven in their handshake. */
  readonly coordinatorKey: Uint8Array;
  readonly transport: { refusedConnections(): number; openConnections(): number };
  /** Every /v1 route with its declared access (the route → roles table). */
  readonly api: ApiConventions;
  close(): Promise<void>;
}

/** Loopback names: plain HTTP there reaches no other machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function startCoordinator(options: CoordinatorOptions): Promise<CoordinatorServer> {
  const host = options.host ?? '127.0.0.1';
  const plainOffLoopback = options.tls === undefined && !isLoopback(host);
  if (plainOffLoopback && options.insecure !== true) {
    throw new TesseraError(
      'TESSERA_ERR_INVALID_ARGUMENT',
      `refusing to serve plain HTTP on ${host}: give --tls-cert and --tls-key (tessera certs dev makes trial certificates), or --insecure to accept that anyone on the network can read and alter the traffic`,
    );
  }
  const coordinatorKey = options.coordinatorKey ?? (options.stateDir !== undefined ? loadOrCreateCoordinatorKey(options.stateDir) : keyPairFromSeed(new Uint8Array(randomBytes(32))));
  const httpLogger = options.logger.child({ component: 'http' }, { level: 'warn' }) as FastifyBaseLogger;
  const tls = options.tls;
  // Request lines are noise for operators of a federation; the http child logs warnings and errors only.
  // No automatic HEAD routes: every method a route answers is one it declares (and guards).
  const app: FastifyInstance = tls
    ? (Fastify({
        loggerInstance: httpLogger,
        exposeHeadRoutes: false,
        frameworkErrors,
        https: { cert: tls.cert, key: tls.key, ...(tls.ca !== undefined ? { ca: tls.ca, requestCert: true, rejectUnauthorized: true } : {}) },
      }) as unknown as FastifyInstance)
    : Fastify({ loggerInstance: httpLogger, exposeHeadRoutes: false, frameworkErrors });
  const metrics = new Metrics();
  const transportOptions: SocketServerOptions = {
    onRefusal: (code) => metrics.inc('tessera_connections_refused_total', 'Connections refused before they reached the federation, by error code', { code }),
    handshakeFailures: failureLimiter(handshakeFailureLimits(options.rateLimits)),
    roster: options.roster,
    coordinatorKey,
    logger: options.logger,
    ...(options.maxConnections !== undefined ? { maxConnections: options.maxConnections } : {}),
    ...(options.maxConnectionsPerAddress !== undefined ? { maxConnectionsPerAddress: options.maxConnectionsPerAddress } : {}),
    ...(options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {}),
    ...(options.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: options.handshakeTimeoutMs } : {}),
    ...(options.preAuthMessageBytes !== undefined ? { preAuthMessageBytes: options.preAuthMessageBytes } : {}),
  };
  const transport = socketIoServerTransport(app.server, transportOptions);
  const federation = new Federation(transport, options.logger.child({ component: 'federation' }));
  const j = options.jobs;
  const jobs = new JobService({
    federation,
    metrics,
    logger: options.logger,
    rng: j?.rng ?? cryptoRandom(),
    waitClientsMs: j?.waitClientsMs ?? JOB_SERVICE_DEFAULTS.waitClientsMs,
    resumeGraceMs: j?.resumeGraceMs ?? JOB_SERVICE_DEFAULTS.resumeGraceMs,
    ...(options.db !== undefined ? { db: options.db } : {}),
    ...(options.stateDir !== undefined ? { stateDir: options.stateDir } : {}),
    ...(j?.secAggIdentities ? { secAggIdentities: j.secAggIdentities } : {}),
    ...(j?.population ? { population: j.population } : {}),
    ...(j?.consentRoster ? { consentRoster: j.consentRoster } : {}),
    ...(j?.contracts ? { contracts: j.contracts } : {}),
    ...(j?.preflightContext ? { preflightContext: j.preflightContext } : {}),
    ...(j?.say ? { say: j.say } : {}),
  });
  const security = { tls: tls !== undefined, mutualTls: tls?.ca !== undefined, insecure: plainOffLoopback };
  metrics.collect('tessera_clients_connected', () => federation.clients().length);
  const api = await installApiConventions(app, {
    verifyToken: operatorTokenVerifier(options.stateDir),
    tokenFailures: failureLimiter(tokenFailureLimits(options.rateLimits)),
    onRefused: (code) => metrics.inc('tessera_api_requests_refused_total', 'Operator API requests refused by the access guard (401, 403, 429), by error code', { code }),
  });
  await app.register(adminRoutes, { federation, metrics, security });
  await app.register(jobRoutes, { jobs });
  if (options.stateDir !== undefined && options.db !== undefined) {
    // Loaded on use: serving pulls in TensorFlow.js.
    const { servingRoutes } = await import('./serving/routes.ts');
    await app.register(servingRoutes, {
      stateDir: options.stateDir,
      db: options.db,
      logger: options.logger,
      metrics,
      ...(options.rateLimits?.predictPerMinute !== undefined ? { predictPerMinute: options.rateLimits.predictPerMinute } : {}),
      // The contracts the coordinator holds for jobs check served instances too (found by the model's contract hash).
      ...(j?.contracts ? { contracts: j.contracts } : {}),
    });
    await app.register((await import('./audit-checkpoint-route.ts')).auditCheckpointRoute, { db: options.db });
    // ── After deployment: the review API and the scheduled retention purge (issue 20 §5, §7) ──
    const { reviewRoutes } = await import('./serving/review/routes.ts');
    await app.register(reviewRoutes, { db: options.db, ...(options.review?.feedback !== undefined ? { feedback: options.review.feedback } : {}) });
    const { startRetentionTask } = await import('./serving/retention-task.ts');
    const retention = startRetentionTask({ db: options.db, stateDir: options.stateDir, logger: options.logger, ...(options.review?.retentionEveryMs !== undefined ? { everyMs: options.review.retentionEveryMs } : {}) });
    app.addHook('onClose', async () => retention.stop());
  }
  // --- Operator console (issue 17): /console pages and the /v1 routes they read (coordinator/console/). ---
  const operatorConsole = await registerConsole(app, { jobs, federation, stateDir: options.stateDir, db: options.db, routes: () => api.routes() });
  // --- end operator console ---
  await app.listen({ host, port: options.port ?? 0 });
  if (plainOffLoopback) options.logger.warn({ host }, 'INSECURE: plain HTTP on a non-loopback interface (--insecure): traffic, job specs and updates can be read and altered on the network');
  const address = app.server.address() as AddressInfo;
  let closed = false;
  return {
    app,
    federation,
    jobs,
    metrics,
    url: `${tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${address.port}`,
    port: address.port,
    coordinatorKey: coordinatorKey.publicKey,
    transport,
    api,
    async close() {
      if (closed) return;
      closed = true;
      // The running job stops (and stays queued for the next start) before the clients' tasks are cancelled.
      const stopping = jobs.close();
      federation.cancelAll('coordinator shutting down');
      await stopping;
      operatorConsole.close(); // operator console: open event streams end, or the HTTP server would wait for them
      await transport.close();
      await app.close();
    },
  };
}
