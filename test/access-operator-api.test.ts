/**
 * The operator API's roles (issue 12, item 4), over HTTP on 127.0.0.1 against a coordinator with a state
 * directory: every route of ADMIN_ROUTES is called with no credential (401, coded), an unknown or revoked token
 * (401), a role the route does not allow (403, coded) and every role it allows (200). Tokens are stored hashed:
 * the token file holds no token text. /v1/health is open and names no organisation.
 */
import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ROUTES } from '../coordinator/admin-routes.ts';
import { JOB_ROUTES } from '../coordinator/job-routes.ts';
import { startCoordinator, type CoordinatorServer } from '../coordinator/server.ts';
import { OPERATOR_ROLES, createOperatorToken, operatorTokensPath, revokeOperatorToken, type OperatorRole } from '../governance/identity/operator-tokens.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { tempStateDir } from './governance-fixtures.ts';
import { consortium, logger } from './support/federation-fixtures.ts';
import { provenRawClient, rawClient, type RawClient } from './support/raw-socket-client.ts';
import { keyPairFromSeed } from '../governance/identity/ed25519.ts';

const state = tempStateDir('tessera-operator-api-');
let db: Db;
let server: CoordinatorServer;
let client: RawClient;
const tokens = new Map<OperatorRole, string>();
let revoked: string;
let jobId = '';

beforeAll(async () => {
  db = openDatabase(state.dir);
  for (const role of OPERATOR_ROLES) tokens.set(role, createOperatorToken(state.dir, { name: `${role}-person`, role }).token);
  const r = createOperatorToken(state.dir, { name: 'former', role: 'auditor' });
  revokeOperatorToken(state.dir, r.record.id);
  revoked = r.token;
  server = await startCoordinator({ logger, port: 0, roster: consortium.roster, stateDir: state.dir, db });
  client = await provenRawClient(server.url, 'api-client', consortium.identityOf('api-client', 'org-api'), { orgId: 'org-api' });
  // A hosted job (never started: the service is not running jobs here), so /v1/jobs/:id has something to show.
  jobId = server.jobs.submit({ name: 'j', model: { kind: 'logistic', inputs: 784, classes: 10 }, data: { dataset: 'mnist' }, rounds: 1, sampling: { mode: 'fixed', clientsPerRound: 2 } }).jobId;
}, 60_000);

afterAll(async () => {
  client.close();
  await server.close();
  db.close();
  state.cleanup();
});

const get = async (path: string, token?: string): Promise<{ status: number; body: unknown }> => {
  const res = await fetch(`${server.url}${path}`, token !== undefined ? { headers: { authorization: `Bearer ${token}` } } : {});
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // metrics are text
  }
  return { status: res.status, body };
};

const concrete = (route: string): string => route.replace(':id', jobId);

/** Every read-only route that needs a token: the admin routes and the job routes' GETs. */
const READ_ROUTES: Array<[string, readonly string[]]> = [
  ...Object.entries(ADMIN_ROUTES).flatMap(([route, allowed]): Array<[string, readonly string[]]> => (allowed === 'public' ? [] : [[route, allowed]])),
  ...Object.values(JOB_ROUTES).flatMap((r): Array<[string, readonly string[]]> => (r.method === 'GET' ? [[r.url, r.roles]] : [])),
];

describe('operator API roles', () => {
  for (const [route, allowed] of READ_ROUTES) {
    it(`${route}: 401 without a valid token, 403 for other roles, 200 for ${allowed.join(', ')}`, async () => {
      const path = concrete(route);
      for (const token of [undefined, 'tsk_not-a-real-token', revoked]) {
        const r = await get(path, token);
        expect(r.status).toBe(401);
        expect(r.body).toMatchObject({ error: { code: 'TESSERA_ERR_UNAUTHENTICATED' } });
      }
      for (const role of OPERATOR_ROLES) {
        const r = await get(path, tokens.get(role));
        if (allowed.includes(role)) expect([role, r.status]).toEqual([role, 200]);
        else {
          expect([role, r.status]).toEqual([role, 403]);
          expect(r.body).toMatchObject({ error: { code: 'TESSERA_ERR_FORBIDDEN' } });
        }
      }
    });
  }

  it('viewers get no per-organisation detail; an operator sees the roster organisation of each client', async () => {
    expect((await get('/v1/clients', tokens.get('viewer'))).status).toBe(403);
    expect((await get(`/v1/jobs/${jobId}`, tokens.get('viewer'))).status).toBe(403);
    const r = await get('/v1/clients', tokens.get('operator'));
    expect(r.body).toMatchObject({ clients: [{ clientId: 'api-client', orgId: 'org-api', connectedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) }] });
  });

  it('/v1/metrics is valid Prometheus text and counts refused connections by code', async () => {
    const impostor = rawClient(server.url, 'api-client', { orgId: 'org-api' });
    impostor.sendProof(await impostor.proofFor(keyPairFromSeed(new Uint8Array(32).fill(9))));
    expect(await impostor.verdict()).toMatchObject({ code: 'TESSERA_ERR_DUPLICATE_CLIENT' });
    impostor.close();
    server.metrics.inc('tessera_test_total', 'help with a backslash \\ and\na newline', { job: 'quote " backslash \\ newline \n end' });
    const r = await get('/v1/metrics', tokens.get('viewer'));
    const text = String(r.body);
    // The exposition grammar, line by line (Prometheus "Text format details"): comments, then samples whose label
    // values contain no raw quote, backslash or line feed except as the escapes \", \\ and \n.
    const name = '[a-zA-Z_:][a-zA-Z0-9_:]*';
    const label = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
    const sample = new RegExp(`^${name}(?:\\{${label}(?:,${label})*\\})? -?(?:[0-9.e+-]+|NaN|\\+Inf|-Inf)$`);
    const comment = new RegExp(`^# (?:HELP ${name} (?:[^\\\\\\n]|\\\\[\\\\n])*|TYPE ${name} (?:counter|gauge|histogram|summary|untyped))$`);
    const lines = text.trimEnd().split('\n');
    for (const l of lines) expect([l, sample.test(l) || comment.test(l)]).toEqual([l, true]);
    expect(text).toMatch(/^tessera_connections_refused_total\{code="TESSERA_ERR_DUPLICATE_CLIENT"\} 1$/m);
    expect(text).toContain('tessera_test_total{job="quote \\" backslash \\\\ newline \\n end"} 1');
  });

  it('/v1/health is open and names no organisation', async () => {
    const r = await get('/v1/health');
    expect(r.status).toBe(200);
    expect(JSON.stringify(r.body)).not.toMatch(/org-api|api-client/);
  });

  it('stores tokens hashed, in a 0600 file', () => {
    const text = readFileSync(operatorTokensPath(state.dir), 'utf8');
    for (const t of tokens.values()) expect(text).not.toContain(t.slice(4));
    expect(statSync(operatorTokensPath(state.dir)).mode & 0o777).toBe(0o600);
  });
});
