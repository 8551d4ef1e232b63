/**
 * Job specs on the wire by hash (protocol/messages.ts `TrainTaskOnWire`, coordinator/federation.ts, client/task-specs.ts).
 *
 * What holds: a connection is sent a spec once, with the first task that needs it, and later tasks name it by its
 * canonical hash; a new spec (a changed job, a round's adaptive clip norm) and a new connection get the spec again.
 * Attacks, as a deviating coordinator sending hand-made wire tasks to a real client node: a task naming a spec the
 * node was never sent, or carrying a spec under another spec's hash, is refused with a coded decline and trains
 * nothing; a refused substitute never replaces the spec the node holds under that hash.
 */
import { describe, expect, it } from 'vitest';
import { ClientNode } from './node.ts';
import { TaskSpecs } from './task-specs.ts';
import { TrainingTurns } from './training-turns.ts';
import { Federation } from '../coordinator/federation.ts';
import { canonicalHash } from '../lib/canonical-json.ts';
import type { ClientMessage, TrainTask, TrainTaskOnWire } from '../protocol/messages.ts';
import { encodeFloat32 } from '../protocol/tensor.ts';
import type { ClientTransport } from '../protocol/transport.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { createMemoryHub } from '../simulations/memory-transport.ts';
import { wireBytes } from '../simulations/traffic.ts';
import { logger, logisticJob, mnistSlice } from '../test/support/federation-fixtures.ts';

const DIM = 784 * 10 + 10;
const weights = encodeFloat32(new Float32Array(DIM));
const specA = logisticJob();
const specB = logisticJob({ training: { epochs: 1, batchSize: 32, learningRate: 0.05, optimizer: 'sgd' } });
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

function federation() {
  const hub = createMemoryHub();
  const fed = new Federation(hub.server, logger);
  const turns = new TrainingTurns();
  const data = { train: mnistSlice(0, 64) };
  /** A real client node; `received` holds every raw message its transport delivered, `sent` everything it sent. */
  const join = (id: string) => {
    const inner = hub.connect({ protocolVersion: PROTOCOL_VERSION, clientId: id, orgId: `org-${id}` });
    const received: Array<Record<string, unknown>> = [];
    const sent: ClientMessage[] = [];
    const transport: ClientTransport = {
      ...inner,
      send: (m) => {
        sent.push(m);
        inner.send(m);
      },
      onMessage: (h) => inner.onMessage((raw) => (received.push(raw as Record<string, unknown>), h(raw))),
    };
    const node = new ClientNode({ clientId: id, orgId: `org-${id}`, transport, data, logger, turns });
    return { node, received, sent, tasks: () => received.filter((m) => m.type === 'train') };
  };
  return { hub, fed, join };
}

const task = (job: TrainTask['job'], taskId: string, round = 1): TrainTask => ({ type: 'train', jobId: 'j', round, taskId, job, weights, deadlineMs: 20_000 });

