/**
 * ATTACK (from the protocol-6 review): a coordinator that sends a new model architecture with every task cannot make
 * a client node hold models without end — the node keeps the four it used last (disposing the others) and goes on
 * answering. Without the bound the count below grows with every task.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { ClientNode } from './node.ts';
import { TrainingTurns } from './training-turns.ts';
import { Federation } from '../coordinator/federation.ts';
import type { EvaluateTask } from '../protocol/messages.ts';
import { encodeFloat32 } from '../protocol/tensor.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { createMemoryHub } from '../simulations/memory-transport.ts';
import { logger, logisticJob, mnistSlice } from '../test/support/federation-fixtures.ts';

describe('a client node’s models', () => {
  it('ATTACK: ten architectures in ten tasks leave at most four models held, all answered', async () => {
    const hub = createMemoryHub();
    const fed = new Federation(hub.server, logger);
    const node = new ClientNode({ clientId: 'c1', orgId: 'org-c1', transport: hub.connect({ protocolVersion: PROTOCOL_VERSION, clientId: 'c1', orgId: 'org-c1' }), data: { train: mnistSlice(0, 32) }, logger, turns: new TrainingTurns() });
    await fed.waitForClients(1, 5_000);
    const tensorsBefore = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) {
      const job = logisticJob({ model: { kind: 'logistic', inputs: 784, classes: 10, l2: i / 100 } });
      const task: EvaluateTask = { type: 'evaluate', jobId: 'j', round: i, taskId: `t${i}`, job, weights: encodeFloat32(new Float32Array(7850)), deadlineMs: 20_000 };
      expect((await fed.request('c1', task, 20_000)).type).toBe('evaluate-result');
      expect(node.heldModels).toBeLessThanOrEqual(4);
    }
    expect(node.heldModels).toBe(4);
    // The dropped models were disposed: the tensors held are four models' worth (two variables each).
    expect(tf.memory().numTensors - tensorsBefore).toBeLessThanOrEqual(4 * 2);
    node.close();
    await hub.server.close();
  }, 60_000);
});
