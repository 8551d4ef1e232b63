/**
 * Attack test for the reviewer role (issue 20 §5), against a real coordinator on 127.0.0.1 with a real state
 * directory. Claims: (1) no role but `reviewer` can read the review queue or decide a held prediction — in
 * particular the application whose prediction was held (predict) cannot approve its own prediction, and an
 * operator or ml-lead cannot rewrite a decision; (2) a reviewer token reaches no other route of the coordinator
 * (enumerated from the served OpenAPI document, so a route added later is covered); (3) every refused attempt
 * leaves the held prediction pending and the audit log without a decision. The attacks fail with 403
 * TESSERA_ERR_FORBIDDEN from the route guard (coordinator/api/access.ts), which runs before the body is read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startCoordinator, type CoordinatorServer } from '../coordinator/server.ts';
import { enqueueHeld } from '../coordinator/serving/review/store.ts';
import { readAuditEntries } from '../governance/audit/log.ts';
import { TOKEN_ROLES, createOperatorToken, type TokenRole } from '../governance/identity/operator-tokens.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { tempStateDir } from './governance-fixtures.ts';
import { HEART_ROW, deployHeartModel } from './support/deployed-model.ts';
import { consortium, logger } from './support/federation-fixtures.ts';

const state = tempStateDir('tessera-review-attack-');
let db: Db;
let server: CoordinatorServer;
const tokens = new Map<TokenRole, { token: string; id: string }>();
const HELD = 'held-attack-0123456789abcdef';

beforeAll(async () => {
  db = openDatabase(state.dir);
  await deployHeartModel(db, state.dir);
  for (const role of TOKEN_ROLES) {
    const t = createOperatorToken(state.dir, { name: `${role}-holder`, role });
    tokens.set(role, { token: t.token, id: t.record.id });
  }
  enqueueHeld(db, [{ predictionId: HELD, callerToken: tokens.get('predict')?.id ?? '', model: 'heart', version: 'v', stage: 'production', instance: [...HEART_ROW], explanation: null, probabilities: [0.52, 0.48], modelClass: 0, confidence: 0.52, reasons: ['low-confidence'], at: new Date() }]);
  server = await startCoordinator({ logger, port: 0, roster: consortium.roster, stateDir: state.dir, db, rateLimits: { tokenFailuresPerMinute: 10_000 } });
}, 60_000);

afterAll(async () => {
  await server.close();
  db.close();
  state.cleanup();
});

async function call(method: string, path: string, role: TokenRole, body?: unknown): Promise<{ status: number; code: string | undefined }> {
  const headers: Record<string, string> = { authorization: `Bearer ${tokens.get(role)?.token ?? ''}` };
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${server.url}${path}`, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const json = (await res.json()) as { error?: { code?: string } };
  return { status: res.status, code: json.error?.code };
}

const stillPending = (): boolean => (db.prepare('SELECT status FROM review_queue WHERE prediction_id = ?').get(HELD) as { status: string }).status === 'pending';

describe('the reviewer role cannot be borrowed, and lends nothing', () => {
  it('every other role — the predicting application included — is refused the queue and the decision, and nothing is recorded', async () => {
    for (const role of TOKEN_ROLES.filter((r) => r !== 'reviewer')) {
      expect([role, await call('GET', '/v1/review/queue', role)]).toEqual([role, { status: 403, code: 'TESSERA_ERR_FORBIDDEN' }]);
      for (const body of [{ decision: 'confirm' }, { decision: 'override', class: 1 }]) {
        expect([role, await call('POST', `/v1/review/${HELD}/decision`, role, body)]).toEqual([role, { status: 403, code: 'TESSERA_ERR_FORBIDDEN' }]);
      }
    }
    expect(stillPending()).toBe(true);
    expect(readAuditEntries(db, { action: 'review.decided' })).toEqual([]);
  });

  it('a reviewer token is refused by every route of the coordinator that is not a review route (from the OpenAPI document)', async () => {
    const doc = z.object({ paths: z.record(z.string(), z.record(z.string(), z.object({ 'x-tessera-roles': z.union([z.literal('public'), z.array(z.string())]) }).loose())) }).parse(await (await fetch(`${server.url}/v1/openapi.json`)).json());
    const others = Object.entries(doc.paths).flatMap(([path, ops]) => Object.entries(ops).map(([method, op]) => ({ method: method.toUpperCase(), path, roles: op['x-tessera-roles'] }))).filter((o) => o.roles !== 'public' && !o.roles.includes('reviewer'));
    expect(others.length).toBeGreaterThanOrEqual(10);
    for (const o of others) {
      const concrete = o.path.replace('{name}', 'heart').replace('{id}', HELD);
      const body = o.method === 'POST' ? (concrete.endsWith('/predict') ? { instances: [HEART_ROW] } : {}) : undefined;
      expect([o.method, o.path, await call(o.method, concrete, 'reviewer', body)]).toEqual([o.method, o.path, { status: 403, code: 'TESSERA_ERR_FORBIDDEN' }]);
    }
    // In particular the reviewer cannot score instances (no oracle for probing the model) nor poll as the caller.
    expect((await call('POST', '/v1/models/heart/predict', 'reviewer', { instances: [HEART_ROW] })).status).toBe(403);
    expect(stillPending()).toBe(true);
  });

  it('the reviewer alone decides, once', async () => {
    expect((await call('POST', `/v1/review/${HELD}/decision`, 'reviewer', { decision: 'override', class: 1 })).status).toBe(200);
    expect(await call('POST', `/v1/review/${HELD}/decision`, 'reviewer', { decision: 'confirm' })).toEqual({ status: 409, code: 'TESSERA_ERR_REVIEW_DECIDED' });
    expect(readAuditEntries(db, { action: 'review.decided' }).map((e) => e.actor)).toEqual([`reviewer:${tokens.get('reviewer')?.id ?? ''}`]);
  });
});
