/**
 * The console's per-organisation views and who may read them (issue 17 §1, §2, §6), against a real coordinator on
 * 127.0.0.1 with a real state file: two organisations' clients connect over real sockets (proving their roster
 * keys) and one leaves; the ledger has charged rounds naming both organisations over two jobs.
 *
 * ATTACK "a viewer sees only counts": the harness holds a viewer token and calls every GET route the served
 * OpenAPI document lets a viewer call (so a route added later is attacked too), and searches every answer for
 * the organisation and client ids. It finds none: `/v1/presence` gives the counts (1 connected, 1 disconnected),
 * `/v1/clients` and `/v1/privacy` answer 403. Control: the operator's `/v1/clients` and the privacy officer's
 * `/v1/privacy` name them all — the search would have found a leak.
 *
 * Also: the operator sees each organisation connected or disconnected with its last-seen time (the leaver's is
 * its disconnect); the privacy officer's per-organisation ε series ends at the ledger's totals and carries the cap.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { startCoordinator, type CoordinatorServer } from '../coordinator/server.ts';
import { PrivacyOverview } from '../coordinator/console/schemas.ts';
import { TOKEN_ROLES, createOperatorToken, type TokenRole } from '../governance/identity/operator-tokens.ts';
import { chargeRound, setJobBudget, setOrgCap } from '../governance/ledger/index.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { ClientsResponse, PresenceCounts } from '../protocol/api.ts';
import { authenticatedTransport, consortium, logger } from './support/federation-fixtures.ts';
import { tempStateDir } from './governance-fixtures.ts';

const state = tempStateDir('tessera-console-org-detail-');
let db: Db;
let server: CoordinatorServer;
const tokens = new Map<TokenRole, string>();
const transports: Array<{ close(): void }> = [];
/** Every organisation and client id in play. */
const NAMES = ['org-stays', 'org-leaves', 'stays-1', 'leaves-1'];

