/**
 * Review of protocol 6 (job specs by hash): a deviating coordinator — a REAL coordinator server on 127.0.0.1
 * whose federation the test drives by hand — against a REAL client node over a real socket.
 *
 * 1. A carried spec that has no RFC 8785 form (a lone UTF-16 surrogate in a string or member name, which
 *    JSON carries as `\ud800` and zod accepts as a string, or an unknown member zod strips), or that holds
 *    binary (socket.io carries a Buffer anywhere in a message; zod passes it through in `model.topology`):
 *    before the fix the node's hash check, or its freezing of the spec, threw out of the socket's message
 *    handler — an uncaught exception, which ends a `tessera client` process. Now it is declined with
 *    TESSERA_ERR_MESSAGE_INVALID and the node keeps serving.
 * 2. Eviction: seventeen distinct specs push the first out of the node's bound; a hash-only task naming it is
 *    declined with TESSERA_ERR_UNEXPECTED_MESSAGE (never answered with another spec), and the honest
 *    coordinator's bound (8) stays below the node's (16), so an honest federation never trips it.
 * 3. Reconnection: a hash-only task on a NEW connection naming a spec the node was sent on the previous one is
 *    answered under exactly that spec (the hash names its content; the node's checks run on every task), so
 *    holding specs across connections is no confusion.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_POLICY } from '../client/policy/schema.ts';
import { ClientNode } from '../client/node.ts';
import { TaskSpecs } from '../client/task-specs.ts';
import { TrainingTurns } from '../client/training-turns.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import { canonicalHash } from '../lib/canonical-json.ts';
import { initBackend } from '../ml/backend.ts';
import type { JobSpec } from '../protocol/job/spec.ts';
import type { ClientMessage, ServerMessage, TrainTaskOnWire } from '../protocol/messages.ts';
import { encodeFloat32 } from '../protocol/tensor.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { createMemoryHub } from '../simulations/memory-transport.ts';
import { pino } from 'pino';
import { authenticatedTransport, coordinator, logger, logisticJob, mnistSlice } from './support/federation-fixtures.ts';
import { startVictim } from './support/policy-harness.ts';
import { waitUntilConnected } from './support/policy-node.ts';

const DIM = 784 * 10 + 10;
const weights = encodeFloat32(new Float32Array(DIM));
const spec = logisticJob();
let server: CoordinatorServer;
let n = 0;

beforeAll(async () => {
  await initBackend();
  server = await coordinator();
});
afterAll(async () => {
  await server.close();
});

/** A real client node over a real socket, keeping a copy of everything it sends. */
async function victim(): Promise<{ id: string; node: ClientNode; sent: ClientMessage[] }> {
  const id = `review6-${++n}`;
  const inner = authenticatedTransport(server, id, 64);
  const sent: ClientMessage[] = [];
  const transport = { ...inner, send: (m: ClientMessage) => (sent.push(m), inner.send(m)) };
  const node = new ClientNode({ clientId: id, orgId: `org-${id}`, transport, data: { train: mnistSlice(0, 64) }, logger, turns: new TrainingTurns() });
  await waitUntilConnected(server, [id]);
  return { id, node, sent };
}

const wireTask = (taskId: string, specHash: string, job?: unknown): ServerMessage =>
  ({ type: 'train', jobId: 'review6', round: 1, taskId, specHash, ...(job === undefined ? {} : { job }), weights, deadlineMs: 20_000 }) as TrainTaskOnWire;

