/**
 * Real Chromium for the console's browser tests (issue 17), driven by playwright-core: Debian's `chromium`
 * (installed by .ci/run), headless, no sandbox (containers), no GPU, no background networking. Every page a
 * test opens records the browser's console errors, uncaught page errors and Content-Security-Policy violations;
 * `problems()` returns them and the tests require it to be empty.
 *
 * Screenshots: every run takes them and checks each is a whole PNG of the page's width (`checkPng`), but writes
 * them into docs/images/console/ — the folder the README and docs/console.md show, under version control — only
 * with TESSERA_UPDATE_SCREENSHOTS=1; otherwise into a temporary folder of this process, so a local test run leaves
 * the checkout unmodified.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { REPO_ROOT } from '../paths.ts';

export const CHROMIUM = process.env.TESSERA_CHROMIUM ?? '/usr/bin/chromium';
/** The checked-in screenshots (written only with TESSERA_UPDATE_SCREENSHOTS=1). */
export const DOCS_SCREENSHOTS = join(REPO_ROOT, 'docs', 'images', 'console');
/** The page size every test page gets (watchedPage); a full-page screenshot is this wide and at least this tall. */
export const VIEWPORT = { width: 1280, height: 900 } as const;

let scratch: string | undefined;
/** Where `screenshot` writes in this run: the docs folder when asked to update it, else a temporary folder. */
export function screenshotDir(): string {
  if (process.env.TESSERA_UPDATE_SCREENSHOTS === '1') return DOCS_SCREENSHOTS;
  if (scratch === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-screenshots-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    scratch = dir;
  }
  return scratch;
}
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
  const context = await browser.newContext({ viewport: { ...VIEWPORT } });
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
  // The value now, without waiting (getAttribute would wait up to the default timeout for a page with no <main>).
  const before = await page.evaluate(() => document.querySelector('main')?.getAttribute('data-loaded') ?? null);
  await act();
  await page.waitForFunction((prev) => {
    const v = document.querySelector('main')?.getAttribute('data-loaded');
    return v !== null && v !== undefined && v !== prev;
  }, before, { timeout: timeoutMs });
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Checks that `bytes` is a PNG of the expected width and at least the expected height, ending in its IEND chunk
 * (PNG spec, ISO/IEC 15948 §5.2 signature, §11.2.2 IHDR first with width and height as big-endian uint32, §11.2.5
 * IEND last), and returns its size. Throws naming what is wrong.
 */
export function checkPng(bytes: Uint8Array, expect: { width: number; minHeight: number }): { width: number; height: number } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < 8 + 25 + 12 || !b.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error(`not a PNG (${b.length} bytes)`);
  if (b.toString('latin1', 12, 16) !== 'IHDR') throw new Error('the PNG does not start with its IHDR chunk');
  const width = b.readUInt32BE(16);
  const height = b.readUInt32BE(20);
  if (b.toString('latin1', b.length - 8, b.length - 4) !== 'IEND') throw new Error('the PNG is truncated: it does not end with IEND');
  if (width !== expect.width || height < expect.minHeight) throw new Error(`the PNG is ${width}×${height}; expected ${expect.width} wide and at least ${expect.minHeight} tall`);
  return { width, height };
}

/** Takes a full-page screenshot, checks it (checkPng) and writes it as NAME.png into screenshotDir(); returns the path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = screenshotDir();
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  checkPng(readFileSync(path), { width: VIEWPORT.width, minHeight: VIEWPORT.height });
  return path;
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
