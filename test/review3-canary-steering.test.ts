/**
 * Review 3 (attack review of canary routing and its rollback criteria): a caller steered its requests onto the
 * canary. This was an `it.fails` OPEN GAP; it is now a claim that holds, for the reason documented in
 * coordinator/serving/canary-split.ts and docs/governance-integrity.md §7.
 *
 * The attack: the route was HMAC(salt, x-tessera-caller) — unpredictable for a given id — but the id is the
 * caller's free choice and every answer names the stage that served it (`stage`, `version`). So a predict token
 * tried ids, one request each, kept one the canary answered, and sent all its traffic under it: 100 % of its
 * requests reached a 10 % canary, and with the criteria judged on the canary's traffic alone one application
 * could fill the canary's sample and decide its verdict.
 *
 * The fix under attack here: the route is keyed first on the authenticated token's id (issued by an admin; the
 * header is only mixed in after it), and a token's canary answers are held to p·n + 3·√(n·p·(1−p)) + 1 of its n
 * requests under this canary — so the search finds a canary id, but the canary still answers only about the
 * token's 10 % share. (That one token cannot decide a verdict either is test/canary-token-evidence-attacks.test.ts.)
 *
 * Over real HTTP on 127.0.0.1 with a real state directory: production plus a 10 % canary. */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApproval } from '../governance/approvals/record.ts';
import { recordApproval } from '../governance/approvals/store.ts';
import { deployModel } from '../governance/deploy/deployments.ts';
import { keyPairFromSeed } from '../governance/identity/ed25519.ts';
import { registerModel } from '../governance/registry/registry.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { canaryQuota } from '../coordinator/serving/canary-split.ts';
import { servingRoutes } from '../coordinator/serving/routes.ts';
import { createOperatorToken } from '../governance/identity/operator-tokens.ts';
import { PredictResponse } from '../protocol/serving.ts';
import { apiTestApp, type ApiTestApp } from './support/api-app.ts';
import { HEART_LOGISTIC, fixtureLineage, fixtureWeights, initTestRegistry, tempStateDir } from './governance-fixtures.ts';

let state: { dir: string; cleanup: () => void };
let db: Db;
let api: ApiTestApp;
let url = '';
const instance = Array.from({ length: 13 }, (_, j) => Math.sin(j));

beforeAll(async () => {
  state = tempStateDir('tessera-review3-canary-');
  db = openDatabase(state.dir);
  const officer = keyPairFromSeed(new Uint8Array(32).fill(71));
  const owner = keyPairFromSeed(new Uint8Array(32).fill(72));
  initTestRegistry(db, [
    { name: 'Officer', key: officer, roles: ['privacy-officer'] },
    { name: 'Owner', key: owner, roles: ['model-owner'] },
  ]);
  const versions: string[] = [];
  for (const seed of ['prod', 'canary']) {
    const m = await registerModel(db, state.dir, { modelSpec: HEART_LOGISTIC, weights: fixtureWeights(28, seed), lineage: fixtureLineage(), name: 'heart' });
    for (const [key, role] of [[officer, 'privacy-officer'], [owner, 'model-owner']] as const) recordApproval(db, createApproval({ model: m, role, decision: 'approve', key, validForMs: 86_400_000 }));
    versions.push(m.version);
  }
  expect(deployModel(db, state.dir, { version: versions[0] ?? '', stage: 'production', actor: 'test' }).ok).toBe(true);
  expect(deployModel(db, state.dir, { version: versions[1] ?? '', stage: 'canary', percent: 10, actor: 'test' }).ok).toBe(true);
  api = await apiTestApp(state.dir);
  await api.app.register(servingRoutes, { stateDir: state.dir, db, predictPerMinute: 1_000_000 });
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(api.app.server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await api.app.close();
  db.close();
  state.cleanup();
});

async function stageFor(caller: string): Promise<string> {
  const res = await fetch(`${url}/v1/models/heart/predict`, { method: 'POST', headers: { ...api.auth('predict'), 'content-type': 'application/json', 'x-tessera-caller': caller }, body: JSON.stringify({ instances: [instance] }) });
  expect(res.status).toBe(200);
  return PredictResponse.parse(await res.json()).stage;
}

describe('review3: one caller cannot steer its traffic onto the canary', () => {
  it('a predict token that searches caller ids still reaches the canary with about its 10 % share (the share quota)', async () => {
    // The search: at most 100 ids, one request each (P(no canary id among 100) = 0.9^100 ≈ 3e-5).
    let chosen: string | undefined;
    let sent = 0;
    let canaryAnswers = 0;
    for (let i = 0; i < 100 && chosen === undefined; i++) {
      sent++;
      if ((await stageFor(`probe-${i}`)) === 'canary') {
        chosen = `probe-${i}`;
        canaryAnswers++;
      }
    }
    expect(chosen).toBeDefined();
    // Then all of its traffic under the chosen id, which routes to the canary by its HMAC draw every time.
    const n = 300;
    let canary = 0;
    for (let i = 0; i < n; i++) if ((await stageFor(chosen ?? '')) === 'canary') canary++;
    sent += n;
    canaryAnswers += canary;
    // Why the attack fails: of a token's requests under this canary, the canary answers at most
    // p·n + 3·√(n·p·(1−p)) + 1 (canary-split.ts); a request over it goes to production. Before: 300 of 300.
    expect(canaryAnswers).toBeLessThanOrEqual(Math.floor(canaryQuota(sent, 0.1)));
    // With at most 100 probes, n ≤ 400 and the quota ≤ 59: under a fifth of the 300, against 100 %.
    expect(canary).toBeLessThan(60);
  }, 60_000);

  it('the header is mixed in after the token: another predict token with the chosen id is routed by its own draw', async () => {
    // A second token, sending every request under one id, gets the canary for the same ≈ 10 % (quota) or none.
    const other = { authorization: `Bearer ${createOperatorToken(state.dir, { name: 'other-app', role: 'predict' }).token}` };
    let canary = 0;
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${url}/v1/models/heart/predict`, { method: 'POST', headers: { ...other, 'content-type': 'application/json', 'x-tessera-caller': 'probe-0' }, body: JSON.stringify({ instances: [instance] }) });
      if (PredictResponse.parse(await res.json()).stage === 'canary') canary++;
    }
    expect(canary).toBeLessThanOrEqual(Math.floor(canaryQuota(100, 0.1)));
  }, 60_000);
});
