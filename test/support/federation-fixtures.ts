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

export async function coordinator(): Promise<CoordinatorServer> {
  return startCoordinator({ logger, port: 0 });
}

/** A client node over a real socket; the nodes of one test share `turns` (one backend per process). */
export function socketClient(server: CoordinatorServer, turns: TrainingTurns, id: string, data: ClientData, mods: ClientMod[] = []): ClientNode {
  const transport = socketIoClientTransport({
    url: server.url,
    handshake: { protocolVersion: PROTOCOL_VERSION, clientId: id, orgId: `org-${id}`, examples: data.train.n },
    reconnectDelayMs: 100,
    reconnectDelayMaxMs: 200,
  });
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