const get = async (path: string, role: TokenRole): Promise<{ status: number; text: string }> => {
  const res = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${tokens.get(role) ?? ''}` } });
  if ((res.headers.get('content-type') ?? '').startsWith('text/event-stream') && res.body !== null) {
    const reader = res.body.getReader();
    const first = await reader.read();
    await reader.cancel();
    return { status: res.status, text: new TextDecoder().decode(first.value) };
  }
  return { status: res.status, text: await res.text() };
};
const found = (texts: readonly string[]): string[] => NAMES.filter((n) => texts.some((t) => t.includes(n)));

async function until(what: string, ok: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let leftAt = 0;

beforeAll(async () => {
  db = openDatabase(state.dir);
  for (const role of TOKEN_ROLES) tokens.set(role, createOperatorToken(state.dir, { name: `${role}-holder`, role }).token);
  // Two jobs charging both organisations (org-stays capped), interleaved as the ledger records them.
  for (const jobId of ['job-x', 'job-y']) setJobBudget(db, { jobId, epsilon: 6, delta: 1e-5, placement: 'distributed', trustedCoordinator: false, accountant: 'rdp', conversion: 'improved' });
  setOrgCap(db, { orgId: 'org-stays', maxEpsilon: 9 });
  const orgs = ['org-leaves', 'org-stays'];
  let t = Date.parse('2026-03-01T00:00:00Z');
  for (const [jobId, round] of [['job-x', 1], ['job-x', 2], ['job-y', 1], ['job-x', 3], ['job-y', 2]] as const) {
    t += 1000;
    db.transaction(() => chargeRound(db, { jobId, round, samplingRate: 0.5, noiseMultiplier: 1.3, clipNorm: 1, eligibleOrgIds: orgs, participants: 2, chargedAt: new Date(t).toISOString() }))();
  }
  server = await startCoordinator({ logger, port: 0, roster: consortium.roster, stateDir: state.dir, db });
}, 60_000);

afterAll(async () => {
  for (const t of transports) t.close();
  await server?.close();
  db?.close();
  state.cleanup();
});

describe('per-organisation detail in the console API', () => {
  it('records connected and disconnected organisations with when each was last seen', async () => {
    const stays = authenticatedTransport(server, 'stays-1', undefined, 'org-stays');
    const leaves = authenticatedTransport(server, 'leaves-1', undefined, 'org-leaves');
    transports.push(stays, leaves);
    await server.federation.waitForClients(2, 15_000);
    const before = Date.now();
    leaves.close();
    await until('the leaver to be dropped', () => server.federation.clients().length === 1);
    leftAt = Date.now();

    const c = ClientsResponse.parse(JSON.parse((await get('/v1/clients', 'operator')).text));
    expect(c.clients.map((x) => x.clientId)).toEqual(['stays-1']);
    expect(c.organisations.map((o) => [o.orgId, o.connected, o.connectedClients])).toEqual([['org-stays', true, 1], ['org-leaves', false, 0]]);
    const seen = Date.parse(c.organisations[1]?.lastSeenAt ?? '');
    expect(seen).toBeGreaterThanOrEqual(before - 5); // its disconnect, not its connect
    expect(seen).toBeLessThanOrEqual(leftAt);
    expect(Date.parse(c.since)).toBeLessThanOrEqual(Date.parse(c.organisations[0]?.lastSeenAt ?? ''));
    expect(PresenceCounts.parse(JSON.parse((await get('/v1/presence', 'viewer')).text))).toMatchObject({ clients: 1, organisations: { connected: 1, disconnected: 1 } });
  });

  it("ATTACK: a viewer reads every route it may call and finds no organisation or client; the operator's and officer's views name them", async () => {
    const doc = z.object({ paths: z.record(z.string(), z.record(z.string(), z.object({ 'x-tessera-roles': z.union([z.literal('public'), z.array(z.string())]) }).loose())) }).parse(JSON.parse((await get('/v1/openapi.json', 'viewer')).text));
    const paths = Object.entries(doc.paths)
      .filter(([p, ops]) => !p.includes('{') && ops.get !== undefined && (ops.get['x-tessera-roles'] === 'public' || ops.get['x-tessera-roles'].includes('viewer')))
      .map(([p]) => p);
    expect(paths).toEqual(expect.arrayContaining(['/v1/presence', '/v1/jobs', '/v1/events', '/v1/whoami', '/v1/health']));
    const texts: string[] = [];
    for (const p of paths) {
      const a = await get(p, 'viewer');
      expect([p, a.status]).toEqual([p, 200]);
      texts.push(a.text);
    }
    expect(found(texts)).toEqual([]);
    for (const p of ['/v1/clients', '/v1/privacy']) expect([p, (await get(p, 'viewer')).status]).toEqual([p, 403]);
    // Control: the same search over the detail roles' views finds every name.
    expect(found([(await get('/v1/clients', 'operator')).text])).toEqual(['org-stays', 'org-leaves', 'stays-1']); // the leaver's client is gone, its organisation remembered
    expect(found([(await get('/v1/privacy', 'privacy-officer')).text])).toEqual(['org-stays', 'org-leaves']);
  });

  it("serves each organisation's cumulative ε over the charged rounds to the privacy roles, ending at the ledger's totals", async () => {
    for (const role of ['privacy-officer', 'auditor', 'operator'] as const) expect([role, (await get('/v1/privacy', role)).status]).toEqual([role, 200]);
    for (const role of ['viewer', 'ml-lead'] as const) expect([role, (await get('/v1/privacy', role)).status]).toEqual([role, 403]);
    const p = PrivacyOverview.parse(JSON.parse((await get('/v1/privacy', 'privacy-officer')).text));
    // Both were charged in the same rounds of the same jobs: one trajectory, sent once, naming both with their caps.
    expect(p.orgSeries.map((s) => [s.organisations.map((o) => `${o.orgId}:${String(o.cap)}`).join(' '), s.points.map((x) => `${x.step}:${x.jobId}/${x.round}`).join(' ')])).toEqual([
      ['org-leaves:null org-stays:9', '1:job-x/1 2:job-x/2 3:job-y/1 4:job-x/3 5:job-y/2'],
    ]);
    for (const s of p.orgSeries.flatMap((g) => g.organisations.map((o) => ({ orgId: o.orgId, points: g.points })))) {
      const total = p.orgs.find((o) => o.orgId === s.orgId);
      expect(s.points.at(-1)?.totalEpsilon).toBeCloseTo(total?.totalEpsilon ?? NaN, 12);
      expect(s.points.at(-1)?.totalDelta).toBeCloseTo(total?.totalDelta ?? NaN, 18);
      // Step 3 starts job-y: the total jumps by job-y's first round on top of job-x's two.
      expect(s.points[2]?.totalEpsilon).toBe((s.points[1]?.jobEpsilon ?? NaN) + (s.points[2]?.jobEpsilon ?? NaN));
    }
  });
});
