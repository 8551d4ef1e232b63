/**
 * `tessera jobs` against a coordinator serving HTTPS with a dev certificate (issue 15): with `--ca ca.pem` the
 * CLI verifies the coordinator without NODE_EXTRA_CA_CERTS; without it the certificate check fails and the error
 * says to give --ca. Submission and cancellation through the CLI (real processes, test/support/cli.ts) are audited
 * and attributed to the operator token's identity (its name, id and role), in the same transaction as the job row.
 * The service does not run jobs here (no clients needed): a submitted job stays queued until it is cancelled.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinator, type CoordinatorServer } from '../coordinator/server.ts';
import { makeDevCertificates, type DevCertificates } from '../governance/identity/dev-certificates.ts';
import { createOperatorToken } from '../governance/identity/operator-tokens.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { readAuditEntries } from '../governance/audit/log.ts';
import { verifyAuditLog } from '../governance/audit/verify.ts';
import { tempStateDir } from './governance-fixtures.ts';
import { consortium, logger } from './support/federation-fixtures.ts';
import { cli } from './support/cli.ts';

const tmp = tempStateDir('tessera-jobs-https-');
const stateDir = join(tmp.dir, 'state');
let made: DevCertificates;
let db: Db;
let server: CoordinatorServer | undefined;
let token: { token: string; tokenId: string } = { token: '', tokenId: '' };
const jobFile = join(tmp.dir, 'job.json');

beforeAll(async () => {
  // The children inherit this environment: it must not already trust the dev CA made below.
  expect(process.env.NODE_EXTRA_CA_CERTS ?? '').not.toContain(tmp.dir);
  made = makeDevCertificates({ outDir: join(tmp.dir, 'certs'), hosts: ['localhost', '127.0.0.1'], clients: [] });
  db = openDatabase(stateDir);
  const created = createOperatorToken(stateDir, { name: 'ops', role: 'operator' });
  token = { token: created.token, tokenId: created.record.id };
  server = await startCoordinator({ logger, port: 0, roster: consortium.roster, stateDir, db, tls: { cert: readFileSync(made.serverCert, 'utf8'), key: readFileSync(made.serverKey, 'utf8') } });
  writeFileSync(
    jobFile,
    JSON.stringify({ name: 'https-job', model: { kind: 'logistic', inputs: 784, classes: 10 }, data: { dataset: 'mnist' }, rounds: 1, sampling: { mode: 'fixed', clientsPerRound: 2 }, minClients: 2, consent: { required: false } }),
  );
}, 60_000);

afterAll(async () => {
  await server?.close();
  db.close();
  tmp.cleanup();
});

const jobs = (...args: string[]) => cli('jobs', ...args, '--coordinator', server?.url ?? '', '--token', token.token);

describe('tessera jobs over HTTPS with --ca', () => {
  it('without --ca the dev certificate is refused, and the error says to give --ca', async () => {
    expect(server?.url).toMatch(/^https:/);
    const r = await jobs('list', '--json');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/cannot reach the coordinator .*certificate/i);
    expect(r.stderr).toContain('--ca');
  }, 60_000);

  it('with --ca: submit, list and cancel work, and submission and cancellation are audited to the token', async () => {
    const ca = made.caCert;
    const submitted = await jobs('submit', jobFile, '--ca', ca, '--json');
    expect(submitted.code, submitted.stderr).toBe(0);
    const view = JSON.parse(submitted.stdout) as { jobId: string; state: string; submittedAt: string };
    expect(view.state).toBe('queued');
    const listed = await jobs('list', '--ca', ca, '--json');
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout)).toMatchObject({ jobs: [{ jobId: view.jobId, state: 'queued' }] });
    const cancelled = await jobs('cancel', view.jobId, '--ca', ca, '--json');
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ jobId: view.jobId, state: 'cancelled' });

    const entries = readAuditEntries(db).filter((e) => e.subject === view.jobId);
    expect(entries.map((e) => [e.action, e.actor])).toEqual([
      ['job.submitted', 'operator:ops'],
      ['job.cancelled', 'operator:ops'],
    ]);
    expect(entries[0]?.details).toMatchObject({ name: 'https-job', by: 'operator:ops', tokenId: token.tokenId, role: 'operator', refusedByPreflight: false });
    expect(entries[1]?.details).toMatchObject({ was: 'queued', tokenId: token.tokenId });
    expect(verifyAuditLog(db)).toMatchObject({ ok: true });
  }, 90_000);
});
