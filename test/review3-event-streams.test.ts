/**
 * Review 3 (attack review of the operator console, issue 17), finding: one viewer token could hold any number of
 * change-feed streams open.
 *
 * `GET /v1/events` answers every operator role, the lowest (viewer) included, with a server-sent event stream that
 * stays open until the reader closes it. The coordinator's connection caps (docs/access.md "Limits before trust":
 * 64 per address, 1024 in total) guard only the clients' websocket transport, and the API's rate limits count
 * requests, not open responses: a leaked viewer token could open thousands of streams, each a socket, a heartbeat
 * timer's write and a listener the twice-a-second poll serves, and nothing refused it.
 *
 * The attack (a real coordinator with a state directory on 127.0.0.1, real HTTP): a viewer token opens streams
 * until refused. It now fails because the feed caps open streams per token (MAX_STREAMS_PER_TOKEN = 8) and in
 * total: the ninth is 429 TESSERA_ERR_CONNECTION_LIMIT and opens nothing. Controls: another token still opens
 * one, and closing a stream frees its place.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_STREAMS_PER_TOKEN } from '../coordinator/console/events.ts';
import { startCoordinator, type CoordinatorServer } from '../coordinator/server.ts';
import { createOperatorToken } from '../governance/identity/operator-tokens.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { consortium, logger } from './support/federation-fixtures.ts';
import { tempStateDir } from './governance-fixtures.ts';

const state = tempStateDir('tessera-review3-events-');
let db: Db;
let server: CoordinatorServer;
let viewer = '';
let operator = '';
const open: Array<ReadableStreamDefaultReader<Uint8Array>> = [];

beforeAll(async () => {
  db = openDatabase(state.dir);
  viewer = createOperatorToken(state.dir, { name: 'leaked-viewer', role: 'viewer' }).token;
  operator = createOperatorToken(state.dir, { name: 'operator', role: 'operator' }).token;
  server = await startCoordinator({ logger, port: 0, roster: consortium.roster, stateDir: state.dir, db });
}, 60_000);

afterAll(async () => {
  for (const r of open) await r.cancel().catch(() => undefined);
  await server?.close();
  db?.close();
  state.cleanup();
});

/** Opens a stream and reads its first event (so it is counted); returns the reader, or the refusal. */
async function stream(token: string): Promise<{ status: number; reader?: ReadableStreamDefaultReader<Uint8Array>; body?: unknown }> {
  const res = await fetch(`${server.url}/v1/events`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200 || res.body === null) return { status: res.status, body: await res.json() };
  const reader = res.body.getReader();
  const first = await reader.read();
  expect(new TextDecoder().decode(first.value)).toContain('event: change');
  open.push(reader);
  return { status: 200, reader };
}

describe('review3: the change feed caps open streams', () => {
  it('refuses a viewer token past its open streams, and frees a place when one closes', async () => {
    for (let i = 0; i < MAX_STREAMS_PER_TOKEN; i++) expect((await stream(viewer)).status).toBe(200);
    const refused = await stream(viewer);
    expect(refused.status).toBe(429);
    expect(refused.body).toMatchObject({ error: { code: 'TESSERA_ERR_CONNECTION_LIMIT' } });
    // Another token is not locked out by this one.
    expect((await stream(operator)).status).toBe(200);
    // Closing one of the viewer's streams frees its place (the server sees the close).
    await open[0]?.cancel();
    let again = await stream(viewer);
    for (let i = 0; again.status !== 200 && i < 50; i++) {
      await new Promise((r) => setTimeout(r, 50));
      again = await stream(viewer);
    }
    expect(again.status).toBe(200);
  }, 60_000);
});
