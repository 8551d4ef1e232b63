/**
 * Attack tests for client authentication (issue 12, item 1), over real sockets on 127.0.0.1 — plain and over TLS
 * with certificates from `tessera certs dev` (governance/identity/dev-certificates.ts): an impostor without
 * the key, an eviction attempt during a job, a replayed proof, a client forcibly disconnected by the server, an
 * organisation claim the roster contradicts, a coordinator proving the wrong key, and a peer that never proves.
 * Each attack is played by a hand-driven socket (test/support/raw-socket-client.ts) that speaks the wire protocol.
 */
import { readFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ClientNode } from '../client/node.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import { runJob } from '../coordinator/job-runner.ts';
import { keyPairFromSeed } from '../governance/identity/ed25519.ts';
import { initBackend } from '../ml/backend.ts';
import { buildModel } from '../ml/model.ts';
import { getFlatWeights } from '../ml/weights.ts';
import { seededRandom } from '../privacy/random.ts';
import { makeDevCertificates } from '../governance/identity/dev-certificates.ts';
import { authenticatedTransport, clientTls, consortium, coordinator, logger, logisticJob, mnistSlice, socketClient, type TestTls } from './support/federation-fixtures.ts';
import { provenRawClient, rawClient, type RawClient } from './support/raw-socket-client.ts';
import { TrainingTurns } from '../client/training-turns.ts';

/** The nodes of this file share the process's one TensorFlow.js backend. */
const turns = new TrainingTurns();

let server: CoordinatorServer | undefined;
let nodes: ClientNode[] = [];
let raws: RawClient[] = [];
const cleanups: Array<() => void> = [];

afterEach(async () => {
  for (const n of nodes) n.close();
  for (const r of raws) r.close();
  for (const c of cleanups.splice(0)) c();
  nodes = [];
  raws = [];
  await server?.close();
  server = undefined;
});

let tls: TestTls | undefined;

beforeAll(() => {
  const made = makeDevCertificates({ outDir: join(mkdtempSync(join(tmpdir(), 'tessera-auth-tls-')), 'certs'), hosts: ['127.0.0.1'] });
  tls = { cert: readFileSync(made.serverCert, 'utf8'), key: readFileSync(made.serverKey, 'utf8'), ca: readFileSync(made.caCert, 'utf8') };
});

const ca = (url: string): { ca?: string } => {
  const t = clientTls(url);
  return t ? { ca: t.ca } : {};
};

function raw(url: string, clientId: string, o: Parameters<typeof rawClient>[2] = {}): RawClient {
  const r = rawClient(url, clientId, { ...ca(url), ...o });
  raws.push(r);
  return r;
}

const strangerKey = keyPairFromSeed(new Uint8Array(32).fill(7));

function initialWeights(spec: ReturnType<typeof logisticJob>): Float32Array {
  const m = buildModel(spec.model, { seed: spec.seed });
  const w = getFlatWeights(m);
  m.dispose();
  return w;
}

