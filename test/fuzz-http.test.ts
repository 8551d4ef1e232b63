/**
 * HTTP fuzzing (issue 14 §5): random and mutated requests to every route of a real coordinator on 127.0.0.1
 * (admin API with and without operator tokens, model serving, the audit checkpoint; unknown paths and methods)
 * — wrong types, NaN and huge numbers, huge arrays, deep nesting, truncated and binary bodies, odd headers. Every
 * answer is either a success or a coded error (engine.io's own shape on its /socket.io/ endpoint) `{ error: { code: TESSERA_ERR_… } }` with a 4xx status (never a
 * 5xx, never fastify's own shape), the coordinator keeps serving, and nothing durable changes: every table of
 * its SQLite state and every file of its state directory are the same before and after.
 *
 * Found on the way (fixed in coordinator/http-errors.ts): unknown routes, malformed JSON, oversized bodies and
 * unsupported content types were answered in fastify's shape with `FST_ERR_…` codes.
 * Soak: TESSERA_FUZZ_RUNS=5000 npx vitest run test/fuzz-http.test.ts
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinator, type CoordinatorServer } from '../coordinator/server.ts';
import { TOKEN_ROLES, createOperatorToken } from '../governance/identity/operator-tokens.ts';
import { checkpointAudit } from '../governance/audit/log.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { tempStateDir } from './governance-fixtures.ts';
import { consortium, logger } from './support/federation-fixtures.ts';
import { deepJson, fuzzParameters, isKnownCode, nastyString, stateSnapshot } from './support/fuzz.ts';

const state = tempStateDir('tessera-fuzz-http-');
let db: Db;
let server: CoordinatorServer;
const tokens: string[] = [];
let jobId = '';

beforeAll(async () => {
  db = openDatabase(state.dir);
  for (const role of TOKEN_ROLES) tokens.push(createOperatorToken(state.dir, { name: `${role}-person`, role }).token);
  server = await startCoordinator({ logger, port: 0, roster: consortium.roster, stateDir: state.dir, db });
  // A hosted job (queued; the service runs none here), so GET /v1/jobs/:id has one to find.
  jobId = server.jobs.submit({ name: 'j', model: { kind: 'logistic', inputs: 784, classes: 10 }, data: { dataset: 'mnist' }, rounds: 1, sampling: { mode: 'fixed', clientsPerRound: 2 } }).jobId;
  // The submission is audited (job.submitted): sign its checkpoint now, as the first auditor poll would, so that a
  // fuzzed GET /v1/audit/checkpoint with a valid token (which signs a checkpoint over any unsigned tail) finds
  // nothing new to sign and the state stays as snapshotted.
  checkpointAudit(db);
}, 60_000);

afterAll(async () => {
  await server.close();
  db.close();
  state.cleanup();
});

const ROUTES = ['/v1/health', '/v1/metrics', '/v1/clients', '/v1/jobs', '/v1/jobs/:id', '/v1/jobs/:id/cancel', '/v1/audit/checkpoint', '/v1/models/:name/predict', '/v1/models/:name/status', '/v1/models/:name/feedback', '/v1/monitor'];

const segment = fc.oneof(fc.constant(0).map(() => jobId), fc.constantFrom('job-1', 'heart-risk', '..', '%2e%2e', '%00', '%ff', 'a'.repeat(3000), '__proto__'), fc.stringMatching(/^[A-Za-z0-9._~-]{0,40}$/));
const path = fc.oneof(
  fc.tuple(fc.constantFrom(...ROUTES), segment).map(([r, s]) => r.replace(/:[a-z]+/, s)),
  fc.array(segment, { maxLength: 6 }).map((parts) => `/${parts.join('/')}`),
  fc.constantFrom('/', '//v1//health', '/v1/health/', '/v1/jobs/', '/socket.io/?EIO=3&transport=polling'),
);
const query = fc.oneof(fc.constant(''), fc.stringMatching(/^[A-Za-z0-9=&%.[\]-]{0,60}$/).map((q) => `?${q}`));

/** Bodies: valid-looking prediction requests with bad values, arbitrary JSON, deep nesting, truncation, junk. */
const predictLike = fc.record(
  { instances: fc.oneof(fc.array(fc.array(fc.oneof(fc.double(), fc.constantFrom('NaN', null, true, '1e309', Number.MAX_VALUE)), { maxLength: 20 }), { maxLength: 20 }), fc.constant('x'), fc.constant({})) },
  { requiredKeys: [] },
);
const body = fc.oneof(
  fc.constant(undefined),
  fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
  predictLike.map((v) => JSON.stringify(v)),
  fc.tuple(fc.constantFrom('array', 'object') as fc.Arbitrary<'array' | 'object'>, fc.integer({ min: 1_000, max: 200_000 })).map(([k, d]) => deepJson(d, k)),
  fc.integer({ min: 10_000, max: 300_000 }).map((n) => `{"instances":[[${'1,'.repeat(n)}1]]}`),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)).chain((s) => fc.nat(s.length).map((cut) => s.slice(0, cut))),
  fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.constant('a'.repeat(2 * 1024 * 1024)),
);
const contentType = fc.constantFrom(undefined, 'application/json', 'application/json; charset=utf-16', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '*/*', 'application/json\u0000');
const auth = fc.oneof(fc.constant(undefined), fc.constantFrom(...TOKEN_ROLES.map((_, i) => i)).map((i) => `Bearer ${tokens[i % Math.max(tokens.length, 1)] ?? ''}`), nastyString(80).map((s) => `Bearer ${s.replace(/[^\x20-\x7e]/g, '')}`), fc.constant('Basic YTpi'));
const method = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS');

