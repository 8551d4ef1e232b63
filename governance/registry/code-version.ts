/** The code that produced a model: package.json version plus the git commit when the tree is a checkout. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

let cached: { version: string; gitCommit: string | null } | undefined;

export function codeVersion(): { version: string; gitCommit: string | null } {
  if (cached) return cached;
  let version = 'unknown';
  try {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version?: unknown };
    if (typeof pkg.version === 'string') version = pkg.version;
  } catch {
    // An installed copy without package.json beside it: the version stays 'unknown'.
  }
  let gitCommit: string | null = null;
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (/^[0-9a-f]{40}$/.test(out)) gitCommit = out;
  } catch {
    // Not a git checkout, or git absent.
  }
  cached = { version, gitCommit };
  return cached;
}