describe.each([{ transport: 'plain', useTls: false }, { transport: 'TLS', useTls: true }])('client authentication over $transport sockets', ({ useTls }) => {
  const start = (o: { handshakeTimeoutMs?: number } = {}): Promise<CoordinatorServer> => coordinator(0, { ...o, ...(useTls && tls ? { tls } : {}) });

  it('refuses an impostor who claims a rostered client id without its key; it never joins or receives a task', async () => {
    server = await start();
    consortium.identityOf('cleveland-client', 'cleveland');
    const impostor = raw(server.url, 'cleveland-client', { orgId: 'cleveland' });
    const tasks: unknown[] = [];
    impostor.socket.on('tessera', (m: unknown) => tasks.push(m));
    impostor.sendProof(await impostor.proofFor(strangerKey));
    const verdict = await impostor.verdict();
    expect(verdict).toMatchObject({ type: 'refused', code: 'TESSERA_ERR_AUTH_FAILED' });
    expect(verdict.type === 'refused' ? verdict.message : '').toMatch(/does not verify against its roster key/);
    await expect.poll(() => impostor.socket.connected).toBe(false);
    expect(server.federation.clients()).toHaveLength(0);
    expect(tasks).toHaveLength(0);
    // Not in the roster at all: refused the same way.
    const nobody = raw(server.url, 'nobody');
    nobody.sendProof(await nobody.proofFor(strangerKey));
    expect(await nobody.verdict()).toMatchObject({ type: 'refused', code: 'TESSERA_ERR_AUTH_FAILED' });
  });

  it('an eviction attempt during a job fails: the attacker gets DUPLICATE_CLIENT, the real client keeps its place and finishes', async () => {
    await initBackend();
    server = await start();
    nodes = [socketClient(server, turns, 'hospital-a', { train: mnistSlice(0, 60) }), socketClient(server, turns, 'hospital-b', { train: mnistSlice(60, 60) })];
    await server.federation.waitForClients(2, 10_000);
    const spec = logisticJob({ rounds: 3, minClients: 2, roundDeadlineMs: 20_000 });
    const verdicts: string[] = [];
    const url = server.url;
    const attack = async (): Promise<void> => {
      // No proof at all, a proof with the wrong key, and a malformed proof: none may displace hospital-a.
      const silent = raw(url, 'hospital-a', { orgId: 'org-hospital-a' });
      const wrong = raw(url, 'hospital-a', { orgId: 'org-hospital-a' });
      wrong.sendProof(await wrong.proofFor(strangerKey));
      const junk = raw(url, 'hospital-a', { orgId: 'org-hospital-a' });
      await junk.challenge();
      junk.sendProof('AAAA');
      silent.socket.emit('tessera', { type: 'decline', jobId: 'x', round: 1, taskId: 't', reason: { code: 'X', message: 'evil' } });
      for (const r of [silent, wrong, junk]) {
        const v = await r.verdict();
        verdicts.push(v.type === 'refused' ? v.code : v.type);
      }
    };
    const attacks: Array<Promise<void>> = [attack()];
    const result = await runJob({
      jobId: 'evict',
      spec,
      federation: server.federation,
      logger,
      rng: seededRandom(3),
      initialWeights: initialWeights(spec),
      onRound: () => attacks.push(attack()),
    });
    await Promise.all(attacks);
    expect(result.status).toBe('completed');
    expect(result.rounds).toHaveLength(3);
    for (const r of result.rounds) expect(r.participants).toBe(2);
    // The silent one sent a job message before proving: closed with AUTH_REQUIRED (or DUPLICATE at its deadline).
    expect(verdicts.length).toBe(3 * 4);
    expect(verdicts.every((v) => v === 'TESSERA_ERR_DUPLICATE_CLIENT' || v === 'TESSERA_ERR_AUTH_REQUIRED')).toBe(true);
    expect(verdicts.filter((v) => v === 'TESSERA_ERR_DUPLICATE_CLIENT').length).toBeGreaterThanOrEqual(2 * 4);
    expect(server.federation.clients().map((c) => c.clientId).sort()).toEqual(['hospital-a', 'hospital-b']);
  });

  it('refuses a replayed proof: a signature recorded on one connection does not open another', async () => {
    server = await start();
    const key = consortium.identityOf('replayed');
    const first = raw(server.url, 'replayed');
    const recorded = await first.proofFor(key); // what an eavesdropper on connection 1 would see
    first.close();
    const second = raw(server.url, 'replayed');
    await second.challenge();
    second.sendProof(recorded);
    expect(await second.verdict()).toMatchObject({ type: 'refused', code: 'TESSERA_ERR_AUTH_FAILED' });
    expect(server.federation.isConnected('replayed')).toBe(false);
    // The same key, proving freshly on a third connection, is accepted.
    raws.push(await provenRawClient(server.url, 'replayed', key, ca(server.url)));
    expect(server.federation.isConnected('replayed')).toBe(true);
  });

  it('a client forcibly disconnected by the server reconnects with back-off, proves again and rejoins', async () => {
    server = await start();
    nodes = [socketClient(server, turns, 'kicked', { train: mnistSlice(0, 10) })];
    await server.federation.waitForClients(1, 10_000);
    const before = server.federation.clients()[0]?.connectedAt ?? 0;
    // The server side closes the socket (socket.io-client alone would not reconnect after this).
    expect(server.federation.disconnect('kicked', 'operator kicked the client')).toBe(true);
    await expect.poll(() => server?.federation.isConnected('kicked'), { timeout: 10_000 }).toBe(false);
    await expect.poll(() => (server?.federation.clients()[0]?.connectedAt ?? 0) > before, { timeout: 15_000 }).toBe(true);
    expect(server.federation.clients().map((c) => c.clientId)).toEqual(['kicked']);
  });

  it('takes the organisation from the roster: a rostered client claiming another organisation is refused', async () => {
    server = await start();
    const key = consortium.identityOf('va-client', 'va');
    const liar = raw(server.url, 'va-client', { orgId: 'cleveland' });
    liar.sendProof(await liar.proofFor(key));
    const v = await liar.verdict();
    expect(v).toMatchObject({ type: 'refused', code: 'TESSERA_ERR_AUTH_FAILED' });
    expect(v.type === 'refused' ? v.message : '').toMatch(/roster lists it for va/);
    raws.push(await provenRawClient(server.url, 'va-client', key, { orgId: 'va', ...ca(server.url) }));
    expect(server.federation.clients()).toMatchObject([{ clientId: 'va-client', orgId: 'va' }]);
  });

  it('proves the coordinator key to the client; a client expecting another coordinator key refuses to go on', async () => {
    server = await start();
    const t = authenticatedTransport(server, 'pinned-ok', 5);
    cleanups.push(() => t.close());
    await new Promise<void>((resolve) => t.onConnect(resolve));
    expect(Buffer.from(t.coordinatorIdentity?.() ?? new Uint8Array()).equals(Buffer.from(server.coordinatorKey))).toBe(true);

    const { socketIoClientTransport } = await import('../client/transport/socketio-client.ts');
    const { PROTOCOL_VERSION } = await import('../protocol/version.ts');
    const wary = socketIoClientTransport({
      url: server.url,
      handshake: { protocolVersion: PROTOCOL_VERSION, clientId: 'pinned-no', orgId: 'org-pinned-no', examples: 5 },
      identity: consortium.identityOf('pinned-no'),
      expectedCoordinatorKey: strangerKey.publicKey,
      ...(clientTls(server.url) ? { tls: clientTls(server.url) } : {}),
    });
    cleanups.push(() => wary.close());
    const refused = await new Promise<string>((resolve) => wary.onRefused((code) => resolve(code)));
    expect(refused).toBe('TESSERA_ERR_COORDINATOR_IDENTITY');
    expect(wary.coordinatorIdentity?.()).toBeUndefined();
    expect(server.federation.isConnected('pinned-no')).toBe(false);
  });

  it('closes a peer that never proves at the handshake deadline, and one that sends no client nonce at once', async () => {
    server = await start({ handshakeTimeoutMs: 500 });
    expect(server.url.startsWith(useTls ? 'https:' : 'http:')).toBe(true);
    const idle = raw(server.url, 'idle');
    await idle.challenge();
    expect(await idle.verdict()).toMatchObject({ type: 'refused', code: 'TESSERA_ERR_AUTH_REQUIRED' });
    await expect.poll(() => idle.socket.connected).toBe(false);
    const old = raw(server.url, 'old-client', { withoutNonce: true });
    expect(await old.verdict()).toMatchObject({ type: 'refused', code: 'TESSERA_ERR_AUTH_REQUIRED' });
  });
});
