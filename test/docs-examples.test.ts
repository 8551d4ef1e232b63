/**
 * The documentation's static examples: every ```json block (and JSON heredoc) parses and, when it is a job
 * spec, a fragment of one, a consent file or a deployment policy, passes its schema in STRICT mode; links
 * between pages resolve; every skipped or pending block says why (listed here). The shell blocks run in
 * test/docs-shell-*.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './paths.ts';
import { docsFiles, readBlocks, where } from './support/docs-markdown.ts';
import { checkJsonExample, jsonExamples } from './support/docs-json.ts';
import { checkLinks } from './support/docs-links.ts';
import { checkJobFragment } from './support/docs-strict-schema.ts';
import { PAGE_PARTS, partHolds } from './support/docs-pages.ts';
import { isShell } from './support/docs-runner.ts';

const blocks = readBlocks(REPO_ROOT);

describe('JSON examples in the docs', () => {
  for (const ex of jsonExamples(blocks)) {
    it(`${ex.where} is valid`, () => {
      const { kind, check } = checkJsonExample(ex.text, ex.directive.flags);
      expect(check.ok ? [] : check.problems, `${ex.where} (${kind})`).toEqual([]);
    });
  }

  it('strict mode refuses the key the README once used for a fairness policy (fairness.rules)', () => {
    const r = checkJobFragment({ fairness: { enabled: true, sensitive: ['sex'], rules: [{ metric: 'accuracyGap', attribute: 'sex', max: 0.1 }] } });
    expect(r.ok ? [] : r.problems).toEqual(['fairness: Unrecognized key: "rules"']);
  });

  it('a DP job whose secure aggregation weights by examples is refused, as the coordinator refuses it (the README once had one)', () => {
    const r = checkJobFragment({ dp: { enabled: true, epsilon: 5, noiseMultiplier: 1 }, secagg: { enabled: true, weighting: 'examples' } });
    expect(r.ok ? [] : r.problems).toEqual([expect.stringMatching(/^TESSERA_ERR_DP_CONFIG: with DP on, secure aggregation must use secagg.weighting = "uniform"/)]);
  });

  it('strict mode keeps the schema refinements (a DP job needs a budget)', () => {
    const r = checkJobFragment({ dp: { enabled: true, noiseMultiplier: 1 } });
    expect(r.ok).toBe(false);
  });
});

describe('links between the docs', () => {
  const files = docsFiles(REPO_ROOT);
  it.each(files)('%s links only to files and headings that exist', (file) => {
    const { broken, pending } = checkLinks(REPO_ROOT, file);
    expect(broken.map((p) => `${p.file}:${p.line} ${p.target}: ${p.problem}`)).toEqual([]);
    if (pending.length > 0) console.info(`${file}: ${pending.length} link(s) to guides written in other branches: ${[...new Set(pending.map((p) => p.target))].join(', ')}`);
  });
});

describe('shell examples', () => {
  it('every shell block of every page is run by exactly one docs-shell-*.test.ts part', () => {
    const parts = Object.values(PAGE_PARTS).flat();
    const wrong = blocks.filter(isShell).filter((b) => parts.filter((p) => partHolds(p, b)).length !== 1);
    expect(wrong.map((b) => `${where(b)} (section "${b.section}")`)).toEqual([]);
  });
});

describe('the front door', () => {
  it('README.md stays at most ~300 lines (detail goes to docs/)', () => {
    expect(readFileSync(join(REPO_ROOT, 'README.md'), 'utf8').split('\n').length).toBeLessThanOrEqual(300);
  });

  it('lists every skipped and pending block with its reason', () => {
    const skipped = blocks.filter((b) => b.directive.mode === 'skip');
    const pending = blocks.filter((b) => b.directive.mode === 'pending');
    for (const b of [...skipped, ...pending]) expect(b.directive.reason.length, where(b)).toBeGreaterThan(10);
    console.info(`skipped blocks (${skipped.length}):\n${skipped.map((b) => `  ${where(b)}: ${b.directive.reason}`).join('\n')}`);
    console.info(`pending blocks (${pending.length}):\n${pending.map((b) => `  ${where(b)}: ${b.directive.reason}`).join('\n') || '  none'}`);
    // Skips are the exception: a page whose examples cannot run is a page nobody checks. The ninth is
    // docs/access.md's deployment on three machines (a coordinator on --host 0.0.0.0 with the consortium's
    // certificates, each organisation's client on its own host): it cannot run on one machine as written, and
    // the single-machine federation right above it runs every other flag it uses (mutual TLS, roster, identity,
    // client state) on loopback, so raising the limit from 8 to 9 leaves no flag unchecked.
    expect(skipped.length).toBeLessThanOrEqual(9);
  });
});
