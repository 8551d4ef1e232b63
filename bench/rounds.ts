/**
 * Round overhead: what a round costs beyond local training, for 10 and 100 clients, over real loopback
 * sockets and (the baseline, measured in the same run) over the in-memory transport. Clients live in this
 * one process and share one backend thread, so they train one after another: the overhead reported is
 * round time − the sum of the participants' training times (`overheadMs`); `roundMinusSlowestMs` is the
 * definition for truly parallel clients, shown for completeness.
 */
import { ClientNode } from '../client/node.ts';
import { socketIoClientTransport } from '../client/transport/socketio-client.ts';
import { Federation } from '../coordinator/federation.ts';
import { runJob } from '../coordinator/job-runner.ts';
import { startCoordinator } from '../coordinator/server.ts';
import { throwawayConsortium } from '../governance/identity/client-roster.ts';
import { loadMnist } from '../datasets/mnist.ts';
import { selectRows } from '../datasets/types.ts';
import { silentLogger } from '../lib/logger.ts';
import { initBackend } from '../ml/backend.ts';
import { buildModel } from '../ml/model.ts';
import { getFlatWeights } from '../ml/weights.ts';
import { seededRandom } from '../privacy/random.ts';
import { parseJobSpec } from '../protocol/job/spec.ts';
import type { ClientTransport } from '../protocol/transport.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { createMemoryHub } from '../simulations/memory-transport.ts';
import { TrainingTurns } from '../client/training-turns.ts';

interface RoundBench {
  clients: number;
  transport: 'socket' | 'memory';
  rounds: number;
  parameters: number;
  meanRoundMs: number;
  meanTotalTrainMs: number;
  meanSlowestTrainMs: number;
  overheadMs: number;
  overheadPerClientMs: number;
  roundMinusSlowestMs: number;
}

async function measure(clients: number, transport: 'socket' | 'memory', rounds = 3): Promise<RoundBench> {
  const logger = silentLogger();
  const { train } = loadMnist({ trainLimit: clients * 20, testLimit: 1 });
  const spec = parseJobSpec({
    model: { kind: 'mlp', inputs: 784, hidden: [64], classes: 10 },
    data: { dataset: 'mnist' },
    rounds,
    sampling: { mode: 'fixed', clientsPerRound: clients },
    minClients: clients,
    roundDeadlineMs: 120_000,
    training: { epochs: 1, batchSize: 20, learningRate: 0.1 },
  });
  const model = buildModel(spec.model, { seed: 1 });
  const initialWeights = getFlatWeights(model);
  model.dispose();
  let federation: Federation;
  let close = async (): Promise<void> => {};
  let connect: (id: string) => ClientTransport;
  if (transport === 'socket') {
    const consortium = throwawayConsortium();
    const server = await startCoordinator({ logger, port: 0, roster: consortium.roster, maxConnections: 100_000, maxConnectionsPerAddress: 100_000 });
    federation = server.federation;
    close = () => server.close();
    connect = (id) => socketIoClientTransport({ url: server.url, handshake: { protocolVersion: PROTOCOL_VERSION, clientId: id, orgId: id, examples: 20 }, identity: consortium.identityOf(id) });
  } else {
    const hub = createMemoryHub();
    federation = new Federation(hub.server, logger);
    connect = (id) => hub.connect({ protocolVersion: PROTOCOL_VERSION, clientId: id, orgId: id, examples: 20 });
  }
  const turns = new TrainingTurns();
  const nodes = Array.from({ length: clients }, (_, i) => {
    const rows = Array.from({ length: 20 }, (_, j) => i * 20 + j);
    const data = { train: { ...selectRows(train, rows), featureShape: [784] } };
    return new ClientNode({ clientId: `c${i}`, orgId: `c${i}`, transport: connect(`c${i}`), data, logger, turns });
  });
  try {
    await federation.waitForClients(clients, 60_000);
    const result = await runJob({ jobId: 'bench', spec, federation, logger, rng: seededRandom(1), initialWeights, evaluate: async () => ({ loss: 0, accuracy: 0 }) });
    // The first round warms up kernels and connections; measure the rest.
    const measured = result.rounds.slice(1);
    const mean = (f: (r: (typeof measured)[number]) => number): number => measured.reduce((a, r) => a + f(r), 0) / measured.length;
    const meanRoundMs = mean((r) => r.durationMs);
    const meanTotalTrainMs = mean((r) => r.totalTrainMs);
    const meanSlowestTrainMs = mean((r) => r.slowestTrainMs);
    return {
      clients,
      transport,
      rounds: measured.length,
      parameters: initialWeights.length,
      meanRoundMs,
      meanTotalTrainMs,
      meanSlowestTrainMs,
      overheadMs: meanRoundMs - meanTotalTrainMs,
      overheadPerClientMs: (meanRoundMs - meanTotalTrainMs) / clients,
      roundMinusSlowestMs: meanRoundMs - meanSlowestTrainMs,
    };
  } finally {
    for (const n of nodes) n.close();
    await close();
  }
}

export async function benchRounds(): Promise<object> {
  await initBackend();
  const runs: RoundBench[] = [];
  for (const clients of [10, 100]) {
    const memory = await measure(clients, 'memory');
    const socket = await measure(clients, 'socket');
    runs.push(memory, { ...socket, ...{ socketOverMemoryOverhead: socket.overheadMs / Math.max(memory.overheadMs, 1e-3) } });
  }
  return { benchmark: 'round-overhead', note: 'overheadMs = round time − sum of training times (clients share one process); baseline: in-memory transport', runs };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(`${JSON.stringify(await benchRounds(), null, 2)}\n`);
}
