/**
 * The federation keeps serving whatever one message or one task does (follow-ups of the protocol-6 review):
 * - ATTACK: a client's message that makes the coordinator's handling code throw (here: a secure-aggregation stage
 *   handler that throws on it) is dropped with a coded log line; without the guard the throw escapes the
 *   transport's callback and ends the coordinator process (in this test: the vitest worker).
 * - A task whose job spec cannot be hashed (no RFC 8785 form: NaN) fails its request at once, before anything is
 *   sent or a deadline timer is left behind.
 */
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logger.ts';
import { encodeFloat32 } from '../protocol/tensor.ts';
import type { ClientMessage, TrainTask } from '../protocol/messages.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { createMemoryHub } from '../simulations/memory-transport.ts';
import { logisticJob } from '../test/support/federation-fixtures.ts';
import { Federation } from './federation.ts';

function federation() {
  const hub = createMemoryHub();
  const fed = new Federation(hub.server, silentLogger());
  const client = hub.connect({ protocolVersion: PROTOCOL_VERSION, clientId: 'c1', orgId: 'org-c1' });
  const received: unknown[] = [];
  client.onMessage((m) => received.push(m));
  return { hub, fed, client, received };
}

const task = (job: TrainTask['job'], taskId: string): TrainTask => ({ type: 'train', jobId: 'j', round: 1, taskId, job, weights: encodeFloat32(new Float32Array(7850)), deadlineMs: 60_000 });

describe('Federation robustness', () => {
  it('ATTACK: a message whose handling throws is dropped and the coordinator keeps serving', async () => {
    const { hub, fed, client } = federation();
    await fed.waitForClients(1, 1_000);
    let handled = 0;
    fed.subscribeSecAgg('j', 1, () => {
      handled++;
      throw new Error('a stage handler tripped over this message');
    });
    const stage: ClientMessage = { type: 'secagg', jobId: 'j', round: 1, taskId: 'stage-1', message: { type: 'secagg.consistency-signature', roundId: 'r', index: 1, signature: new Uint8Array(64) } };
    client.send(stage);
    await expect.poll(() => fed.stats.malformedMessages).toBe(1);
    expect(handled).toBe(1);
    // Still serving: a request is answered.
    const reply = fed.request('c1', task(logisticJob(), 't-after'), 5_000);
    client.send({ type: 'decline', jobId: 'j', round: 1, taskId: 't-after', reason: { code: 'TESSERA_ERR_CONSENT', message: 'no' } });
    await expect(reply).resolves.toMatchObject({ type: 'decline', taskId: 't-after' });
    client.close();
    await hub.server.close();
  });

  it('a task whose spec has no canonical form fails at once and sends nothing', async () => {
    const { hub, fed, client, received } = federation();
    await fed.waitForClients(1, 1_000);
    await expect.poll(() => received.length).toBe(1); // the welcome
    const bad = { ...logisticJob(), training: { ...logisticJob().training, learningRate: Number.NaN } };
    const started = Date.now();
    await expect(fed.request('c1', task(bad, 't-nan'), 60_000)).rejects.toMatchObject({ code: 'TESSERA_ERR_INVALID_ARGUMENT' });
    expect(Date.now() - started).toBeLessThan(5_000);
    await new Promise((r) => setImmediate(r));
    expect(received).toHaveLength(1);
    client.close();
    await hub.server.close();
  });
});
