/**
 * Writes the generated references under docs/reference/ (job spec fields, error codes). With `--check` it
 * writes nothing and exits 1 when a checked-in file differs from what it would write (test/docs-reference.test.ts
 * runs the same comparison in the test suite).
 *
 *   npx tsx scripts/docs-reference.ts           # regenerate
 *   npx tsx scripts/docs-reference.ts --check   # exit 1 if stale
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderErrorCodesReference } from './reference/error-codes.ts';
import { renderJobSpecReference } from './reference/job-spec.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export function generatedReferences(root = ROOT): Map<string, string> {
  const jobDir = join(root, 'protocol', 'job');
  const sources = readdirSync(jobDir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .sort()
    .map((f) => join(jobDir, f));
  return new Map([
    ['docs/reference/job-spec.md', renderJobSpecReference(sources)],
    ['docs/reference/error-codes.md', renderErrorCodesReference(join(root, 'protocol', 'errors.ts'))],
  ]);
}

/** Files whose checked-in text differs from the generated text. */
export function staleReferences(root = ROOT): string[] {
  return [...generatedReferences(root)].filter(([file, text]) => !existsSync(join(root, file)) || readFileSync(join(root, file), 'utf8') !== text).map(([file]) => file);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const stale = staleReferences();
    for (const f of stale) process.stderr.write(`${f} is stale: run npx tsx scripts/docs-reference.ts\n`);
    process.exitCode = stale.length > 0 ? 1 : 0;
  } else {
    for (const [file, text] of generatedReferences()) {
      writeFileSync(join(ROOT, file), text);
      process.stdout.write(`wrote ${file}\n`);
    }
  }
}
