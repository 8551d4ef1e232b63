/**
 * The docs harness itself: directives are parsed as documented (docs/writing-docs.md), broken links are found,
 * addresses are rewritten, a block's exit code is reported, and a background block's whole process group dies
 * when the page ends (no server outlives the test).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { extractBlocks, parseDirective } from './support/docs-markdown.ts';
import { checkLinks } from './support/docs-links.ts';
import { DocSession, rewriteAddresses } from './support/docs-shell.ts';
import { checkJsonExample } from './support/docs-json.ts';

/** Running (not gone, not a zombie waiting for a reaper): the state field of /proc/PID/stat. */
function running(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  const state = readFileSync(stat, 'utf8').split(') ')[1]?.[0];
  return state !== 'Z' && state !== 'X';
}

describe('docs harness', () => {
  it('parses directives: skip and pending need a reason; flags and key="value" pairs', () => {
    expect(parseDirective('skip — needs three machines')).toMatchObject({ mode: 'skip', reason: 'needs three machines' });
    expect(parseDirective('pending - waits for the client policy')).toMatchObject({ mode: 'pending', reason: 'waits for the client policy' });
    expect(() => parseDirective('skip')).toThrow(/needs a reason/);
    const d = parseDirective('start ready="waiting for 3 client(s)" timeout=90');
    expect([...d.flags]).toEqual(['start']);
    expect(d.values.get('ready')).toBe('waiting for 3 client(s)');
    expect(d.values.get('timeout')).toBe('90');
  });

  it('extracts fenced blocks with the directive on the line before them', () => {
    const md = ['# t', '', '<!-- docs-test: exit=1 -->', '```sh', 'false', '```', '', '```json', '{"a": 1}', '```'].join('\n');
    const blocks = extractBlocks('x.md', md);
    expect(blocks.map((b) => [b.lang, b.line, b.body, b.directive.values.get('exit')])).toEqual([
      ['sh', 4, 'false', '1'],
      ['json', 8, '{"a": 1}', undefined],
    ]);
  });

  it('rewrites the documented coordinator address to the harness port on 127.0.0.1', () => {
    expect(rewriteAddresses('--coordinator http://coordinator.example:8740 --port 8740 --host 0.0.0.0; curl http://coordinator:8740/v1', 5555)).toBe(
      '--coordinator http://127.0.0.1:5555 --port 5555 --host 127.0.0.1; curl http://127.0.0.1:5555/v1',
    );
  });

  it('finds a link to a missing file and to a missing heading, and lets the five pending guides through', () => {
    const root = mkdtempSync(join(tmpdir(), 'docs-links-'));
    try {
      mkdirSync(join(root, 'docs'));
      writeFileSync(join(root, 'docs', 'a.md'), '# A\n\n## Real heading\n\n[ok](#real-heading) [bad](#nope) [gone](b.md) [later](security-model.md) `[code](x.md)`\n');
      const r = checkLinks(root, 'docs/a.md');
      expect(r.broken.map((p) => p.target)).toEqual(['#nope', 'b.md']);
      expect(r.pending.map((p) => p.target)).toEqual(['security-model.md']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('recognises a job-spec fragment by its keys and refuses an unknown one', () => {
    expect(checkJsonExample('{"fairness": {"enabled": true, "sensitive": ["sex"], "rules": []}}', new Set())).toMatchObject({ kind: 'job-fragment', check: { ok: false } });
    expect(checkJsonExample('{"organisation": "va", "consents": [], "extra": 1}', new Set())).toMatchObject({ kind: 'consent-file', check: { ok: false } });
    expect(checkJsonExample('{"anything": 1}', new Set())).toMatchObject({ kind: 'json', check: { ok: true } });
    expect(checkJsonExample('{not json', new Set()).check.ok).toBe(false);
  });

  it('reports a block exit code, and kills a background block with its children when the page ends', async () => {
    const session = await DocSession.open();
    try {
      const block = (body: string) => ({ file: 'x.md', line: 1, lang: 'sh', body, section: '', directive: parseDirective('') });
      expect((await session.run(block('echo hi; exit 3'), 10_000)).code).toBe(3);
      const started = await session.start(block('sleep 300 & echo "child $!"; wait'), 'child', 10_000);
      expect(started.ready).toBe(true);
      const pid = Number(/child (\d+)/.exec(started.output)?.[1]);
      expect(running(pid)).toBe(true);
      session.stopAll();
      await new Promise((r) => setTimeout(r, 300));
      expect(running(pid)).toBe(false);
    } finally {
      session.close();
    }
  });
});
