/**
 * Real Chromium for the console's browser tests (issue 17), driven by playwright-core: Debian's `chromium`
 * (installed by .ci/run), headless, no sandbox (containers), no GPU, no background networking. Every page a
 * test opens records the browser's console errors, uncaught page errors and Content-Security-Policy violations;
 * `problems()` returns them and the tests require it to be empty. Screenshots go to docs/images/console/, the
 * folder the README and docs/console.md show.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from '../paths.ts';

export const CHROMIUM = process.env.TESSERA_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = join(REPO_ROOT, 'docs', 'images', 'console');
/** The bound on any wait for the page (a selector, a render, a function): generous, as it ends when the condition holds. */
export const BROWSER_WAIT_MS = 90_000;

/**
 * Whether the browser tests run: always in CI (a missing browser is then a failure, not a skip), elsewhere only
 * when Chromium is installed.
 */
export function browserAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI) throw new Error(`CI is set but there is no Chromium at ${CHROMIUM}: .ci/run installs Debian's chromium package`);
  console.warn(`console browser tests SKIPPED: no Chromium at ${CHROMIUM} (install Debian's chromium, or set TESSERA_CHROMIUM)`);
  return false;
}

export async function launch(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
}

export interface WatchedPage {
  readonly page: Page;
  /** Console errors, page errors and CSP violations seen so far. */
  problems(): string[];
}

export async function watchedPage(browser: Browser): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  // Waits are for a condition, so a long bound costs nothing when the page is quick; playwright's 30 s default is
  // shorter than a render on a 2-core machine whose cores are both busy.
  context.setDefaultTimeout(BROWSER_WAIT_MS);
  const page = await context.newPage();
  const seen: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') seen.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => seen.push(`page error: ${e.message}`));
  // Violations are also reported on the console; this catches any the console would not show.
  await page.exposeFunction('__tesseraCspViolation', (what: string) => seen.push(`CSP violation: ${what}`));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window as unknown as { __tesseraCspViolation: (s: string) => void }).__tesseraCspViolation(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return { page, problems: () => [...seen] };
}

/** Waits for the console's next completed render (main[data-loaded] changes) after `act`. */
export async function rendered(page: Page, act: () => Promise<unknown>, timeoutMs = BROWSER_WAIT_MS): Promise<void> {
  const before = await page.getAttribute('main', 'data-loaded').catch(() => null);
  await act();
  await page.waitForFunction((prev) => {
    const v = document.querySelector('main')?.getAttribute('data-loaded');
    return v !== null && v !== undefined && v !== prev;
  }, before, { timeout: timeoutMs });
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Signs in through the form, as a person would. */
export async function signIn(page: Page, baseUrl: string, token: string, path = '/console/overview'): Promise<void> {
  await page.goto(`${baseUrl}${path}`);
  await page.waitForSelector('#token');
  await rendered(page, async () => {
    await page.fill('#token', token);
    await page.click('#sign-in button[type=submit]');
  }, 30_000);
}
