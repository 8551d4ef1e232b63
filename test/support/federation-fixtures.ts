/**
 * Shared set-up for integration tests: a real coordinator on 127.0.0.1 (port 0) and client nodes over real
 * socket.io connections, on small slices of real MNIST.
 */
import { ClientNode, type ClientData } from '../../client/node.ts';
import type { ClientMod } from '../../client/mods/mod.ts';
import { socketIoClientTransport } from '../../client/transport/socketio-client.ts';
import { startCoordinator, type CoordinatorServer } from '../../coordinator/server.ts';
import { loadMnist } from '../../datasets/mnist.ts';
import { selectRows, type Examples } from '../../datasets/types.ts';
import { silentLogger } from '../../lib/logger.ts';
import { parseJobSpec, type JobSpec, type JobSpecInput } from '../../protocol/job/spec.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import type { TrainingTurns } from '../../client/training-turns.ts';
import { throwawayConsortium } from '../../governance/identity/client-roster.ts';

export const logger = silentLogger();

let cached: { train: Examples; test: Examples } | undefined;

/** Real MNIST rows, flattened to 784 features for logistic/MLP models. */
export function mnistSlice(from: number, count: number): Examples {
  cached ??= loadMnist({ trainLimit: 3000, testLimit: 500 });
  const rows = Array.from({ length: count }, (_, i) => from + i);
  const e = selectRows(cached.train, rows);
  return { ...e, featureShape: [784] };
}

export function mnistTest(): Examples {
  cached ??= loadMnist({ trainLimit: 3000, testLimit: 500 });
  return { ...cached.test, featureShape: [784] };
}

export function logisticJob(overrides: Partial<JobSpecInput> = {}): JobSpec {
  return parseJobSpec({
    name: 'test',
    model: { kind: 'logistic', inputs: 784, classes: 10 },
    data: { dataset: 'mnist' },
    rounds: 2,
    sampling: { mode: 'fixed', clientsPerRound: 100 },
    minClients: 1,
    roundDeadlineMs: 20_000,
    training: { epochs: 1, batchSize: 32, learningRate: 0.1, optimizer: 'sgd' },
    ...overrides,
  });
}

/**
 * The test consortium: every client id a test names gets a throw-away Ed25519 key on first use, and the roster
 * the test coordinators admit lists exactly those keys, under organisation `org-<id>` unless a test says otherwise.
 */
export const consortium = throwawayConsortium((id) => `org-${id}`);

/** The CA that test clients trust when a test coordinator serves TLS (set by `coordinator(port, { tls })`). */
let trustedCa: string | undefined;

export interface TestTls {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/**
 * A coordinator on 127.0.0.1:`port` admitting the test consortium; caps sized for the many clients of one host.
 * With `tls` (PEM texts, e.g. from makeDevCertificates) it serves HTTPS/WSS and test clients verify it with `ca`.
 */
export async function coordinator(port = 0, o: { tls?: TestTls; handshakeTimeoutMs?: number } = {}): Promise<CoordinatorServer> {
  trustedCa = o.tls?.ca;
  return startCoordinator({
    logger,
    port,
    roster: consortium.roster,
    maxConnectionsPerAddress: 1024,
    ...(o.tls ? { tls: { cert: o.tls.cert, key: o.tls.key } } : {}),
    ...(o.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: o.handshakeTimeoutMs } : {}),
  });
}

/** What a test client needs to reach `url`: the CA of the test coordinator when it serves TLS. */
export function clientTls(url: string): { ca: string } | undefined {
  return url.startsWith('https:') && trustedCa !== undefined ? { ca: trustedCa } : undefined;
}

/** A socket transport for `id`, proving its consortium key (reconnecting fast, as tests want); `examples` undefined: not disclosed. */
export function authenticatedTransport(server: { url: string }, id: string, examples: number | undefined, orgId = `org-${id}`): ReturnType<typeof socketIoClientTransport> {
  return socketIoClientTransport({
    url: server.url,
    handshake: { protocolVersion: PROTOCOL_VERSION, clientId: id, orgId, ...(examples === undefined ? {} : { examples }) },
    identity: consortium.identityOf(id, orgId),
    ...(clientTls(server.url) ? { tls: clientTls(server.url) } : {}),
    reconnectDelayMs: 100,
    reconnectDelayMaxMs: 200,
  });
}

/** A client node over a real socket; the nodes of one test share `turns` (one backend per process). */
export function socketClient(server: CoordinatorServer, turns: TrainingTurns, id: string, data: ClientData, mods: ClientMod[] = []): ClientNode {
  const transport = authenticatedTransport(server, id, data.train.n);
  return new ClientNode({ clientId: id, orgId: `org-${id}`, transport, data, logger, mods, turns });
}

/** A mod that keeps a copy of every update its client sends, so a test can recompute the aggregate. */
export function recordingMod(sink: Map<number, Float32Array>): ClientMod {
  return {
    name: 'record-updates',
    transformUpdate(update, ctx) {
      sink.set(ctx.task.round, Float32Array.from(update));
      return { update };
    },
  };
}
