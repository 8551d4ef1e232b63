/**
 * A local certificate authority and certificates for trials (`tessera certs dev`): a CA, the coordinator's
 * server certificate (its host names and addresses as subjectAltName, RFC 5280 §4.2.1.6 — what TLS clients
 * check, RFC 6125), and optional client certificates for mutual TLS. EC P-256 keys, valid for `days`.
 *
 * The certificates are made by OpenSSL's own `openssl req`/`openssl x509` (a well-kept implementation; no
 * hand-built ASN.1). A JavaScript library (`@peculiar/x509`) would spare the dependency on the openssl binary;
 * it is not installed here, so this module keeps the whole recipe in one place to make that swap local.
 * Private keys are written 0600 into a 0700 directory. For trials only: production certificates come from the
 * consortium's own CA.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join, resolve } from 'node:path';
import { TesseraError } from '../../protocol/errors.ts';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from '../state/file-modes.ts';

export interface DevCertificatesOptions {
  readonly outDir: string;
  /** Names and addresses the coordinator is reached at (default localhost and 127.0.0.1). */
  readonly hosts?: readonly string[];
  /** Client ids to issue client certificates for (mutual TLS). */
  readonly clients?: readonly string[];
  readonly days?: number;
}

export interface DevCertificates {
  readonly caCert: string;
  readonly caKey: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clients: ReadonlyArray<{ clientId: string; cert: string; key: string }>;
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

function openssl(args: readonly string[]): void {
  try {
    execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (cause) {
    const detail = cause instanceof Error && 'stderr' in cause ? String((cause as { stderr: unknown }).stderr).trim() : String(cause);
    const missing = (cause as { code?: string }).code === 'ENOENT';
    throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', missing ? 'tessera certs dev needs the openssl command (install OpenSSL 1.1.1 or later)' : `openssl ${args[0] ?? ''} failed: ${detail}`, { cause });
  }
}

const serial = (): string => `0x${randomBytes(16).toString('hex').replace(/^./, '1')}`;

/** Issues a leaf certificate signed by the CA; `ext` holds the extension lines (openssl x509 -extfile syntax). */
function issue(dir: string, name: string, subject: string, ext: string[], ca: { cert: string; key: string }, days: number): { cert: string; key: string } {
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const extFile = join(dir, `${name}.ext`);
  const cert = join(dir, `${name}.pem`);
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', subject]);
  chmodSync(key, PRIVATE_FILE_MODE);
  writeFileSync(extFile, `${ext.join('\n')}\n`);
  try {
    openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', serial(), '-days', String(days), '-sha256', '-extfile', extFile, '-out', cert]);
  } finally {
    rmSync(csr, { force: true });
    rmSync(extFile, { force: true });
  }
  return { cert, key };
}

export function makeDevCertificates(o: DevCertificatesOptions): DevCertificates {
  const dir = resolve(o.outDir);
  const days = o.days ?? 30;
  const hosts = o.hosts && o.hosts.length > 0 ? o.hosts : ['localhost', '127.0.0.1'];
  for (const h of hosts) if (!SAFE_NAME.test(h)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--host "${h}" is not a host name or address`);
  for (const c of o.clients ?? []) if (!SAFE_NAME.test(c)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--client "${c}" is not a client id`);
  if (existsSync(join(dir, 'ca.pem'))) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `${join(dir, 'ca.pem')} already exists (refusing to overwrite a CA)`);
  ensurePrivateDir(dir);
  const ca = { cert: join(dir, 'ca.pem'), key: join(dir, 'ca.key') };
  openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', ca.key, '-out', ca.cert, '-days', String(days), '-sha256',
    '-subj', '/CN=Tessera development CA', '-addext', 'basicConstraints=critical,CA:TRUE,pathlen:0', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-set_serial', serial(),
  ]);
  chmodSync(ca.key, PRIVATE_FILE_MODE);
  const san = hosts.map((h) => (isIP(h) !== 0 ? `IP:${h}` : `DNS:${h}`)).join(',');
  const server = issue(dir, 'coordinator', '/CN=tessera-coordinator', [`subjectAltName=${san}`, 'basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth'], ca, days);
  const clients: Array<{ clientId: string; cert: string; key: string }> = [];
  if ((o.clients ?? []).length > 0) mkdirSync(join(dir, 'clients'), { recursive: true, mode: 0o700 });
  for (const clientId of o.clients ?? []) {
    const c = issue(join(dir, 'clients'), clientId, `/CN=${clientId}`, ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth'], ca, days);
    clients.push({ clientId, ...c });
  }
  return { caCert: ca.cert, caKey: ca.key, serverCert: server.cert, serverKey: server.key, clients };
}
