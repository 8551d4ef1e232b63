/**
 * The operator API's roles and schemas (issue 12 item 4), over HTTP on 127.0.0.1 against a real coordinator with
 * a state directory, real tokens and a deployed model. The routes are enumerated from the served OpenAPI document
 * — not from a list in this file — so a route added later without a request below fails the first test. Each is
 * called with no credential, an unknown and a revoked token (401, coded), every role it does not declare (403,
 * coded) and every role it does (200), and each answer is validated against the response schema the DOCUMENT
 * declares for its status (built with z.fromJSONSchema from the document, not the code's zod schema).
 * /v1/openapi.json validates as OpenAPI 3.1 (@readme/openapi-parser); /v1/metrics parses as Prometheus text.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { dereference, validate } from '@readme/openapi-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startCoordinator, type CoordinatorServer } from '../coordinator/server.ts';
import { TOKEN_ROLES, createOperatorToken, operatorTokensPath, revokeOperatorToken, type TokenRole } from '../governance/identity/operator-tokens.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { enqueueHeld } from '../coordinator/serving/review/store.ts';
import { tempStateDir } from './governance-fixtures.ts';
import { HEART_ROW, deployHeartModel } from './support/deployed-model.ts';
import { consortium, logger } from './support/federation-fixtures.ts';
import { provenRawClient, type RawClient } from './support/raw-socket-client.ts';
import { parsePrometheus } from './support/prometheus.ts';
import { REPO_ROOT } from './paths.ts';

const state = tempStateDir('tessera-operator-api-');
let db: Db;
let server: CoordinatorServer;
let client: RawClient;
const tokens = new Map<TokenRole, string>();
const tokenIds = new Map<TokenRole, string>();
let revoked: string;
let jobId = '';

/**
 * One request per operation of the document: the concrete path and body a success needs. An operation of the
 * document without an entry here fails the test — add the route's request when you add a route. A route that
 * changes state (submit, cancel) may make a fresh request per call: `path`/`body` may be functions of the call.
 */
/** A job spec that passes the preflight (the service never runs it here). */
const jobSpec = (name: string): Record<string, unknown> => ({ name, model: { kind: 'logistic', inputs: 784, classes: 10 }, data: { dataset: 'mnist' }, rounds: 1, sampling: { mode: 'fixed', clientsPerRound: 2 } });
type PerCall<T> = T | ((call: number) => T);
const REQUESTS: Record<string, { path: PerCall<string>; body?: PerCall<unknown> }> = {
  'GET /v1/openapi.json': { path: '/v1/openapi.json' },
  'GET /v1/health': { path: '/v1/health' },
  'GET /v1/metrics': { path: '/v1/metrics' },
  'GET /v1/clients': { path: '/v1/clients' },
  'GET /v1/presence': { path: '/v1/presence' },
  'GET /v1/jobs': { path: '/v1/jobs' },
  'GET /v1/jobs/{id}': { path: () => `/v1/jobs/${jobId}` },
  // Each call submits a job of its own name, and cancels a job queued for that call (the service runs none here).
  'POST /v1/jobs': { path: '/v1/jobs', body: (n: number) => ({ spec: jobSpec(`submitted-${n}`) }) },
  'POST /v1/jobs/{id}/cancel': { path: (n) => `/v1/jobs/${server.jobs.submit(jobSpec(`to-cancel-${n}`)).jobId}/cancel` },
  'POST /v1/models/{name}/predict': { path: '/v1/models/heart/predict', body: { instances: [HEART_ROW] } },
  'GET /v1/models/{name}/status': { path: '/v1/models/heart/status' },
  // Each call labels a prediction of its own (one label per prediction), issued to the predict token in beforeAll.
  'POST /v1/models/{name}/feedback': { path: '/v1/models/heart/feedback', body: () => ({ feedback: [{ predictionId: predictionIds[feedbackCalls++] ?? '', label: 1 }] }) },
  'GET /v1/monitor': { path: '/v1/monitor' },
  'GET /v1/audit/checkpoint': { path: '/v1/audit/checkpoint' },
  // The operator console's reads (coordinator/console/api-routes.ts).
  'GET /v1/whoami': { path: '/v1/whoami' },
  'GET /v1/jobs/{id}/series': { path: () => `/v1/jobs/${jobId}/series` },
  'GET /v1/privacy': { path: '/v1/privacy' },
  'GET /v1/governance': { path: '/v1/governance' },
  'GET /v1/events': { path: '/v1/events' },
  // Human review (issue 20 §5): each decision needs a pending held prediction of its own; the poll, one made
  // with the predict token (another caller's prediction is 404).
  'GET /v1/review/queue': { path: '/v1/review/queue' },
  'POST /v1/review/{id}/decision': { path: (n) => `/v1/review/${heldPrediction(`decide-${n}`)}/decision`, body: { decision: 'confirm' } },
  'GET /v1/predictions/{id}/review': { path: (n) => `/v1/predictions/${heldPrediction(`poll-${n}`)}/review` },
};