/** Waits until the victim answered `taskId` (or fails after 10 s). */
async function answer(sent: ClientMessage[], taskId: string): Promise<ClientMessage> {
  for (let i = 0; i < 400; i++) {
    const m = sent.find((s) => s.taskId === taskId);
    if (m) return m;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no answer to ${taskId}`);
}

describe('protocol 6 job specs: a deviating coordinator against a real client node', () => {
  it('a carried spec with no RFC 8785 form (a lone surrogate) is declined, and the node keeps serving', async () => {
    const v = await victim();
    const hash = canonicalHash(spec);
    // An unknown member (zod strips it) and a lone surrogate in a member name and in a string zod accepts.
    const variants: unknown[] = [{ ...spec, note: '\ud800' }, { ...spec, '\udfff': 1 }, { ...spec, name: 'job \ud83d' }];
    for (const [i, job] of variants.entries()) {
      expect(server.federation.send(v.id, wireTask(`lone-${i}`, hash, job))).toBe(true);
      expect(await answer(v.sent, `lone-${i}`)).toMatchObject({ type: 'decline', reason: { code: 'TESSERA_ERR_MESSAGE_INVALID' } });
    }
    // Still connected, nothing held under the hash, and an honest task trains.
    expect(server.federation.isConnected(v.id)).toBe(true);
    expect(server.federation.send(v.id, wireTask('named', hash))).toBe(true);
    expect(await answer(v.sent, 'named')).toMatchObject({ type: 'decline', reason: { code: 'TESSERA_ERR_UNEXPECTED_MESSAGE' } });
    const reply = await server.federation.request(v.id, { type: 'train', jobId: 'review6', round: 2, taskId: 'honest', job: spec, weights, deadlineMs: 20_000 }, 20_000);
    expect(reply.type).toBe('update');
    v.node.close();
  }, 60_000);

  it('a carried spec holding binary (socket.io carries a Buffer anywhere; zod passes it in model.topology) is declined, not a crash', async () => {
    const v = await victim();
    const topology = { class_name: 'Sequential', config: { layers: [{ class_name: 'Dense', config: { units: 10, activation: 'softmax', batch_input_shape: [null, 784] } }] } };
    const honestLayers = logisticJob({ model: { kind: 'layers', topology, classes: 10 } });
    // The hash names the spec exactly as sent (RFC 8785 hashes the Buffer as its toJSON form), so the hash check
    // passes and only the binary value is left: freezing it threw a TypeError out of the message handler.
    const withBinary = { ...honestLayers, model: { ...honestLayers.model, topology: { ...topology, extra: Buffer.from([1, 2, 3]) } } };
    expect(server.federation.send(v.id, wireTask('binary', canonicalHash(withBinary), withBinary))).toBe(true);
    expect(await answer(v.sent, 'binary')).toMatchObject({ type: 'decline', reason: { code: 'TESSERA_ERR_MESSAGE_INVALID' } });
    // The same spec as JSON data trains: the refusal is the binary value's, not the layers model's.
    const reply = await server.federation.request(v.id, { type: 'train', jobId: 'review6', round: 2, taskId: 'layers', job: honestLayers, weights, deadlineMs: 20_000 }, 20_000);
    expect(reply.type).toBe('update');
    v.node.close();
  }, 60_000);

  it('a held spec pushed out by seventeen others is declined by hash, never answered with another spec', async () => {
    const v = await victim();
    const specs = Array.from({ length: 17 }, (_, i) => logisticJob({ name: `spec-${i}` }));
    // Each task delivers (and trains under) a new spec; the node keeps the newest sixteen.
    for (const [i, s] of specs.entries()) {
      expect(server.federation.send(v.id, wireTask(`carry-${i}`, canonicalHash(s), s))).toBe(true);
    }
    for (let i = 0; i < specs.length; i++) await answer(v.sent, `carry-${i}`);
    expect(server.federation.send(v.id, wireTask('evicted', canonicalHash(specs[0] as JobSpec)))).toBe(true);
    expect(await answer(v.sent, 'evicted')).toMatchObject({ type: 'decline', reason: { code: 'TESSERA_ERR_UNEXPECTED_MESSAGE' } });
    expect(server.federation.send(v.id, wireTask('kept', canonicalHash(specs[16] as JobSpec)))).toBe(true);
    expect((await answer(v.sent, 'kept')).type).toBe('update');
    v.node.close();
  }, 120_000);

  it('a hash-only task, on the same or a NEW connection, runs the node’s policy again: naming a spec is no way around it', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'tessera-review6-'));
    const v = startVictim(server, { id: `review6-policy-${++n}`, policy: DEFAULT_CLIENT_POLICY, stateDir, data: { train: mnistSlice(0, 64) } });
    await waitUntilConnected(server, [v.id]);
    // The default policy refuses a job without secure aggregation or DP; the spec is carried once, then named.
    const hash = canonicalHash(spec);
    expect(server.federation.send(v.id, wireTask('carried', hash, spec))).toBe(true);
    const first = await answer(v.sent, 'carried');
    expect(first.type).toBe('decline');
    const code = first.type === 'decline' ? first.reason.code : '';
    expect(code).toMatch(/^TESSERA_ERR_POLICY_/);
    expect(server.federation.send(v.id, wireTask('named', hash))).toBe(true);
    expect(await answer(v.sent, 'named')).toMatchObject({ type: 'decline', reason: { code } });
    // A new connection: the node still holds the spec it checked against this hash, and checks its policy again.
    const before = server.federation.connectionOf(v.id);
    server.federation.disconnect(v.id, 'review6: a deviating coordinator drops the connection');
    for (let i = 0; i < 400 && (server.federation.connectionOf(v.id) === undefined || server.federation.connectionOf(v.id) === before); i++) await new Promise((r) => setTimeout(r, 25));
    expect(server.federation.send(v.id, wireTask('named-after-reconnect', hash))).toBe(true);
    expect(await answer(v.sent, 'named-after-reconnect')).toMatchObject({ type: 'decline', reason: { code } });
    expect(v.sent.filter((m) => m.type === 'update' || m.type === 'secagg')).toHaveLength(0);
    v.close();
    rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);

  it('an honest federation re-sends a spec the node may have dropped: its bound (8) stays below the node’s (16)', async () => {
    const v = await victim();
    const specs = Array.from({ length: 17 }, (_, i) => logisticJob({ name: `honest-${i}` }));
    const request = (s: JobSpec, taskId: string) => server.federation.request(v.id, { type: 'train', jobId: 'review6', round: 1, taskId, job: s, weights, deadlineMs: 20_000 }, 20_000);
    for (const [i, s] of specs.entries()) expect((await request(s, `honest-${i}`)).type).toBe('update');
    // The oldest spec again: the node dropped it, so the federation must carry it again, not name it.
    expect((await request(specs[0] as JobSpec, 'honest-again')).type).toBe('update');
    v.node.close();
  }, 120_000);
});

describe('TaskSpecs against values without a canonical form', () => {
  it('declines a carried spec holding a number JSON text can make but RFC 8785 refuses (1e400 → Infinity)', () => {
    const specs = new TaskSpecs();
    const raw: unknown = JSON.parse(`{"big":1e400,${JSON.stringify(spec).slice(1)}`);
    const task: TrainTaskOnWire = { type: 'train', jobId: 'j', round: 1, taskId: 't', specHash: canonicalHash(spec), job: spec, weights, deadlineMs: 1_000 };
    expect(specs.resolve(task, raw)).toMatchObject({ ok: false, code: 'TESSERA_ERR_MESSAGE_INVALID' });
  });
});

describe('the client node’s message handler', () => {
  it('drops a message whose reading throws, with a coded log line, instead of throwing into the transport', () => {
    const hub = createMemoryHub();
    const inner = hub.connect({ protocolVersion: PROTOCOL_VERSION, clientId: 'guarded', orgId: 'org-guarded' });
    let deliver: ((raw: unknown) => void) | undefined;
    const lines: string[] = [];
    const log = pino({ level: 'error' }, { write: (line: string) => void lines.push(line) });
    const node = new ClientNode({ clientId: 'guarded', orgId: 'org-guarded', transport: { ...inner, onMessage: (h) => (deliver = h) }, data: { train: mnistSlice(0, 8) }, logger: log, turns: new TrainingTurns() });
    // Whatever throws while a message is read (here a getter; in the review: a lone surrogate, a Buffer, depth).
    const hostile = Object.defineProperty({}, 'type', { enumerable: true, get: () => { throw new RangeError('boom'); } });
    expect(() => deliver?.(hostile)).not.toThrow();
    expect(lines.map((l) => JSON.parse(l) as { code?: string; msg?: string })).toEqual([expect.objectContaining({ code: 'TESSERA_ERR_MESSAGE_INVALID', msg: 'dropped a message this node could not read' })]);
    node.close();
  });
});
