/**
 * Defines one vitest suite per page (or part of a page, docs-pages.ts) that runs its ```sh blocks in order in a DocSession
 * (docs-shell.ts). Directives (HTML comment before the fence): `exit=N` (expected exit code, default 0),
 * `timeout=S` (seconds, default 120), `start` with `ready="TEXT"` (background process group; continue once
 * TEXT is printed by any background process), `stop` (kill the background groups before this block),
 * `skip — reason` and `pending — reason` (not run; listed by test/docs-examples.test.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../paths.ts';
import { extractBlocks, where, type FencedBlock } from './docs-markdown.ts';
import { DocSession } from './docs-shell.ts';
import { PAGE_PARTS, partHolds, type PagePart, type PagePartName } from './docs-pages.ts';

export function isShell(b: FencedBlock): boolean {
  return b.lang === 'sh' || b.lang === 'bash';
}

function seconds(b: FencedBlock, key: string, fallback: number): number {
  const v = b.directive.values.get(key);
  return v === undefined ? fallback : Number(v);
}

/** The last lines of a block's output, for the failure message. */
function tail(output: string): string {
  return output.split('\n').slice(-25).join('\n');
}

/** Defines the suites of one entry of PAGE_PARTS (docs-pages.ts). */
export function defineShellTests(name: PagePartName): void {
  const parts: readonly PagePart[] = PAGE_PARTS[name];
  for (const part of parts) {
    const file = part.file;
    const blocks = extractBlocks(file, readFileSync(join(REPO_ROOT, file), 'utf8')).filter((b) => isShell(b) && partHolds(part, b));
    const label = part.sections === undefined ? file : `${file} (${part.sections.join(', ')})`;
    describe(`shell examples in ${label}`, () => {
      let session: DocSession;
      beforeAll(async () => {
        session = await DocSession.open();
      });
      afterAll(() => session.close());
      for (const b of blocks) {
        const firstLine = b.body.split('\n').find((l) => l.trim() !== '' && !l.trim().startsWith('#')) ?? '';
        const name = `${where(b)}: ${firstLine.slice(0, 80)}`;
        if (b.directive.mode !== 'run') {
          it.skip(`${name} [${b.directive.mode}: ${b.directive.reason}]`, () => undefined);
          continue;
        }
        // 120 s unless the block says: a block that runs ~15 s on CI, three times over on a busy 2-core machine.
        const timeoutMs = seconds(b, 'timeout', 120) * 1000;
        it(
          name,
          async () => {
            if (b.directive.flags.has('stop')) session.stopAll();
            if (b.directive.flags.has('start')) {
              const r = await session.start(b, b.directive.values.get('ready'), timeoutMs);
              expect(r.ready, `background block never printed "${b.directive.values.get('ready') ?? ''}" (exit ${String(r.code)}):\n${tail(r.output)}`).toBe(true);
              return;
            }
            const r = await session.run(b, timeoutMs);
            const want = seconds(b, 'exit', 0);
            expect(r.timedOut, `timed out after ${timeoutMs / 1000}s:\n${tail(r.output)}`).toBe(false);
            expect(r.code, `exit code ${String(r.code)}, documented ${want}:\n${tail(r.output)}`).toBe(want);
          },
          timeoutMs + 10_000,
        );
      }
    });
  }
}
