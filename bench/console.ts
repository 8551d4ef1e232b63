/**
 * `npm run bench -- console`: how long the operator console's pages take to load in Chromium on loopback with
 * a job of 100 committed rounds (issue 17 goal: under 1 s), against the same pages with a job of 1 round
 * measured in the same run (the baseline: what 100 rounds add). Each page is loaded once to warm the browser
 * and the script bundle, then `REPEATS` times; a load is navigation → data rendered → every chart drawn.
 * Needs Debian's chromium (TESSERA_CHROMIUM to point elsewhere).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { startCoordinator } from '../coordinator/server.ts';
import { createOperatorToken } from '../governance/identity/operator-tokens.ts';
import { throwawayConsortium } from '../governance/identity/client-roster.ts';
import { openDatabase } from '../governance/state/database.ts';
import { silentLogger } from '../lib/logger.ts';
import { seedRounds } from '../test/support/console-seed.ts';

const PAGES = ['overview', 'privacy', 'data', 'fairness', 'governance'] as const;
const REPEATS = 5;
const GOAL_MS = 1000;

async function loadMs(page: Page, url: string): Promise<number> {
  const before = await page.getAttribute('main', 'data-loaded').catch(() => null);
  const t0 = performance.now();
  await page.goto(url);
  await page.waitForFunction((prev) => {
    const v = document.querySelector('main')?.getAttribute('data-loaded');
    return v !== null && v !== undefined && v !== prev && [...document.querySelectorAll('.chart')].every((c) => c.getAttribute('data-rendered') === 'true');
  }, before);
  return performance.now() - t0;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

export async function benchConsole(): Promise<object> {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bench-console-'));
  const db = openDatabase(dir);
  const browser = await chromium.launch({ executablePath: process.env.TESSERA_CHROMIUM ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  const server = await startCoordinator({ logger: silentLogger(), port: 0, roster: throwawayConsortium((id) => id).roster, stateDir: dir, db });
  try {
    const jobs = { rounds100: seedRounds(db, 100), rounds1: seedRounds(db, 1) };
    const token = createOperatorToken(dir, { name: 'bench', role: 'auditor' }).token;
    const page = await (await browser.newContext()).newPage();
    await page.goto(`${server.url}/console/overview`);
    await page.fill('#token', token);
    await page.click('#sign-in button[type=submit]');
    await page.waitForSelector('main[data-loaded]', { timeout: 60_000 });
    const figures: Record<string, { medianMs: number; maxMs: number; baselineMedianMs: number }> = {};
    for (const name of PAGES) {
      const measure = async (jobId: string): Promise<number[]> => {
        const url = `${server.url}/console/${name}?job=${encodeURIComponent(jobId)}`;
        await loadMs(page, url);
        const times: number[] = [];
        for (let i = 0; i < REPEATS; i++) times.push(await loadMs(page, url));
        return times;
      };
      const base = await measure(jobs.rounds1);
      const full = await measure(jobs.rounds100);
      figures[name] = { medianMs: Math.round(median(full)), maxMs: Math.round(Math.max(...full)), baselineMedianMs: Math.round(median(base)) };
    }
    const worst = Math.max(...Object.values(figures).map((f) => f.medianMs));
    return { goalMs: GOAL_MS, met: worst < GOAL_MS, worstMedianMs: worst, repeats: REPEATS, loadAverage: loadavg().map((x) => Number(x.toFixed(1))), pages: figures };
  } finally {
    await browser.close();
    await server.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
