/**
 * Reads the project's Markdown (README.md and docs/**) into fenced blocks with the `docs-test` directive
 * written in an HTML comment on the line(s) before each fence. The directive grammar is documented in
 * docs/contributing-docs.md; this file only parses it.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export interface Directive {
  /** skip / pending: not run, listed with their reason. */
  readonly mode: 'run' | 'skip' | 'pending';
  readonly reason: string;
  /** Flags such as `job-spec`, `job-fragment`, `deployment-policy`, `start`, `stop`. */
  readonly flags: ReadonlySet<string>;
  /** key="value" pairs such as `exit=1`, `ready="serving on"`, `timeout=90`. */
  readonly values: ReadonlyMap<string, string>;
}

export interface FencedBlock {
  /** Path relative to the repository root. */
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly lang: string;
  /** The `## ` heading the block sits under ('' before the first one). */
  readonly section: string;
  readonly body: string;
  readonly directive: Directive;
}

const NO_DIRECTIVE: Directive = { mode: 'run', reason: '', flags: new Set(), values: new Map() };

/** README.md and every Markdown file under docs/, in a stable order. */
export function docsFiles(root: string): string[] {
  const out = ['README.md'];
  const walk = (dir: string): void => {
    for (const name of readdirSync(join(root, dir)).sort()) {
      const rel = join(dir, name);
      if (statSync(join(root, rel)).isDirectory()) walk(rel);
      else if (name.endsWith('.md')) out.push(rel);
    }
  };
  walk('docs');
  return out;
}

/** Parses `skip — reason`, `pending — reason`, and space-separated flags and key="value" pairs. */
export function parseDirective(text: string): Directive {
  const t = text.trim();
  const m = /^(skip|pending)\s*(?:—|–|-|:)?\s*(.*)$/s.exec(t);
  if (m) {
    const reason = (m[2] ?? '').trim();
    if (reason === '') throw new Error(`a docs-test ${m[1]} directive needs a reason: "${t}"`);
    return { mode: m[1] === 'skip' ? 'skip' : 'pending', reason, flags: new Set(), values: new Map() };
  }
  const flags = new Set<string>();
  const values = new Map<string, string>();
  for (const tok of t.matchAll(/([a-z-]+)(?:=(?:"([^"]*)"|(\S+)))?/g)) {
    const key = tok[1] ?? '';
    const value = tok[2] ?? tok[3];
    if (value === undefined) flags.add(key);
    else values.set(key, value);
  }
  return { mode: 'run', reason: '', flags, values };
}

const DIRECTIVE = /^\s*<!--\s*docs-test:\s*(.*?)\s*-->\s*$/;
const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/;

/** Every fenced block of one Markdown text, with the directive on the non-blank line just above it. */
export function extractBlocks(file: string, text: string): FencedBlock[] {
  const lines = text.split('\n');
  const blocks: FencedBlock[] = [];
  let section = '';
  for (let i = 0; i < lines.length; i++) {
    const h2 = /^## (.*)$/.exec(lines[i] ?? '');
    if (h2) section = (h2[1] ?? '').trim();
    const open = FENCE.exec(lines[i] ?? '');
    if (!open) continue;
    const indent = open[1] ?? '';
    const fence = open[2] ?? '```';
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = lines[j] ?? '';
      if (l.trim().startsWith(fence) && l.trim().replace(/[`~]/g, '') === '') break;
      body.push(l.startsWith(indent) ? l.slice(indent.length) : l);
    }
    let k = i - 1;
    while (k >= 0 && (lines[k] ?? '').trim() === '') k--;
    const d = DIRECTIVE.exec(lines[k] ?? '');
    blocks.push({ file, line: i + 1, lang: (open[3] ?? '').toLowerCase(), section, body: body.join('\n'), directive: d ? parseDirective(d[1] ?? '') : NO_DIRECTIVE });
    i = j;
  }
  return blocks;
}

export function readBlocks(root: string): FencedBlock[] {
  return docsFiles(root).flatMap((f) => extractBlocks(f, readFileSync(join(root, f), 'utf8')));
}

export function where(b: FencedBlock): string {
  return `${b.file}:${b.line}`;
}
