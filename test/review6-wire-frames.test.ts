/**
 * Review of protocol 6's one-frame parser (protocol/socketio-parser.ts) as a malicious peer on a REAL socket on
 * 127.0.0.1, both ways:
 *
 * - against a real coordinator, from a client that proved its roster key and holds a task on a 1M-coordinate
 *   model (so its message limit is ~9 MiB): 300,000 attachments (under the parser's bound) in one frame are
 *   decoded and refused by the message schema with a coded error; a frame announcing 2,000,000 (8 MB, over the
 *   bound) is refused at its announcement — before the fix every attachment became a Buffer view first
 *   (~220 MB of heap and ~0.7 s of the event loop for this frame, ~25× any frame's size) and only then did
 *   socket.io-parser count them; invalid UTF-8, the version-4 split form, a packet nested 200,000 deep and a
 *   binary frame during the key handshake close the attacker's connection. After every attack an honest client
 *   node still trains a task: the coordinator keeps serving.
 * - against a real client transport, from a hostile server that writes malformed frames: socket.io-client
 *   refuses each as a parse error and reconnects; the client process does not crash.
 * - against a real client node, from a hostile coordinator that completes the key handshake (the node pins no
 *   coordinator key) and writes a train task whose job spec holds an unknown member nested 4,000 deep (JSON.parse
 *   builds it without recursing, socket.io-parser's reconstruction still copes): before the fix the spec cache's JSON.stringify (protocol/job/spec-on-wire.ts)
 *   overflowed the stack inside ServerMessage.safeParse — an uncaught exception that ends the client process. Now
 *   the spec is parsed in full, its hash check refuses it (TESSERA_ERR_MESSAGE_INVALID), and the node trains the
 *   next honest task.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server, type Socket } from 'socket.io';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientNode } from '../client/node.ts';
import { TrainingTurns } from '../client/training-turns.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import { keyPairFromSeed, signDetached, toBase64 } from '../governance/identity/ed25519.ts';
import { canonicalHash } from '../lib/canonical-json.ts';
import { initBackend } from '../ml/backend.ts';
import { AUTH_EVENT, coordinatorTranscript, fromBase64 } from '../protocol/auth.ts';
import type { ClientMessage } from '../protocol/messages.ts';
import { MAX_ATTACHMENTS, packFrame, socketIoParser } from '../protocol/socketio-parser.ts';
import { encodeFloat32 } from '../protocol/tensor.ts';
import { authenticatedTransport, consortium, coordinator, logger, logisticJob, mnistSlice, socketClient } from './support/federation-fixtures.ts';
import { waitUntilConnected } from './support/policy-node.ts';
import { provenRawClient, rawClient, type RawClient } from './support/raw-socket-client.ts';

const DIM = 784 * 10 + 10;
let server: CoordinatorServer;
let honest: ClientNode;
let n = 0;

beforeAll(async () => {
  await initBackend();
  server = await coordinator();
  honest = socketClient(server, new TrainingTurns(), 'review6-honest', { train: mnistSlice(0, 64) });
  await waitUntilConnected(server, ['review6-honest']);
});
afterAll(async () => {
  honest.close();
  await server.close();
});

/** A frame of `count` zero-length attachments under the packet text `text` (format: protocol/socketio-parser.ts). */
function frameOf(text: string, count: number): Buffer {
  const head = Buffer.byteLength(text);
  const frame = Buffer.alloc(4 + head + 4 + 4 * count);
  frame.writeUInt32LE(head, 0);
  frame.write(text, 4);
  frame.writeUInt32LE(count, 4 + head);
  return frame;
}

/** A proven attacker holding a train task on a 1M-coordinate model: its message limit is raised to ~9 MiB. */
async function attacker(): Promise<{ raw: RawClient; taskId: string; closed: Promise<string>; errors: Array<{ code?: string }> }> {
  const id = `review6-attacker-${++n}`;
  const raw = await provenRawClient(server.url, id, consortium.identityOf(id));
  await waitUntilConnected(server, [id]);
  const errors: Array<{ code?: string }> = [];
  raw.socket.on('tessera', (m: { type?: string; code?: string }) => {
    if (m.type === 'error') errors.push(m);
  });
  const closed = new Promise<string>((resolve) => raw.socket.on('disconnect', (reason) => resolve(reason)));
  const taskId = `big-${n}`;
  const big = { type: 'train' as const, jobId: 'review6', round: 1, taskId, job: logisticJob(), weights: encodeFloat32(new Float32Array(1_000_000)), deadlineMs: 60_000 };
  server.federation.request(id, big, 60_000).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 200));
  return { raw, taskId, closed, errors };
}

