/**
 * The simulation's byte count (wireBytes, arithmetic) equals what socket.io's encoder with Tessera's packing
 * produces (encodedBytes, the parser itself), for every kind of message the protocol carries and for the shapes
 * the arithmetic has to get right: no binary, one binary, many binaries in arrays, binaries deep in objects,
 * non-ASCII text, undefined fields, holes, and the values it leaves to the parser (Dates, toJSON).
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeFloat32 } from '../protocol/tensor.ts';
import { createMemoryHub } from './memory-transport.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { TrafficMeter, encodedBytes, wireBytes } from './traffic.ts';

const bytes = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

const messages: Array<[string, unknown]> = [
  ['welcome (no binary)', { type: 'welcome', protocolVersion: 5, clientId: 'client-1' }],
  ['train task', { type: 'train', jobId: 'j', round: 3, taskId: 't', job: { name: 'n', model: { kind: 'logistic', inputs: 105 }, l: [1, 2.5, -3e-7, null] }, weights: encodeFloat32(new Float32Array(212).fill(0.25)), deadlineMs: 1000 }],
  ['update with extensions', { type: 'update', jobId: 'j', round: 1, taskId: 't', update: encodeFloat32(new Float32Array([1, 2, 3])), examples: 10, trainLoss: 0.123456789, extensions: { dataContract: [1, 0, 5.387052, 1628] } }],
  [
    'secagg keys (many binaries in an array)',
    { type: 'secagg', jobId: 'j', round: 1, taskId: 't', message: { type: 'secagg.keys', roundId: 'r', keys: Array.from({ length: 7 }, (_, i) => ({ index: i, cPk: bytes(32), sPk: bytes(32), signature: bytes(64), id: bytes(0) })) } },
  ],
  ['binary first, then plain fields', { data: bytes(5), after: 'x', nested: { deep: [{ b: new Float32Array(3) }, 'y'] } }],
  ['ArrayBuffer and Buffer', { a: new ArrayBuffer(9), b: Buffer.from('héllo'), c: new DataView(new ArrayBuffer(4)) }],
  ['non-ASCII text and escapes', { type: 'error', code: 'E', message: 'naïve — “quoted” \u2028 \n\t\\ 😀', taskId: undefined }],
  ['undefined, holes and falsy values', { u: undefined, z: 0, e: '', f: false, n: null, holes: [1, , 3], bin: [undefined, bytes(2)] }], // eslint-disable-line no-sparse-arrays
  ['a Date (left to the parser)', { at: new Date(0), bin: bytes(3) }],
  ['a toJSON object (left to the parser)', { v: { toJSON: () => ({ hidden: true }) }, bin: bytes(1) }],
  ['integer-like keys', { 2: 'b', 1: bytes(4), a: 'c' }],
];

describe('wireBytes', () => {
  it.each(messages)('equals the encoder for %s', (_name, message) => {
    expect(wireBytes(message)).toBe(encodedBytes(message));
  });

  it('does not change the message it measures', () => {
    const message = messages[3]?.[1];
    const before = structuredClone(message);
    wireBytes(message);
    expect(message).toEqual(before);
  });
});

describe('TrafficMeter', () => {
  it('counts both directions of a real in-memory connection as the encoder sizes them', async () => {
    const hub = createMemoryHub();
    const meter = new TrafficMeter();
    const seen: unknown[] = [];
    hub.server.onConnection((c) => {
      c.onMessage((m) => seen.push(m));
      c.send({ type: 'welcome', protocolVersion: PROTOCOL_VERSION, clientId: 'c1' });
    });
    const client = meter.wrap(hub.connect({ clientId: 'c1', orgId: 'o1', protocolVersion: PROTOCOL_VERSION }));
    const received = new Promise<unknown>((resolve) => client.onMessage(resolve));
    const welcome = await received;
    const update = { type: 'update', jobId: 'j', round: 1, taskId: 't', update: encodeFloat32(new Float32Array([1, 2])) } as const;
    client.send(update);
    await new Promise((r) => setImmediate(r));
    expect(seen).toHaveLength(1);
    expect(meter.sinceLast()).toEqual({ toClients: encodedBytes(welcome), fromClients: encodedBytes(update) });
    expect(meter.sinceLast()).toEqual({ toClients: 0, fromClients: 0 });
    client.close();
    await hub.server.close();
  });
});
