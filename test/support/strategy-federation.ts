/**
 * A seeded in-process federation for the strategy tests: real data partitioned as `tessera simulate` does
 * (simulations/federation-setup.ts), real client nodes (real TensorFlow.js training) over the in-memory
 * transport, the coordinator's real feature assembly and round loop, central evaluation on the data set's test
 * split. Unlike runSimulation it lets a test give chosen clients extra mods (a poisoned client) and returns the
 * weights of every round.
 */
import { ClientNode } from '../../client/node.ts';
import type { ClientMod } from '../../client/mods/mod.ts';
import { TrainingTurns } from '../../client/training-turns.ts';
import { assembleJob } from '../../coordinator/features/assemble.ts';
import { Federation } from '../../coordinator/federation.ts';
import { runJob } from '../../coordinator/job-runner.ts';
import { Metrics } from '../../coordinator/metrics.ts';
import type { JobResult } from '../../coordinator/round-records.ts';
import { loadDataset } from '../../datasets/index.ts';
import { featureSize, type Examples } from '../../datasets/types.ts';
import { silentLogger } from '../../lib/logger.ts';
import { initBackend } from '../../ml/backend.ts';
import { buildModel } from '../../ml/model.ts';
import { evaluate } from '../../ml/train.ts';
import { getFlatWeights, setFlatWeights } from '../../ml/weights.ts';
import { deriveSeed, seededRandom } from '../../privacy/random.ts';
import { parseJobSpec, type JobSpecInput } from '../../protocol/job/spec.ts';
import { PROTOCOL_VERSION } from '../../protocol/version.ts';
import { partitionClients } from '../../simulations/federation-setup.ts';
import { createMemoryHub } from '../../simulations/memory-transport.ts';
import { SHARED_DATA_DIR } from '../paths.ts';

export interface StrategyRun {
  readonly dataset: 'mnist' | 'adult';
  readonly clients: number;
  readonly partition: string;
  readonly seed: number;
  readonly trainLimit: number;
  readonly testLimit: number;
  /** The job spec without name/data/sampling (those are set here: every client every round). */
  readonly job: Omit<JobSpecInput, 'name' | 'data' | 'sampling'>;
  /** Extra mods per client id (e.g. a poisoner). */
  readonly mods?: (clientId: string) => readonly ClientMod[];
}

const flat = (e: Examples): Examples => ({ ...e, featureShape: [featureSize(e)] });

export async function runStrategyFederation(r: StrategyRun): Promise<JobResult & { accuracies: number[] }> {
  await initBackend();
  const logger = silentLogger();
  const dataset = loadDataset(r.dataset, { dataDir: SHARED_DATA_DIR, seed: r.seed, trainLimit: r.trainLimit, testLimit: r.testLimit });
  const parts = partitionClients(dataset, { clients: r.clients, partition: r.partition, seed: r.seed });
  const spec = parseJobSpec({ ...r.job, name: 'strategy-test', seed: r.seed, data: { dataset: r.dataset }, sampling: { mode: 'fixed', clientsPerRound: r.clients } });
  const model = buildModel(spec.model, { seed: spec.seed });
  const initialWeights = getFlatWeights(model);
  const test = flat(dataset.test);
  const hub = createMemoryHub();
  const federation = new Federation(hub.server, logger);
  const turns = new TrainingTurns();
  const nodes = parts.map(
    (p) =>
      new ClientNode({
        clientId: p.clientId,
        orgId: p.orgId,
        transport: hub.connect({ protocolVersion: PROTOCOL_VERSION, clientId: p.clientId, orgId: p.orgId, examples: p.train.n, dataset: r.dataset }),
        data: { train: flat(p.train) },
        mods: r.mods?.(p.clientId) ?? [],
        logger,
        turns,
      }),
  );
  try {
    await federation.waitForClients(nodes.length, 30_000);
    const rng = seededRandom(deriveSeed(r.seed, 'sampling'));
    const jobId = `strategy-test-${String(r.seed)}`;
    const assembled = assembleJob({ jobId, spec, logger, rng, metrics: new Metrics() });
    const accuracies: number[] = [];
    const result = await runJob({
      jobId,
      spec,
      federation,
      logger,
      rng,
      initialWeights,
      waitForClientsMs: 30_000,
      ...assembled,
      evaluate: async (w) => {
        setFlatWeights(model, w);
        const e = evaluate(model, test);
        accuracies.push(e.accuracy);
        return e;
      },
    });
    return { ...result, accuracies };
  } finally {
    for (const n of nodes) n.close();
    model.dispose();
    await hub.server.close();
  }
}

/** A Byzantine client (Blanchard et al. 2017's threat model): it trains honestly, then sends −scale × its update. */
export function poisonMod(scale: number): ClientMod {
  return { name: 'test-poison', transformUpdate: (update) => ({ update: Float32Array.from(update, (x) => -scale * x) }) };
}
