/**
 * Faults a real federation must survive, over real sockets on 127.0.0.1: a client that disconnects
 * mid-round, a client that never answers, a client sending malformed or unsolicited messages, a client on
 * another protocol version, too few clients, and a coordinator restart.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Socket } from 'socket.io-client';
import { runJob } from '../coordinator/job-runner.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import type { ClientNode } from '../client/node.ts';
import { initBackend } from '../ml/backend.ts';
import { buildModel } from '../ml/model.ts';
import { getFlatWeights } from '../ml/weights.ts';
import { seededRandom } from '../privacy/random.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { ServerMessage } from '../protocol/messages.ts';
import { consortium, coordinator, logger, logisticJob, mnistSlice, socketClient } from './support/federation-fixtures.ts';
import { rawClient as rawSocketClient } from './support/raw-socket-client.ts';
import { TrainingTurns } from '../client/training-turns.ts';

let server: CoordinatorServer | undefined;
let nodes: ClientNode[] = [];
let sockets: Socket[] = [];

afterEach(async () => {
  for (const n of nodes) n.close();
  for (const s of sockets) s.disconnect();
  nodes = [];
  sockets = [];
  await server?.close();
  server = undefined;
});

/**
 * A hand-driven client speaking the wire protocol directly, to misbehave on purpose. It proves its consortium
 * key honestly, so the misbehaviour under test comes after authentication.
 */
function rawClient(url: string, clientId: string, protocolVersion = PROTOCOL_VERSION): Socket {
  const c = rawSocketClient(url, clientId, { protocolVersion });
  void c.proofFor(consortium.identityOf(clientId)).then((signature) => c.sendProof(signature));
  sockets.push(c.socket);
  return c.socket;
}

function nextMessage(s: Socket, type: string): Promise<ServerMessage> {
  return new Promise((resolve) => {
    const on = (raw: unknown): void => {
      const m = ServerMessage.safeParse(raw);
      if (m.success && m.data.type === type) {
        s.off('tessera', on);
        resolve(m.data);
      }
    };
    s.on('tessera', on);
  });
}

function initialWeights(spec: ReturnType<typeof logisticJob>): Float32Array {
  const m = buildModel(spec.model, { seed: spec.seed });
  const w = getFlatWeights(m);
  m.dispose();
  return w;
}

describe('federation faults', () => {
  it('refuses a client on another protocol version with a clear, coded error', async () => {
    server = await coordinator();
    const s = rawClient(server.url, 'old', PROTOCOL_VERSION + 1);
    const err = await new Promise<Error & { data?: { code: string; message: string } }>((resolve) => s.on('connect_error', resolve));
    expect(err.data?.code).toBe('TESSERA_ERR_PROTOCOL_VERSION');
    expect(err.data?.message).toContain(`client speaks ${PROTOCOL_VERSION + 1}, coordinator speaks ${PROTOCOL_VERSION}`);
    expect(server.federation.clients()).toHaveLength(0);
  });

  it('refuses malformed and unsolicited messages with coded errors and keeps running', async () => {
    server = await coordinator();
    const s = rawClient(server.url, 'rogue');
    await nextMessage(s, 'welcome');
    const errors: ServerMessage[] = [];
    s.on('tessera', (raw: unknown) => {
      const m = ServerMessage.safeParse(raw);
      if (m.success && m.data.type === 'error') errors.push(m.data);
    });
    s.emit('tessera', { type: 'update', jobId: 'j', round: 'one' });
    s.emit('tessera', 'not even an object');
    s.emit('tessera', { type: 'update', jobId: 'j', round: 1, taskId: 'nope', update: { dtype: 'float32', shape: [1], data: new Uint8Array(4) }, examples: 1, trainLoss: 0, trainMillis: 1 });
    await expect.poll(() => errors.length, { timeout: 5000 }).toBe(3);
    expect(errors.map((e) => (e.type === 'error' ? e.code : ''))).toEqual(['TESSERA_ERR_MESSAGE_INVALID', 'TESSERA_ERR_MESSAGE_INVALID', 'TESSERA_ERR_UNEXPECTED_MESSAGE']);
    expect(server.federation.stats).toMatchObject({ malformedMessages: 2, unexpectedMessages: 1 });
    const health = await fetch(`${server.url}/v1/health`).then((r) => r.json() as Promise<{ ok: boolean; clients: number }>);
    expect(health).toMatchObject({ ok: true, clients: 1 });
  });

  it('finishes a round without a client that disconnects mid-round or never answers, by the deadline', async () => {
    await initBackend();
    server = await coordinator();
    const turns = new TrainingTurns();
    nodes = [socketClient(server, turns, 'good1', { train: mnistSlice(0, 100) }), socketClient(server, turns, 'good2', { train: mnistSlice(100, 100) })];
    const quitter = rawClient(server.url, 'quitter');
    const silent = rawClient(server.url, 'silent');
    quitter.on('tessera', (raw: { type?: string }) => raw.type === 'train' && quitter.disconnect());
    // `silent` receives its task and never answers.
    await server.federation.waitForClients(4, 10_000);
    const spec = logisticJob({ rounds: 1, roundDeadlineMs: 3000, minClients: 2 });
    const started = Date.now();
    const result = await runJob({ jobId: 'faults', spec, federation: server.federation, logger, rng: seededRandom(1), initialWeights: initialWeights(spec) });
    const elapsed = Date.now() - started;
    expect(result.status).toBe('completed');
    const [round] = result.rounds;
    expect(round?.participants).toBe(2);
    expect(round?.dropped.map((d) => d.clientId).sort()).toEqual(['quitter', 'silent']);
    expect(round?.dropped.every((d) => d.code === 'TESSERA_ERR_TIMEOUT')).toBe(true);
    expect(elapsed).toBeLessThan(3000 + 5000); // bounded by the deadline, not by the silent client
    expect(silent.connected).toBe(true);
  });

  it('fails the job with the reason when too few clients connect by the deadline (no retry: it would only wait again)', async () => {
    await initBackend();
    server = await coordinator();
    const turns = new TrainingTurns();
    nodes = [socketClient(server, turns, 'only', { train: mnistSlice(0, 50) })];
    await server.federation.waitForClients(1, 10_000);
    const spec = logisticJob({ rounds: 1, minClients: 2, maxRoundRetries: 1, roundDeadlineMs: 500 });
    const result = await runJob({ jobId: 'too-few', spec, federation: server.federation, logger, rng: seededRandom(1), initialWeights: initialWeights(spec), waitForClientsMs: 500 });
    expect(result.status).toBe('failed');
    expect(result.message).toMatch(/^Round 1 cannot start \(TESSERA_ERR_TOO_FEW_CLIENTS\): 1 connected, 1 eligible, 2 needed \(after waiting \d+ s\)\. Fix: start more client nodes/);
    expect(result.rounds).toHaveLength(0);
  });

  it('a client reconnects by itself when the coordinator restarts on the same port', async () => {
    server = await coordinator();
    const turns = new TrainingTurns();
    const port = server.port;
    nodes = [socketClient(server, turns, 'loyal', { train: mnistSlice(0, 10) })];
    await server.federation.waitForClients(1, 10_000);
    await server.close();
    server = await coordinator(port);
    await server.federation.waitForClients(1, 15_000);
    expect(server.federation.clients().map((c) => c.clientId)).toEqual(['loyal']);
  });
});
