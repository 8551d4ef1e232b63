/**
 * The console's Governance page in real Chromium (issue 17 "done when"), and page load with a job of 100 rounds.
 *
 * Governance: a registered model version (the governance fixtures' Heart lineage: ε 2.5, a passing fairness
 * report, contract checks) and a signed approver registry with a privacy officer and a model owner. An ML lead
 * signs in: the page shows the exact evidence an approver signs, no approvals, and the gate pending. Then two
 * real `tessera approve` processes sign and record approvals; the open page — no reload — shows both approvals
 * as valid and the gate satisfied (the change feed sees the audit log move).
 *
 * Load: a state seeded with a 100-round job (test/support/console-seed.ts); an auditor (who may open all five
 * pages) signs in (the first request builds the script bundle, once per coordinator process) and loads each
 * page; the time from navigation to the rendered page with its charts drawn is logged. The
 * goal — under 1 s on loopback — is measured by `npm run bench -- console` (bench/console.ts, with a same-run
 * baseline), as house rules put speed goals in benchmarks; here each load must make exactly its own requests
 * once (no re-render or refetch loop), within a bound no loaded CI machine should reach (10 s). Any browser console error, page error or
 * CSP violation fails the test. Screenshots of each page are checked, and written to docs/images/console/ only with
 * TESSERA_UPDATE_SCREENSHOTS=1 (test/support/browser.ts).
 */
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCoordinator, type CoordinatorServer } from '../coordinator/server.ts';
import { createOperatorToken } from '../governance/identity/operator-tokens.ts';
import { generateKeyFile } from '../governance/identity/key-file.ts';
import { registerModel, type RegisteredModel } from '../governance/registry/registry.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { browserAvailable, launch, rendered, screenshot, signIn, watchedPage } from './support/browser.ts';
import { cli } from './support/cli.ts';
import { seedRounds } from './support/console-seed.ts';
import { consortium, logger } from './support/federation-fixtures.ts';
import { HEART_LOGISTIC, fixtureLineage, fixtureWeights, initTestRegistry, tempStateDir } from './governance-fixtures.ts';

const run = browserAvailable();
const state = tempStateDir('tessera-console-gov-');
let db: Db;
let server: CoordinatorServer;
let browser: Browser;
let model: RegisteredModel;
let seededJob = '';
const keys = { officer: join(state.dir, 'officer.key'), owner: join(state.dir, 'owner.key') };
const tokens = { mlLead: '', auditor: '' };