describe('job specs by hash on the wire', () => {
  it('sends a connection each spec once, names it by hash after, and sends it again to a new connection', async () => {
    const { fed, join } = federation();
    const first = join('c1');
    await fed.waitForClients(1, 5_000);
    const replies = [await fed.request('c1', task(specA, 't1'), 20_000), await fed.request('c1', task(specA, 't2', 2), 20_000), await fed.request('c1', task(specB, 't3', 3), 20_000), await fed.request('c1', task(specA, 't4', 4), 20_000)];
    expect(replies.map((r) => r.type)).toEqual(['update', 'update', 'update', 'update']);
    const hashA = canonicalHash(specA);
    const hashB = canonicalHash(specB);
    expect(first.tasks().map((t) => [t.taskId, t.specHash, t.job !== undefined])).toEqual([
      ['t1', hashA, true],
      ['t2', hashA, false],
      ['t3', hashB, true],
      ['t4', hashA, false],
    ]);
    // The hash-only task is smaller by the spec: over a kilobyte of every task before.
    const [carrying, named] = first.tasks();
    expect(wireBytes(carrying) - wireBytes(named)).toBeGreaterThan(1_000);

    // A reconnection is a new connection: its first task carries the spec again.
    first.node.close();
    await settle();
    const again = join('c1');
    await fed.waitForClients(1, 5_000);
    expect((await fed.request('c1', task(specA, 't5', 5), 20_000)).type).toBe('update');
    expect(again.tasks().map((t) => [t.taskId, t.job !== undefined])).toEqual([['t5', true]]);
    again.node.close();
  }, 60_000);

  it('attack: a task naming a spec the node was never sent is declined and trains nothing', async () => {
    const { fed, join } = federation();
    const victim = join('victim');
    await fed.waitForClients(1, 5_000);
    const forged: TrainTaskOnWire = { type: 'train', jobId: 'j', round: 1, taskId: 'forged', specHash: canonicalHash(specA), weights, deadlineMs: 20_000 };
    expect(fed.send('victim', forged)).toBe(true);
    await settle();
    expect(victim.sent).toHaveLength(1);
    expect(victim.sent[0]).toMatchObject({ type: 'decline', taskId: 'forged', reason: { code: 'TESSERA_ERR_UNEXPECTED_MESSAGE' } });
    victim.node.close();
  }, 30_000);

  it('attack: a spec sent under another spec’s hash is declined and never replaces the spec held under that hash', async () => {
    const { fed, join } = federation();
    const victim = join('victim');
    await fed.waitForClients(1, 5_000);
    expect((await fed.request('victim', task(specA, 'honest'), 20_000)).type).toBe('update');
    const hashA = canonicalHash(specA);
    const substitute: TrainTaskOnWire = { type: 'train', jobId: 'j', round: 2, taskId: 'substitute', specHash: hashA, job: specB, weights, deadlineMs: 20_000 };
    expect(fed.send('victim', substitute)).toBe(true);
    await settle();
    const decline = victim.sent.find((m) => m.taskId === 'substitute');
    expect(decline).toMatchObject({ type: 'decline', reason: { code: 'TESSERA_ERR_MESSAGE_INVALID' } });
    expect(decline?.type === 'decline' ? decline.reason.message : '').toContain(canonicalHash(specB).slice(0, 12));
    victim.node.close();
  }, 30_000);
});

describe('TaskSpecs', () => {
  const wire = (o: Partial<TrainTaskOnWire> = {}): TrainTaskOnWire => ({ type: 'train', jobId: 'j', round: 1, taskId: 't', specHash: canonicalHash(specA), weights, deadlineMs: 1_000, ...o });

  it('keeps what it was sent, checked against its hash, and refuses a substitute', () => {
    const specs = new TaskSpecs();
    expect(specs.resolve(wire(), undefined)).toMatchObject({ ok: false, code: 'TESSERA_ERR_UNEXPECTED_MESSAGE' });
    const sent = structuredClone(specA);
    const first = specs.resolve(wire({ job: sent }), sent);
    expect(first.ok && first.task.job).toEqual(specA);
    expect(specs.resolve(wire({ job: specB }), specB)).toMatchObject({ ok: false, code: 'TESSERA_ERR_MESSAGE_INVALID' });
    const later = specs.resolve(wire(), undefined);
    expect(later.ok && later.task.job).toEqual(specA);
  });

  it('hands every task of a spec the same frozen object: changing one task’s spec throws', () => {
    const specs = new TaskSpecs();
    const sent = structuredClone(specA);
    specs.resolve(wire({ job: sent }), sent);
    const later = specs.resolve(wire(), undefined);
    if (!later.ok) throw new Error(later.message);
    expect(() => {
      (later.task.job.training as { learningRate: number }).learningRate = 10;
    }).toThrow(TypeError);
    expect(later.task.job.training.learningRate).toBe(specA.training.learningRate);
  });
});
