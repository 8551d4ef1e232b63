/**
 * Checks the links between documentation files: every relative link must name a file of the repository
 * (and, with `#anchor`, a heading of that file). Five guides are being written in other branches; links to
 * exactly those are reported as pending rather than broken until they exist.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';

/** Written in other branches (security model, client policy, privacy accounting, access, architecture). */
export const PENDING_DOCS: ReadonlySet<string> = new Set([
  'docs/security-model.md',
  'docs/client-policy.md',
  'docs/privacy-accounting.md',
  'docs/access.md',
  'docs/architecture.md',
]);

export interface LinkProblem {
  readonly file: string;
  readonly line: number;
  readonly target: string;
  readonly problem: string;
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, duplicates numbered. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  let inFence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    const m = inFence ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = (m[1] ?? '')
      .toLowerCase()
      .replace(/<[^>]*>/g, '')
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = counts.get(base) ?? 0;
    counts.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** Relative links of one file that do not resolve; links to pending guides are returned separately. */
export function checkLinks(root: string, file: string): { broken: LinkProblem[]; pending: LinkProblem[] } {
  const text = readFileSync(join(root, file), 'utf8');
  const broken: LinkProblem[] = [];
  const pending: LinkProblem[] = [];
  let inFence = false;
  text.split('\n').forEach((line, i) => {
    if (/^\s*(```|~~~)/.test(line)) inFence = !inFence;
    if (inFence) return;
    for (const m of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const target = m[1] ?? '';
      if (/^[a-z]+:/i.test(target)) continue;
      const [path = '', anchor] = target.split('#');
      const resolved = path === '' ? file : normalize(join(dirname(file), path));
      const at = { file, line: i + 1, target };
      if (PENDING_DOCS.has(resolved) && !existsSync(join(root, resolved))) {
        pending.push({ ...at, problem: 'pending: written in another branch' });
        continue;
      }
      if (!existsSync(join(root, resolved))) {
        broken.push({ ...at, problem: `${resolved} does not exist` });
        continue;
      }
      if (anchor !== undefined && resolved.endsWith('.md') && statSync(join(root, resolved)).isFile()) {
        if (!headingAnchors(readFileSync(join(root, resolved), 'utf8')).has(anchor)) broken.push({ ...at, problem: `${resolved} has no heading #${anchor}` });
      }
    }
  });
  return { broken, pending };
}