/** Queues a held prediction made with the predict token (as the serving path does) and returns its id. */
function heldPrediction(tag: string): string {
  const predictionId = `held-${tag}-0123456789abcdef`;
  enqueueHeld(db, [{ predictionId, callerToken: tokenIds.get('predict') ?? '', model: 'heart', version: 'v', stage: 'production', instance: [...HEART_ROW], explanation: null, probabilities: [0.55, 0.45], modelClass: 0, confidence: 0.55, reasons: ['low-confidence'], at: new Date() }]);
  return predictionId;
}

interface Operation {
  readonly key: string;
  readonly roles: 'public' | readonly TokenRole[];
  readonly responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}

let served: unknown;
/** Predictions issued to the predict token, one consumed per feedback call. */
let predictionIds: string[] = [];
let feedbackCalls = 0;
let operations: Operation[] = [];

beforeAll(async () => {
  db = openDatabase(state.dir);
  for (const role of TOKEN_ROLES) {
    const t = createOperatorToken(state.dir, { name: `${role}-holder`, role });
    tokens.set(role, t.token);
    tokenIds.set(role, t.record.id);
  }
  const r = createOperatorToken(state.dir, { name: 'former', role: 'auditor' });
  revokeOperatorToken(state.dir, r.record.id);
  revoked = r.token;
  // A deployed model, so predict and status answer 200.
  await deployHeartModel(db, state.dir);

  server = await startCoordinator({ logger, port: 0, roster: consortium.roster, stateDir: state.dir, db, rateLimits: { tokenFailuresPerMinute: 10_000 } });
  client = await provenRawClient(server.url, 'api-client', consortium.identityOf('api-client', 'org-api'), { orgId: 'org-api' });
  served = await (await fetch(`${server.url}/v1/openapi.json`)).json();
  // A dereferenced copy: every $ref (the shared ApiError) replaced by its schema, for the validators below.
  const doc = z.object({ paths: z.record(z.string(), z.record(z.string(), z.unknown())) }).parse(await dereference(structuredClone(served) as never));
  const Op = z.object({ 'x-tessera-roles': z.union([z.literal('public'), z.array(z.enum(TOKEN_ROLES))]), responses: z.record(z.string(), z.object({ content: z.record(z.string(), z.object({ schema: z.unknown() })).optional() })) });
  operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => {
      const o = Op.parse(op);
      return { key: `${method.toUpperCase()} ${path}`, roles: o['x-tessera-roles'], responses: o.responses };
    }),
  );
  const scored = await fetch(`${server.url}/v1/models/heart/predict`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.get('predict')}` }, body: JSON.stringify({ instances: Array.from({ length: 100 }, () => HEART_ROW) }) });
  predictionIds = z.object({ predictionIds: z.array(z.string()) }).parse(await scored.json()).predictionIds;
  // A hosted job (never started: the service does not run jobs here), so GET /v1/jobs/:id has something to show.
  jobId = server.jobs.submit(jobSpec('j')).jobId;
}, 60_000);

afterAll(async () => {
  client.close();
  await server.close();
  db.close();
  state.cleanup();
});

let calls = 0;
const at = <T,>(v: PerCall<T>, n: number): T => (typeof v === 'function' ? (v as (call: number) => T)(n) : v);

async function call(key: string, token?: string): Promise<{ status: number; type: string; text: string }> {
  const req = REQUESTS[key];
  if (req === undefined) throw new Error(`no request for ${key}`);
  const n = calls++;
  const method = key.split(' ')[0] ?? 'GET';
  const headers: Record<string, string> = token !== undefined ? { authorization: `Bearer ${token}` } : {};
  const body = req.body === undefined ? undefined : at(req.body, n);
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}${at(req.path, n)}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const type = res.headers.get('content-type') ?? '';
  if (type.startsWith('text/event-stream') && res.body !== null) {
    // A server-sent event stream never ends: its first event (sent as it opens) is the answer.
    const reader = res.body.getReader();
    const first = await reader.read();
    await reader.cancel();
    return { status: res.status, type, text: new TextDecoder().decode(first.value) };
  }
  return { status: res.status, type, text: await res.text() };
}

/** A success: a 2xx status the operation declares (200 for reads; e.g. 202 for a submission). */
const succeeded = (op: Operation, status: number): boolean => status >= 200 && status < 300 && op.responses[String(status)] !== undefined;

/** Checks an answer against the schema the document declares for that status and media type. */
function expectMatchesDocument(op: Operation, answer: { status: number; type: string; text: string }): void {
  const response = op.responses[String(answer.status)];
  expect(response, `${op.key} answered ${answer.status}, which the document does not declare`).toBeDefined();
  const media = Object.keys(response?.content ?? {}).find((m) => answer.type.startsWith(m));
  expect(media, `${op.key} ${answer.status}: content type ${answer.type} not declared`).toBeDefined();
  const schema = response?.content?.[media ?? '']?.schema;
  const body: unknown = media === 'application/json' ? JSON.parse(answer.text) : answer.text;
  const check = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]).safeParse(body);
  expect(check.success, `${op.key} ${answer.status}: ${check.success ? '' : JSON.stringify(check.error.issues)}`).toBe(true);
}

describe('operator API: roles and schemas, enumerated from the OpenAPI document', () => {
  it('the document is valid OpenAPI 3.1 and every operation in it has a request in this test', async () => {
    const result = await validate(structuredClone(served) as never);
    expect(result.valid, JSON.stringify(result)).toBe(true);
    expect(z.object({ openapi: z.string() }).parse(served).openapi).toBe('3.1.0');
    expect(operations.map((o) => o.key).filter((k) => REQUESTS[k] === undefined)).toEqual([]);
    // …and the document lists exactly the routes the coordinator registered, with their declared access.
    expect(operations.map((o) => o.key).sort()).toEqual(server.api.routes().map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`).sort());
  });

  it('every guarded operation: 401 without a valid token, 403 for each undeclared role, success (2xx) for each declared role, each answer as documented', async () => {
    for (const op of operations) {
      if (op.roles === 'public') {
        const a = await call(op.key);
        expect([op.key, a.status, succeeded(op, a.status)]).toEqual([op.key, a.status, true]);
        expectMatchesDocument(op, a);
        continue;
      }
      for (const token of [undefined, 'tsk_not-a-real-token', revoked]) {
        const a = await call(op.key, token);
        expect([op.key, a.status]).toEqual([op.key, 401]);
        expect(JSON.parse(a.text)).toMatchObject({ error: { code: 'TESSERA_ERR_UNAUTHENTICATED' } });
        expectMatchesDocument(op, a);
      }
      for (const role of TOKEN_ROLES) {
        const a = await call(op.key, tokens.get(role));
        if (op.roles.includes(role)) {
          expect([op.key, role, a.status, succeeded(op, a.status)]).toEqual([op.key, role, a.status, true]);
        } else {
          expect([op.key, role, a.status]).toEqual([op.key, role, 403]);
          expect(JSON.parse(a.text)).toMatchObject({ error: { code: 'TESSERA_ERR_FORBIDDEN' } });
        }
        expectMatchesDocument(op, a);
      }
    }
  }, 60_000);

  it('the serving credential: an operator token alone cannot predict; the predict token reads nothing else', async () => {
    for (const role of ['operator', 'ml-lead', 'privacy-officer', 'auditor', 'viewer'] as const) {
      expect([role, (await call('POST /v1/models/{name}/predict', tokens.get(role))).status]).toEqual([role, 403]);
    }
    const predict = tokens.get('predict');
    expect((await call('POST /v1/models/{name}/predict', predict)).status).toBe(200);
    for (const key of ['GET /v1/jobs', 'GET /v1/jobs/{id}', 'GET /v1/clients', 'GET /v1/metrics', 'GET /v1/models/{name}/status', 'GET /v1/monitor', 'GET /v1/audit/checkpoint']) {
      expect([key, (await call(key, predict)).status]).toEqual([key, 403]);
    }
  });

  it('guards run before the body is read: an unauthenticated malformed prediction is 401, not 400', async () => {
    const res = await fetch(`${server.url}/v1/models/heart/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"instances": "not rows"' });
    expect(res.status).toBe(401);
    const bad = await fetch(`${server.url}/v1/models/heart/predict`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.get('predict')}` }, body: JSON.stringify({ instances: 'not rows' }) });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { code: 'TESSERA_ERR_MESSAGE_INVALID' } });
  });

  it('viewers get no per-organisation detail; an operator sees the roster organisation of each client', async () => {
    expect((await call('GET /v1/clients', tokens.get('viewer'))).status).toBe(403);
    expect((await call('GET /v1/jobs/{id}', tokens.get('viewer'))).status).toBe(403);
    const r = JSON.parse((await call('GET /v1/clients', tokens.get('operator'))).text) as unknown;
    expect(r).toMatchObject({ clients: [{ clientId: 'api-client', orgId: 'org-api', connectedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/) }] });
    expect(r).toMatchObject({ organisations: [{ orgId: 'org-api', connected: true, connectedClients: 1 }] });
    // The viewer's presence is counts only.
    const presence = (await call('GET /v1/presence', tokens.get('viewer'))).text;
    expect(JSON.parse(presence)).toMatchObject({ clients: 1, organisations: { connected: 1, disconnected: 0 } });
    expect(presence).not.toMatch(/org-api|api-client/);
    // Metrics carry no organisation or client either (a viewer may read them).
    const metrics = (await call('GET /v1/metrics', tokens.get('viewer'))).text;
    expect(metrics).not.toMatch(/org-api|api-client/);
  });

  it('/v1/metrics parses as Prometheus text and counts refused API requests by code', async () => {
    const families = parsePrometheus((await call('GET /v1/metrics', tokens.get('viewer'))).text);
    const refused = families.get('tessera_api_requests_refused_total');
    expect(refused?.metrics.map((m) => m.labels?.code).sort()).toEqual(['TESSERA_ERR_FORBIDDEN', 'TESSERA_ERR_UNAUTHENTICATED']);
    expect(families.get('tessera_clients_connected')?.metrics[0]?.value).toBe('1');
  });

  it('unknown routes and HEAD requests get coded answers, never an unguarded handler', async () => {
    const none = await fetch(`${server.url}/v1/no-such-route`);
    expect(none.status).toBe(404);
    expect(await none.json()).toMatchObject({ error: { code: 'TESSERA_ERR_ROUTE_NOT_FOUND' } });
    const head = await fetch(`${server.url}/v1/clients`, { method: 'HEAD' });
    expect(head.status).toBe(404);
  });

  it('docs/access.md states the roles of every route exactly as the coordinator declares them', () => {
    const text = readFileSync(join(REPO_ROOT, 'docs', 'access.md'), 'utf8');
    const documented = [...text.matchAll(/^\| `((?:GET|POST|PUT|PATCH|DELETE) \/v1\/[^`]*)` \| ([^|]+?) \|$/gm)].map((m) => `${m[1]} → ${m[2]}`).sort();
    const declared = server.api.routes().map((r) => `${r.method} ${r.url} → ${r.access === 'public' ? 'public' : r.access.join(', ')}`).sort();
    expect(documented).toEqual(declared);
  });

  it('stores tokens hashed, in a 0600 file', () => {
    const text = readFileSync(operatorTokensPath(state.dir), 'utf8');
    for (const t of tokens.values()) expect(text).not.toContain(t.slice(4));
    expect(statSync(operatorTokensPath(state.dir)).mode & 0o777).toBe(0o600);
  });
});
