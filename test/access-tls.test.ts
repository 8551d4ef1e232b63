/**
 * TLS for the coordinator (issue 12, item 2), over real sockets on 127.0.0.1 with certificates from
 * `tessera certs dev`: clients verify the coordinator's certificate (a client without the CA never gets in);
 * with mutual TLS only clients holding a certificate from the consortium CA connect; plain HTTP is refused on a
 * non-loopback interface unless `insecure` is given, and then /v1/health says so.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { socketIoClientTransport } from '../client/transport/socketio-client.ts';
import { startCoordinator, type CoordinatorServer } from '../coordinator/server.ts';
import { makeDevCertificates, type DevCertificates } from '../governance/identity/dev-certificates.ts';
import type { ClientTransport } from '../protocol/transport.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { REPO_ROOT } from './paths.ts';
import { consortium, logger } from './support/federation-fixtures.ts';
import { thrownTesseraError } from './support/thrown.ts';

let made: DevCertificates;
const pem = (p: string): string => readFileSync(p, 'utf8');
let server: CoordinatorServer | undefined;
const transports: ClientTransport[] = [];

beforeAll(() => {
  made = makeDevCertificates({ outDir: join(mkdtempSync(join(tmpdir(), 'tessera-tls-')), 'certs'), hosts: ['localhost', '127.0.0.1'], clients: ['mtls-ok'] });
});

afterEach(async () => {
  for (const t of transports.splice(0)) t.close();
  await server?.close();
  server = undefined;
});

function client(url: string, id: string, tls?: { ca?: string; cert?: string; key?: string }): ClientTransport {
  const t = socketIoClientTransport({
    url,
    handshake: { protocolVersion: PROTOCOL_VERSION, clientId: id, orgId: `org-${id}`, examples: 1 },
    identity: consortium.identityOf(id),
    reconnectDelayMs: 100,
    reconnectDelayMaxMs: 200,
    ...(tls ? { tls } : {}),
  });
  transports.push(t);
  return t;
}

function healthOverTls(url: string, ca: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    request(`${url}/v1/health`, { ca }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(JSON.parse(body)));
    })
      .on('error', reject)
      .end();
  });
}

describe('TLS', () => {
  it('serves HTTPS/WSS: a client with the CA joins; one without it never gets past the certificate check', async () => {
    server = await startCoordinator({ logger, port: 0, roster: consortium.roster, tls: { cert: pem(made.serverCert), key: pem(made.serverKey) } });
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(await healthOverTls(server.url, pem(made.caCert))).toMatchObject({ ok: true, security: { tls: true, mutualTls: false, insecure: false } });
    const trusting = client(server.url, 'tls-ok', { ca: pem(made.caCert) });
    await new Promise<void>((resolve) => trusting.onConnect(resolve));
    expect(server.federation.isConnected('tls-ok')).toBe(true);
    const naive = client(server.url, 'tls-naive');
    let connected = false;
    naive.onConnect(() => (connected = true));
    await new Promise((r) => setTimeout(r, 1500));
    expect(connected).toBe(false);
    expect(server.federation.isConnected('tls-naive')).toBe(false);
  });

  it('mutual TLS: only a client holding a certificate from the client CA connects', async () => {
    server = await startCoordinator({ logger, port: 0, roster: consortium.roster, tls: { cert: pem(made.serverCert), key: pem(made.serverKey), ca: pem(made.caCert) } });
    const cert = made.clients[0];
    if (!cert) throw new Error('no client certificate made');
    const holder = client(server.url, 'mtls-ok', { ca: pem(made.caCert), cert: pem(cert.cert), key: pem(cert.key) });
    await new Promise<void>((resolve) => holder.onConnect(resolve));
    const without = client(server.url, 'mtls-without', { ca: pem(made.caCert) });
    let connected = false;
    without.onConnect(() => (connected = true));
    await new Promise((r) => setTimeout(r, 1500));
    expect(connected).toBe(false);
    expect(server.federation.clients().map((c) => c.clientId)).toEqual(['mtls-ok']);
  });

  it('refuses plain HTTP off loopback unless insecure, and then announces it on /v1/health', async () => {
    const e = await startCoordinator({ logger, host: '0.0.0.0', port: 0, roster: consortium.roster }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(thrownTesseraError(() => {
      throw e;
    }).code).toBe('TESSERA_ERR_INVALID_ARGUMENT');
    server = await startCoordinator({ logger, host: '0.0.0.0', port: 0, roster: consortium.roster, insecure: true });
    const health = (await fetch(`http://127.0.0.1:${server.port}/v1/health`).then((r) => r.json())) as { security: { insecure: boolean; warning?: string } };
    expect(health.security.insecure).toBe(true);
    expect(health.security.warning).toMatch(/plain HTTP/);
  });

  it('tessera certs dev writes a CA and certificates OpenSSL verifies, keys 0600, and never overwrites a CA', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'tessera-certs-cli-')), 'certs');
    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, [join(REPO_ROOT, 'bin', 'tessera.mjs'), 'certs', 'dev', '--out', out, '--client', 'cleveland-client', '--json'], { cwd: REPO_ROOT });
    const files = JSON.parse(stdout) as DevCertificates;
    for (const key of [files.caKey, files.serverKey, ...files.clients.map((c) => c.key)]) expect(statSync(key).mode & 0o777).toBe(0o600);
    expect(statSync(out).mode & 0o777).toBe(0o700);
    const verified = await run('openssl', ['verify', '-CAfile', files.caCert, files.serverCert, files.clients[0]?.cert ?? '']);
    expect(verified.stdout).toMatch(/coordinator\.pem: OK[\s\S]*cleveland-client\.pem: OK/);
    const san = await run('openssl', ['x509', '-in', files.serverCert, '-noout', '-ext', 'subjectAltName']);
    expect(san.stdout).toMatch(/DNS:localhost, IP Address:127\.0\.0\.1/);
    const again = await run(process.execPath, [join(REPO_ROOT, 'bin', 'tessera.mjs'), 'certs', 'dev', '--out', out], { cwd: REPO_ROOT }).then(
      () => 0,
      (err: { code?: number }) => err.code,
    );
    expect(again).toBe(2);
  });
});
