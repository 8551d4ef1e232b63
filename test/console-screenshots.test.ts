/**
 * The console's browser tests take screenshots on every run but write them into docs/images/console/ (checked in,
 * shown by the README and docs/console.md) only when asked with TESSERA_UPDATE_SCREENSHOTS=1 (test/support/
 * browser.ts). Here a real Chromium page is screenshot through the same helper the console tests use:
 *  - without the variable the PNG lands in a temporary folder, is a whole PNG of the page's width, and no file
 *    under docs/images/ is created or changed (before the fix every run rewrote docs/images/console/*.png);
 *  - the PNG check refuses what it must (a truncated file, another width, not a PNG), so it can fail.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './paths.ts';
import { browserAvailable, checkPng, DOCS_SCREENSHOTS, launch, screenshot, screenshotDir, VIEWPORT, watchedPage } from './support/browser.ts';

const IMAGES = join(REPO_ROOT, 'docs', 'images');

/** Every file under docs/images with its size and modification time. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const s = statSync(p);
        out[relative(dir, p)] = `${s.size}:${s.mtimeMs}`;
      }
    }
  };
  walk(dir);
  return out;
}

const run = browserAvailable() && process.env.TESSERA_UPDATE_SCREENSHOTS !== '1';
let browser: Browser;

describe.runIf(run)('console screenshots', () => {
  beforeAll(async () => {
    browser = await launch();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('are taken and checked in a temporary folder, leaving docs/images untouched, unless TESSERA_UPDATE_SCREENSHOTS=1', async () => {
    const before = snapshot(IMAGES);
    const { page, problems } = await watchedPage(browser);
    // Taller than the viewport: a full-page screenshot keeps the page's width and grows in height.
    await page.setContent(`<body style="margin:0"><main style="height:${VIEWPORT.height + 400}px;margin:0">screenshot probe</main></body>`);
    const path = await screenshot(page, 'overview');
    expect(path.startsWith(DOCS_SCREENSHOTS)).toBe(false);
    expect(path.startsWith(screenshotDir())).toBe(true);
    expect(checkPng(readFileSync(path), { width: VIEWPORT.width, minHeight: VIEWPORT.height })).toEqual({ width: VIEWPORT.width, height: VIEWPORT.height + 400 });
    expect(existsSync(join(DOCS_SCREENSHOTS, 'overview.png'))).toBe(true); // the checked-in one is still there …
    expect(snapshot(IMAGES)).toEqual(before); // … unchanged, and nothing new was written beside it
    expect(problems()).toEqual([]);
  }, 60_000);

  it('refuses a screenshot that is not a whole PNG of the expected size', () => {
    const png = readFileSync(join(DOCS_SCREENSHOTS, 'overview.png'));
    const size = { width: VIEWPORT.width, minHeight: VIEWPORT.height };
    expect(checkPng(png, size).width).toBe(VIEWPORT.width);
    expect(() => checkPng(png.subarray(0, png.length - 12), size)).toThrow(/truncated/);
    expect(() => checkPng(png, { width: 800, minHeight: 1 })).toThrow(/expected 800 wide/);
    expect(() => checkPng(Buffer.from('GIF89a, not a PNG at all, padded to be long enough for the header'), size)).toThrow(/not a PNG/);
  });
});