const send = (raw: RawClient, frame: Buffer | string): void => {
  raw.socket.io.engine.write(frame);
};

async function honestStillTrains(): Promise<void> {
  const reply = await server.federation.request('review6-honest', { type: 'train', jobId: 'review6', round: 1, taskId: `honest-${++n}`, job: logisticJob(), weights: encodeFloat32(new Float32Array(DIM)), deadlineMs: 20_000 }, 20_000);
  expect(reply.type).toBe('update');
}

describe('the decoder refuses an over-announced frame before unpacking it', () => {
  it('a frame announcing MAX_ATTACHMENTS + 1 with its whole length table is refused at the announcement', () => {
    const d = new socketIoParser.Decoder();
    const count = MAX_ATTACHMENTS + 1;
    expect(() => d.add(frameOf(`5${count}-["tessera",{}]`, count))).toThrow(`announces ${count} attachments, more than ${MAX_ATTACHMENTS}`);
  });
});

describe('a malicious client against a real coordinator', () => {
  it('300,000 attachments in one frame: decoded within the bound, refused by the schema with a code; the connection stays', async () => {
    const a = await attacker();
    const text = `5300000-["tessera",{"type":"update","jobId":"review6","round":1,"taskId":"${a.taskId}","update":{"_placeholder":true,"num":0}}]`;
    send(a.raw, frameOf(text, 300_000));
    for (let i = 0; i < 400 && a.errors.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(a.errors[0]?.code).toBe('TESSERA_ERR_MESSAGE_INVALID');
    expect(a.raw.socket.connected).toBe(true);
    await honestStillTrains();
    a.raw.close();
  }, 60_000);

  it('malformed frames close the attacker’s connection and the coordinator keeps serving', async () => {
    const invalidUtf8 = packFrame('51-["tessera",{"_placeholder":true,"num":0}]', [Buffer.from([1])]);
    invalidUtf8[6] = 0xff;
    const deep = 200_000;
    const attacks: Record<string, Array<Buffer | string>> = {
      'announces 2,000,000 attachments (8 MB)': [frameOf('52000000-["tessera",{}]', 2_000_000)],
      'invalid UTF-8 in the text': [invalidUtf8],
      'the version-4 split form': ['451-["tessera",{"_placeholder":true,"num":0}]', Buffer.from([1, 0, 0, 0, 1, 0, 0, 0, 7])],
      'a packet nested 200,000 deep': [frameOf(`51-["tessera",${'['.repeat(deep)}{"_placeholder":true,"num":0}${']'.repeat(deep)}]`, 1)],
    };
    for (const [name, frames] of Object.entries(attacks)) {
      const a = await attacker();
      const before = process.memoryUsage().heapUsed;
      for (const f of frames) send(a.raw, f);
      const reason = await Promise.race([a.closed, new Promise<string>((r) => setTimeout(() => r('still open'), 10_000))]);
      expect(reason, name).not.toBe('still open');
      // Refused without building the attachments: far less heap than the ~220 MB of 2,000,000 Buffer views.
      expect(process.memoryUsage().heapUsed - before, name).toBeLessThan(100 * 2 ** 20);
      await honestStillTrains();
    }
  }, 120_000);

  it('a binary frame during the key handshake closes the connection and admits nobody', async () => {
    const id = `review6-preauth-${++n}`;
    const raw = rawClient(server.url, id);
    await raw.challenge();
    const closed = new Promise<string>((resolve) => raw.socket.on('disconnect', (reason) => resolve(reason)));
    // The proof as a binary event (the signature as bytes): one valid frame of the protocol's own format.
    send(raw, packFrame('51-["tessera-auth",{"type":"proof","signature":{"_placeholder":true,"num":0}}]', [Buffer.alloc(64, 1)]));
    send(raw, frameOf('52000000-["tessera-auth",{}]', 2_000_000));
    const reason = await Promise.race([closed, new Promise<string>((r) => setTimeout(() => r('still open'), 10_000))]);
    expect(reason).not.toBe('still open');
    expect(server.federation.isConnected(id)).toBe(false);
    await honestStillTrains();
  }, 60_000);
});

describe('a hostile server against a real client transport', () => {
  it('malformed frames are parse errors: the client reconnects and its process does not crash', async () => {
    const http = createServer();
    const io = new Server(http, { transports: ['websocket'], parser: socketIoParser });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const frames: Array<Buffer | string> = [
      frameOf('52000000-["tessera",{}]', 2_000_000),
      frameOf(`51-["tessera",${'['.repeat(200_000)}{"_placeholder":true,"num":0}${']'.repeat(200_000)}]`, 1),
      '451-["tessera",{"_placeholder":true,"num":0}]',
      Buffer.from([255, 255, 255, 255]),
    ];
    let connections = 0;
    io.on('connection', (socket) => {
      const f = frames[connections++];
      if (f !== undefined) socket.conn.write(f);
    });
    const id = 'review6-victim';
    const transport = authenticatedTransport({ url }, id, 64);
    // The node as a `tessera client` runs it: a crash here would end the test worker.
    const node = new ClientNode({ clientId: id, orgId: `org-${id}`, transport, data: { train: mnistSlice(0, 64) }, logger, turns: new TrainingTurns() });
    for (let i = 0; i < 600 && connections <= frames.length; i++) await new Promise((r) => setTimeout(r, 25));
    expect(connections).toBeGreaterThan(frames.length);
    node.close();
    await io.close();
  }, 60_000);
});

/** A hostile coordinator: a bare socket.io server that proves its own (unpinned) key, then writes raw packets. */
async function hostileCoordinator(onAccepted: (socket: Socket) => void): Promise<{ url: string; close(): Promise<void> }> {
  const key = keyPairFromSeed(new Uint8Array(randomBytes(32)));
  const http = createServer();
  const io = new Server(http, { transports: ['websocket'], parser: socketIoParser, maxHttpBufferSize: 64 * 2 ** 20 });
  io.on('connection', (socket) => {
    const auth = socket.handshake.auth as { clientId: string; clientNonce: string };
    const fields = { socketId: socket.id, clientId: auth.clientId, clientNonce: fromBase64(auth.clientNonce), serverNonce: new Uint8Array(randomBytes(32)), coordinatorKey: key.publicKey };
    socket.once(AUTH_EVENT, () => {
      socket.emit(AUTH_EVENT, { type: 'accepted', clientId: auth.clientId, orgId: `org-${auth.clientId}` });
      onAccepted(socket);
    });
    socket.emit(AUTH_EVENT, { type: 'challenge', serverNonce: toBase64(fields.serverNonce), coordinatorKey: toBase64(key.publicKey), coordinatorSignature: toBase64(signDetached(coordinatorTranscript(fields), key.seed)) });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(http.address() as AddressInfo).port}`, close: () => io.close() };
}

describe('a hostile coordinator against a real client node', () => {
  it('a job spec nested 4,000 deep is declined, not a crash; the node trains the next task', async () => {
    const spec = logisticJob();
    const hash = canonicalHash(spec);
    const weights = encodeFloat32(new Float32Array(DIM));
    const replies: ClientMessage[] = [];
    const hostile = await hostileCoordinator((socket) => {
      socket.on('tessera', (m: ClientMessage) => replies.push(m));
      const task = (taskId: string, job: string): string => `2["tessera",{"type":"train","jobId":"review6","round":1,"taskId":"${taskId}","specHash":"${hash}","job":${job},"weights":{"dtype":"float32","shape":[${DIM}],"data":{"_placeholder":true,"num":0}},"deadlineMs":20000}]`;
      // 4,000 levels: shallow enough for socket.io-parser's recursive reconstruction of a binary packet (which
      // refuses ~8,000 as a parse error), deep enough for the spec cache's JSON.stringify to overflow.
      const deep = `{"deep":${'['.repeat(4_000)}${']'.repeat(4_000)},${JSON.stringify(spec).slice(1)}`;
      // A text packet cannot hold the weights' bytes: the deep task goes as one binary frame (text + weights).
      socket.conn.write(packFrame(`51-${task('deep', deep).slice(1)}`, [weights.data]));
      socket.conn.write(packFrame(`51-${task('honest', JSON.stringify(spec)).slice(1)}`, [weights.data]));
    });
    const id = 'review6-hostile-victim';
    const transport = authenticatedTransport({ url: hostile.url }, id, 64);
    const node = new ClientNode({ clientId: id, orgId: `org-${id}`, transport, data: { train: mnistSlice(0, 64) }, logger, turns: new TrainingTurns() });
    for (let i = 0; i < 800 && replies.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
    expect(replies.find((m) => m.taskId === 'deep')).toMatchObject({ type: 'decline', reason: { code: 'TESSERA_ERR_MESSAGE_INVALID' } });
    expect(replies.find((m) => m.taskId === 'honest')?.type).toBe('update');
    node.close();
    await hostile.close();
  }, 60_000);
});