describe.runIf(run)('the operator console in Chromium: governance and load', () => {
  beforeAll(async () => {
    db = openDatabase(state.dir);
    const officer = generateKeyFile(keys.officer);
    const owner = generateKeyFile(keys.owner);
    initTestRegistry(db, [
      { name: 'Olivia Officer', key: officer, roles: ['privacy-officer'] },
      { name: 'Mo Owner', key: owner, roles: ['model-owner'] },
    ]);
    model = await registerModel(db, state.dir, { modelSpec: HEART_LOGISTIC, weights: fixtureWeights(28, 'console'), lineage: fixtureLineage(), name: 'heart' });
    seededJob = seedRounds(db);
    tokens.mlLead = createOperatorToken(state.dir, { name: 'Lee Lead', role: 'ml-lead' }).token;
    tokens.auditor = createOperatorToken(state.dir, { name: 'Ada Auditor', role: 'auditor' }).token;
    server = await startCoordinator({ logger, port: 0, roster: consortium.roster, stateDir: state.dir, db });
    browser = await launch();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    db?.close();
    state.cleanup();
  });

  it('shows a pending approval, then — after two CLI approvals, without a reload — the gate satisfied', async () => {
    const lead = await watchedPage(browser);
    const { page } = lead;
    await signIn(page, server.url, tokens.mlLead, '/console/governance');
    const card = page.locator(`article.model[data-version="${model.version}"]`);
    expect(await card.locator('.gate').getAttribute('data-gate')).toBe('pending');
    expect(await card.locator('.approvals-none').textContent()).toBe('No approvals yet.');
    const evidence = await card.locator('table.evidence').textContent();
    expect(evidence).toContain('ε 2.5, δ 0.00001, distributed, rdp accountant, unit organisation');
    expect(evidence).toContain(model.lineage.jobSpecHash);
    expect(evidence).toContain(model.lineage.fairness?.reportHash ?? 'missing');
    expect(await card.locator('ul.unmet').textContent()).toMatch(/quorum-unmet \(privacy-officer\)/);
    await screenshot(page, 'governance-pending');
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));

    const approvals = await Promise.all([
      cli('approve', '--state', state.dir, '--model', model.version, '--role', 'privacy-officer', '--key', keys.officer),
      cli('approve', '--state', state.dir, '--model', model.version, '--role', 'model-owner', '--key', keys.owner),
    ]);
    expect(approvals.map((a) => [a.code, a.stderr.includes('recorded') || a.stdout.includes('recorded')])).toEqual([[0, true], [0, true]]);

    await page.waitForSelector(`article.model[data-version="${model.version}"] .gate[data-gate=satisfied]`, { timeout: 90_000 });
    expect(navigations).toEqual([]);
    const rows = await card.locator('table.approvals tbody tr').allTextContents();
    expect(rows).toHaveLength(2);
    expect(rows.join('\n')).toMatch(/Olivia Officer.*privacy-officer.*approve.*production.*valid/);
    expect(rows.join('\n')).toMatch(/Mo Owner.*model-owner.*approve.*production.*valid/);
    await card.locator('details summary').click();
    expect(await card.locator('pre.card').textContent()).toContain('## Privacy guarantee');
    await screenshot(page, 'governance');
    expect(lead.problems()).toEqual([]);
  }, 300_000);

  it('loads every page with a job of 100 rounds (the 1 s goal is benchmarked: npm run bench -- console)', async () => {
    const auditor = await watchedPage(browser);
    const { page } = auditor;
    await signIn(page, server.url, tokens.auditor, `/console/overview?job=${seededJob}`);
    const timings: Record<string, number> = {};
    const requests: Record<string, string[]> = {};
    let current = '';
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith('/v1/')) (requests[current] ??= []).push(path);
    });
    for (const name of ['overview', 'privacy', 'data', 'fairness', 'governance'] as const) {
      const url = `${server.url}/console/${name}?job=${encodeURIComponent(seededJob)}`;
      current = name;
      const t0 = Date.now();
      await rendered(page, () => page.goto(url));
      await page.waitForFunction(() => [...document.querySelectorAll('.chart')].every((c) => c.getAttribute('data-rendered') === 'true'));
      timings[name] = Date.now() - t0;
      if (name === 'overview' || name === 'data' || name === 'fairness') await screenshot(page, name === 'overview' ? 'overview-100-rounds' : name);
    }
    console.log(`console page loads with a 100-round job (ms): ${JSON.stringify(timings)}`);
    // The last page (governance) draws no accuracy chart. A count, not getAttribute: getAttribute waits for the
    // element up to the default timeout, and this test spent 90 s of every run waiting for a chart that is not there.
    expect(await page.locator('[data-chart=accuracy]').count()).toBe(0);
    current = 'after';
    await rendered(page, () => page.goto(`${server.url}/console/overview?job=${encodeURIComponent(seededJob)}`));
    expect(await page.getAttribute('[data-chart=accuracy]', 'data-points')).toBe('100');
    // One render per load: each page asks whoami, opens the feed, and reads its own data once (no refetch loop).
    expect(requests).toEqual({
      overview: ['/v1/whoami', '/v1/events', '/v1/jobs', `/v1/jobs/${seededJob}/series`, '/v1/clients'],
      privacy: ['/v1/whoami', '/v1/events', '/v1/privacy', '/v1/jobs'],
      data: ['/v1/whoami', '/v1/events', '/v1/jobs', `/v1/jobs/${seededJob}/series`],
      fairness: ['/v1/whoami', '/v1/events', '/v1/jobs', `/v1/jobs/${seededJob}/series`],
      governance: ['/v1/whoami', '/v1/events', '/v1/governance'],
      after: ['/v1/whoami', '/v1/events', '/v1/jobs', `/v1/jobs/${seededJob}/series`, '/v1/clients'],
    });
    // A guard against a pathological page, not the speed goal (that is the benchmark): no page takes more than 10 s
    // or, on a machine slow enough that the quickest page takes over 1 s, more than 10× the quickest page of this
    // same run (the load slows every page alike; CI's whole test is about 34 s, ~80 s with both cores busy).
    const quickest = Math.min(...Object.values(timings));
    for (const [name, ms] of Object.entries(timings)) expect(ms, name).toBeLessThan(Math.max(10_000, 10 * quickest));
    expect(auditor.problems()).toEqual([]);
  }, 300_000);
});
