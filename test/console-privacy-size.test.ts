/**
 * `GET /v1/privacy`'s per-organisation ε series at 100 organisations × 100 charged rounds (a real SQLite ledger,
 * charged with the ledger's own chargeRound; a real coordinator on 127.0.0.1; the Privacy page in real Chromium).
 *
 * Before, `orgSeries` carried one series per organisation: organisations × rounds points, about 1.2 MB here. The
 * 100 organisations sampled alike have the same trajectory, so it is now sent once with the organisations that
 * share it (coordinator/console/privacy-view.ts `groupOrgSeries`); an organisation eligible in every other round
 * has its own. The test checks:
 *  - the whole answer stays under 100 kB (64 kB measured), while the per-organisation form of the same series (the control, what
 *    was sent before) is over 1 MB;
 *  - nothing is lost: expanding the entries gives back orgEpsilonSeries(db) exactly, organisation by organisation;
 *  - the Privacy page draws the same chart from it: one line per organisation (101) with every point, a cap rule
 *    per capped organisation, and no browser error.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrivacyOverview } from '../coordinator/console/schemas.ts';
import { startCoordinator, type CoordinatorServer } from '../coordinator/server.ts';
import { createOperatorToken } from '../governance/identity/operator-tokens.ts';
import { chargeRound, orgEpsilonSeries, setJobBudget, setOrgCap } from '../governance/ledger/index.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { browserAvailable, launch, screenshot, signIn, watchedPage } from './support/browser.ts';
import { consortium, logger } from './support/federation-fixtures.ts';
import { tempStateDir } from './governance-fixtures.ts';

const ORGS = 100;
const ROUNDS = 100;
const LIMIT_BYTES = 100_000;
const state = tempStateDir('tessera-console-privacy-size-');
const alike = Array.from({ length: ORGS }, (_, i) => `org-${String(i).padStart(3, '0')}`);
let db: Db;
let server: CoordinatorServer;
let officer = '';

beforeAll(async () => {
  db = openDatabase(state.dir);
  setJobBudget(db, { jobId: 'job-big', epsilon: 1000, delta: 1e-5, placement: 'distributed', trustedCoordinator: false, accountant: 'rdp', conversion: 'improved' });
  setOrgCap(db, { orgId: 'org-000', maxEpsilon: 500 });
  setOrgCap(db, { orgId: 'org-odd', maxEpsilon: 400 });
  let t = Date.parse('2026-04-01T00:00:00Z');
  for (let round = 1; round <= ROUNDS; round++) {
    t += 1000;
    const eligible = round % 2 === 1 ? [...alike, 'org-odd'] : alike;
    db.transaction(() => chargeRound(db, { jobId: 'job-big', round, samplingRate: 0.5, noiseMultiplier: 1.2, clipNorm: 1, eligibleOrgIds: eligible, participants: Math.floor(eligible.length / 2), chargedAt: new Date(t).toISOString() }))();
  }
  officer = createOperatorToken(state.dir, { name: 'Olivia Officer', role: 'privacy-officer' }).token;
  server = await startCoordinator({ logger, port: 0, roster: consortium.roster, stateDir: state.dir, db });
}, 60_000);

afterAll(async () => {
  await server?.close();
  db?.close();
  state.cleanup();
});

describe('the Privacy route at 100 organisations × 100 rounds', () => {
  it(`answers under ${LIMIT_BYTES / 1000} kB by sending each distinct trajectory once, losing nothing`, async () => {
    const res = await fetch(`${server.url}/v1/privacy`, { headers: { authorization: `Bearer ${officer}` } });
    const text = await res.text();
    expect(res.status, text.slice(0, 300)).toBe(200);
    const bytes = Buffer.byteLength(text);
    const p = PrivacyOverview.parse(JSON.parse(text));
    const perOrg = orgEpsilonSeries(db);
    const before = Buffer.byteLength(JSON.stringify(perOrg)); // the series as the route sent them before: one per organisation
    console.log(`/v1/privacy at ${ORGS + 1} organisations × ${ROUNDS} rounds: ${bytes} bytes (the per-organisation series alone: ${before} bytes)`);
    expect(before).toBeGreaterThan(1_000_000);
    expect(bytes).toBeLessThan(LIMIT_BYTES);

    expect(p.orgSeries.map((g) => [g.organisations.length, g.points.length])).toEqual([[ORGS, ROUNDS], [1, ROUNDS / 2]]);
    expect(p.orgSeries[1]?.organisations).toEqual([{ orgId: 'org-odd', cap: 400 }]);
    expect(p.orgSeries[0]?.organisations.slice(0, 2)).toEqual([{ orgId: 'org-000', cap: 500 }, { orgId: 'org-001', cap: null }]);
    const expanded = p.orgSeries.flatMap((g) => g.organisations.map((o) => ({ orgId: o.orgId, cap: o.cap, points: g.points }))).sort((a, b) => (a.orgId < b.orgId ? -1 : 1));
    expect(expanded).toEqual(perOrg);
  });

  it.runIf(browserAvailable())('the Privacy page still draws one line per organisation with every point', async () => {
    let browser: Browser | undefined;
    try {
      browser = await launch();
      const { page, problems } = await watchedPage(browser);
      await signIn(page, server.url, officer, '/console/privacy');
      await page.waitForSelector('[data-chart=org-epsilon-rounds][data-rendered=true]', { timeout: 30_000 });
      expect(await page.getAttribute('[data-chart=org-epsilon-rounds]', 'data-points')).toBe(String(ORGS * ROUNDS + ROUNDS / 2));
      expect(await page.locator('[data-chart=org-epsilon-rounds] g.mark-line.role-mark path').count()).toBe(ORGS + 1);
      expect(await page.locator('[data-chart=org-epsilon-rounds] g.mark-rule.role-mark line').count()).toBe(2);
      await screenshot(page, 'privacy-100-organisations');
      expect(problems()).toEqual([]);
    } finally {
      await browser?.close();
    }
  }, 60_000);
});
