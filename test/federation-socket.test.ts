/**
 * A real federation over socket.io on 127.0.0.1: a coordinator and three clients, two rounds of FedAvg on
 * real MNIST rows. The aggregate the coordinator applies must equal the example-weighted mean of the clients'
 * updates, recomputed here from the updates the clients sent.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runJob } from '../coordinator/job-runner.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import type { ClientNode } from '../client/node.ts';
import { initBackend } from '../ml/backend.ts';
import { buildModel } from '../ml/model.ts';
import { evaluate } from '../ml/train.ts';
import { getFlatWeights, setFlatWeights } from '../ml/weights.ts';
import { seededRandom } from '../privacy/random.ts';
import { coordinator, logger, logisticJob, mnistSlice, mnistTest, recordingMod, socketClient } from './support/federation-fixtures.ts';
import { TrainingTurns } from '../client/training-turns.ts';

let server: CoordinatorServer | undefined;
let nodes: ClientNode[] = [];

afterEach(async () => {
  for (const n of nodes) n.close();
  nodes = [];
  await server?.close();
  server = undefined;
});

describe('federated rounds over real sockets', () => {
  it('applies exactly the example-weighted mean of the clients’ updates (FedAvg)', async () => {
    await initBackend();
    server = await coordinator();
    const turns = new TrainingTurns();
    const sizes = [100, 250, 400];
    const sent = sizes.map(() => new Map<number, Float32Array>());
    let offset = 0;
    nodes = sizes.map((n, i) => {
      const node = socketClient(server as CoordinatorServer, turns, `c${i}`, { train: mnistSlice(offset, n) }, [recordingMod(sent[i] as Map<number, Float32Array>)]);
      offset += n;
      return node;
    });
    const spec = logisticJob({ rounds: 2 });
    const model = buildModel(spec.model, { seed: spec.seed });
    const initial = getFlatWeights(model);
    const globals: Float32Array[] = [initial];
    await server.federation.waitForClients(3, 10_000);
    const result = await runJob({
      jobId: 'fedavg-check',
      spec,
      federation: server.federation,
      logger,
      rng: seededRandom(1),
      initialWeights: initial,
      hooks: { commitRound: (_r, w) => globals.push(Float32Array.from(w)) },
    });
    expect(result.status).toBe('completed');
    expect(result.rounds.map((r) => r.participants)).toEqual([3, 3]);
    for (const round of [1, 2]) {
      const before = globals[round - 1] as Float32Array;
      const after = globals[round] as Float32Array;
      const total = sizes.reduce((a, b) => a + b, 0);
      let maxErr = 0;
      let maxDelta = 0;
      for (let j = 0; j < before.length; j++) {
        let mean = 0;
        sizes.forEach((n, i) => (mean += (n / total) * ((sent[i]?.get(round) as Float32Array)[j] ?? NaN)));
        const applied = (after[j] ?? 0) - (before[j] ?? 0);
        maxErr = Math.max(maxErr, Math.abs(applied - mean));
        maxDelta = Math.max(maxDelta, Math.abs(mean));
      }
      expect(maxDelta).toBeGreaterThan(1e-3); // the clients really trained
      expect(maxErr).toBeLessThan(1e-6); // float32 rounding of the stored weights only
    }
    // The trained model is better than chance on held-out MNIST.
    setFlatWeights(model, result.weights);
    expect(evaluate(model, mnistTest()).accuracy).toBeGreaterThan(0.6);
    model.dispose();
  });
});