interface Answer {
  status: number;
  text: string;
}

async function send(r: { method: string; path: string; query: string; body: string | undefined; contentType: string | undefined; auth: string | undefined; caller: string }): Promise<Answer> {
  const headers: Record<string, string> = { 'x-tessera-caller': r.caller.replace(/[^\x20-\x7e]/g, '') };
  if (r.contentType !== undefined) headers['content-type'] = r.contentType.split('\u0000').join('');
  if (r.auth !== undefined) headers.authorization = r.auth;
  const withBody = r.body !== undefined && r.method !== 'GET' && r.method !== 'HEAD';
  const res = await fetch(`${server.url}${r.path}${r.query}`, { method: r.method, headers, ...(withBody ? { body: r.body } : {}) });
  return { status: res.status, text: await res.text() };
}

describe('HTTP fuzzing of every route of a real coordinator', () => {
  it('answers every request with a success or a coded 4xx error, and changes nothing durable', async () => {
    const before = stateSnapshot(db, state.dir);
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(fc.record({ method, path, query, body, contentType, auth, caller: nastyString(40) }), async (r) => {
        const a = await send(r);
        seen.set(a.status, (seen.get(a.status) ?? 0) + 1);
        expect(a.status, `${r.method} ${r.path}: ${a.text.slice(0, 300)}`).toBeLessThan(500);
        if (a.status >= 400 && r.method !== 'HEAD' && r.path.startsWith('/socket.io/')) {
          // The websocket endpoint belongs to engine.io, which answers a bad handshake in its own documented
          // shape ({ code: n, message }, engine.io protocol v4 "Transport unknown", "Bad request", …).
          expect(typeof (JSON.parse(a.text) as { code?: unknown }).code).toBe('number');
        } else if (a.status >= 400 && r.method !== 'HEAD') {
          const parsed = JSON.parse(a.text) as { error?: { code?: unknown; message?: unknown } };
          expect(isKnownCode(parsed.error?.code), `${r.method} ${r.path} → ${a.status} ${a.text.slice(0, 300)}`).toBe(true);
          expect(typeof parsed.error?.message).toBe('string');
        }
      }),
      fuzzParameters(250),
    );
    // Still serving, and the requests reached more than the 404 handler.
    expect((await fetch(`${server.url}/v1/health`)).status).toBe(200);
    expect([...seen.keys()].filter((s) => s !== 404).length).toBeGreaterThan(2);
    expect(stateSnapshot(db, state.dir)).toBe(before);
  }, 120_000);

  it('answers the named malformed requests with their codes', async () => {
    const cases: Array<[Parameters<typeof send>[0], number, string]> = [
      [{ method: 'GET', path: '/nope', query: '', body: undefined, contentType: undefined, auth: undefined, caller: '' }, 404, 'TESSERA_ERR_ROUTE_NOT_FOUND'],
      [{ method: 'POST', path: '/v1/models/m/predict', query: '', body: '{"instances": [[1,', contentType: 'application/json', auth: undefined, caller: '' }, 400, 'TESSERA_ERR_MESSAGE_INVALID'],
      [{ method: 'POST', path: '/v1/models/m/predict', query: '', body: deepJson(100_000, 'array'), contentType: 'application/json', auth: undefined, caller: '' }, 400, 'TESSERA_ERR_MESSAGE_INVALID'],
      [{ method: 'POST', path: '/v1/models/m/predict', query: '', body: 'a'.repeat(2 * 1024 * 1024), contentType: 'application/json', auth: undefined, caller: '' }, 413, 'TESSERA_ERR_CONNECTION_LIMIT'],
      [{ method: 'POST', path: '/v1/models/m/predict', query: '', body: 'x=1', contentType: 'application/x-www-form-urlencoded', auth: undefined, caller: '' }, 415, 'TESSERA_ERR_MESSAGE_INVALID'],
    ];
    // The predict route needs its serving credential before its body is even parsed (the last token is `predict`).
    const serving = `Bearer ${tokens[TOKEN_ROLES.indexOf('predict')] ?? ''}`;
    for (const [req, status, code] of cases) {
      const a = await send(req.path.endsWith('/predict') ? { ...req, auth: serving } : req);
      expect(a.status, a.text).toBe(status);
      expect((JSON.parse(a.text) as { error: { code: string } }).error.code).toBe(code);
    }
  });
});
