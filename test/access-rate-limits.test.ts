/**
 * Rate limits (issue 12 item 4) as attacks over real sockets on 127.0.0.1, one coordinator per attack with small
 * limits:
 *  - a scorer floods predict: past the limit it gets 429 TESSERA_ERR_RATE_LIMITED with retry-after;
 *  - a token guesser: past the failure limit EVERY request from its address is 429 — a correct token too, so a
 *    blocked guesser cannot tell a hit from a miss;
 *  - an impostor tries keys in the socket handshake: past the failure limit its address is refused at the
 *    websocket upgrade, the right key included, counted under TESSERA_ERR_RATE_LIMITED.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startCoordinator, type CoordinatorServer } from '../coordinator/server.ts';
import type { RateLimits } from '../coordinator/api/rate-limits.ts';
import { keyPairFromSeed } from '../governance/identity/ed25519.ts';
import { createOperatorToken } from '../governance/identity/operator-tokens.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { tempStateDir } from './governance-fixtures.ts';
import { HEART_ROW, deployHeartModel } from './support/deployed-model.ts';
import { consortium, logger } from './support/federation-fixtures.ts';
import { parsePrometheus, sampleValue } from './support/prometheus.ts';
import { rawClient } from './support/raw-socket-client.ts';

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of open.splice(0)) await close();
});

async function coordinator(rateLimits: RateLimits, deploy = false): Promise<{ server: CoordinatorServer; dir: string; db: Db }> {
  const state = tempStateDir('tessera-rate-');
  const db = openDatabase(state.dir);
  if (deploy) await deployHeartModel(db, state.dir);
  const server = await startCoordinator({ logger, port: 0, roster: consortium.roster, stateDir: state.dir, db, rateLimits });
  open.push(async () => {
    await server.close();
    db.close();
    state.cleanup();
  });
  return { server, dir: state.dir, db };
}

const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });

describe('rate limits', () => {
  it('predict: past the per-address limit a caller gets 429 TESSERA_ERR_RATE_LIMITED with retry-after', async () => {
    const { server, dir } = await coordinator({ predictPerMinute: 5 }, true);
    const token = createOperatorToken(dir, { name: 'scorer', role: 'predict' }).token;
    const predict = (): Promise<Response> =>
      fetch(`${server.url}/v1/models/heart/predict`, { method: 'POST', headers: { ...bearer(token), 'content-type': 'application/json' }, body: JSON.stringify({ instances: [HEART_ROW] }) });
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await predict()).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const over = await predict();
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(await over.json()).toMatchObject({ error: { code: 'TESSERA_ERR_RATE_LIMITED' } });
    const families = parsePrometheus(await (await fetch(`${server.url}/v1/metrics`, { headers: bearer(createOperatorToken(dir, { name: 'v', role: 'viewer' }).token) })).text());
    expect(sampleValue(families, 'tessera_predictions_total', { model: 'heart', stage: 'production' })).toBe(5);
  }, 60_000);

  it('a token guesser is blocked after the failure limit, and a blocked address gets 429 even with a valid token', async () => {
    const { server, dir } = await coordinator({ tokenFailuresPerMinute: 3 });
    const valid = createOperatorToken(dir, { name: 'ops', role: 'operator' }).token;
    const jobs = (t: string): Promise<Response> => fetch(`${server.url}/v1/jobs`, { headers: bearer(t) });
    expect((await jobs(valid)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await jobs(`tsk_guess-${i}`)).status).toBe(401);
    const blocked = await jobs('tsk_guess-3');
    expect(blocked.status).toBe(429);
    expect(await blocked.json()).toMatchObject({ error: { code: 'TESSERA_ERR_RATE_LIMITED' } });
    // The attack: had the guess been right, would the answer differ? It must not.
    const hit = await jobs(valid);
    expect(hit.status).toBe(429);
    expect(Number(hit.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('an impostor trying keys in the socket handshake is refused at the upgrade after the failure limit, the right key too', async () => {
    const { server, dir } = await coordinator({ handshakeFailuresPerMinute: 2 });
    const wrong = keyPairFromSeed(new Uint8Array(32).fill(7));
    const right = consortium.identityOf('victim', 'org-victim');
    /** One connection that proves `key`: the verdict, or `upgrade refused` when no socket.io connection opens. */
    const attempt = async (key: typeof wrong): Promise<string> => {
      const c = rawClient(server.url, 'victim', { orgId: 'org-victim' });
      try {
        const opened = await new Promise<boolean>((resolve) => {
          c.socket.once('connect_error', () => resolve(false));
          c.socket.once('connect', () => resolve(true));
        });
        if (!opened) return 'upgrade refused';
        c.sendProof(await c.proofFor(key));
        const v = await c.verdict();
        return v.type === 'accepted' ? 'accepted' : v.code;
      } finally {
        c.close();
      }
    };
    expect(await attempt(wrong)).toBe('TESSERA_ERR_AUTH_FAILED');
    expect(await attempt(wrong)).toBe('TESSERA_ERR_AUTH_FAILED');
    // The third attempt — with the roster key — never gets a challenge: the upgrade is refused.
    expect(await attempt(right)).toBe('upgrade refused');
    const families = parsePrometheus(await (await fetch(`${server.url}/v1/metrics`, { headers: bearer(createOperatorToken(dir, { name: 'v', role: 'viewer' }).token) })).text());
    expect(sampleValue(families, 'tessera_connections_refused_total', { code: 'TESSERA_ERR_AUTH_FAILED' })).toBe(2);
    expect(sampleValue(families, 'tessera_connections_refused_total', { code: 'TESSERA_ERR_RATE_LIMITED' })).toBeGreaterThanOrEqual(1);
  }, 60_000);
});
