/**
 * `npm run bench -- sweep` (issue 18 §1, §4): the privacy–utility study of docs/researcher.md (its grid, read from
 * the page, so the bench runs what the guide documents: ε ∈ {0.5, 1, 2, 4, 8, ∞} × 3 seeds on Adult, 18 runs)
 * as `tessera sweep` whole processes, one run after another (`--parallel 1`) and one run per core
 * (`--parallel N`, N = the cores). Prints
 *   {"grid", "runs", "sequentialMs", "parallelMs", "speedup", "identicalResults", "ceiling", "cpu", "load"}
 * on stdout. `identicalResults`: every run's figures (done.json without its wall time) and the summary table are
 * the same in both. `ceiling` and `cpu` as in bench/simulate.ts (bench/cli-runs.ts).
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildCli, freshBuild } from '../bin/compiled-cli.mjs';
import { ceiling, cpuText, cpuTimedCli, load1, note, ROOT, round } from './cli-runs.ts';

/** The grid of the guide's privacy–utility study: the JSON of its `cat > privacy-utility.json` block. */
function documentedGrid(): string {
  const page = readFileSync(join(ROOT, 'docs', 'researcher.md'), 'utf8');
  const m = /cat > privacy-utility\.json <<'JSON'\n([\s\S]*?)\nJSON\n/.exec(page);
  if (!m?.[1]) throw new Error('docs/researcher.md no longer holds the privacy–utility grid (a `cat > privacy-utility.json` block)');
  return m[1];
}

/** Every run's done.json without its wall time, by path under the sweep's directory, and the summary table. */
function results(out: string): string {
  const runs: Record<string, unknown> = {};
  const cells = join(out, 'cells');
  for (const cell of readdirSync(cells).sort()) {
    for (const seed of readdirSync(join(cells, cell)).filter((f) => f.startsWith('seed-')).sort()) {
      const { wallMs: _wall, ...figures } = JSON.parse(readFileSync(join(cells, cell, seed, 'done.json'), 'utf8')) as { wallMs: number };
      runs[`${cell}/${seed}`] = figures;
    }
  }
  return JSON.stringify({ runs, summary: readFileSync(join(out, 'summary.csv'), 'utf8') });
}

export async function benchSweep(): Promise<object> {
  const cores = availableParallelism();
  if (freshBuild() === null && (await buildCli()) === null) throw new Error('the compiled CLI is being built by another process; run again');
  const scratch = mkdtempSync(join(tmpdir(), 'tessera-bench-sweep-'));
  try {
    const grid = join(scratch, 'privacy-utility.json');
    writeFileSync(grid, documentedGrid());
    const name = (JSON.parse(documentedGrid()) as { name: string }).name;
    const before = load1();
    const run = async (parallel: number) => {
      const out = join(scratch, `p${parallel}`);
      note(`sweep ${name} with --parallel ${parallel}…`);
      const r = await cpuTimedCli(['sweep', '--grid', grid, '--out', out, '--parallel', String(parallel), '--json']);
      const doc = JSON.parse(r.stdout) as { ran: number };
      note(`  ${round(r.wallMs)} ms, ${cpuText(r.cpu)}, ${doc.ran} runs; load ${load1()}`);
      return { ...r, ran: doc.ran, results: results(out) };
    };
    const sequential = await run(1);
    const parallel = await run(cores);
    const bound = ceiling(cores, sequential.wallMs, sequential.cpu.processMs, parallel.cpu.processMs);
    note(`  speedup ${round(sequential.wallMs / parallel.wallMs, 2)}; at most ${bound.fromSequentialCpu} on ${cores} cores with the sequential sweep's CPU, ${bound.fromParallelCpu} with the parallel one's`);
    return {
      grid: name,
      runs: sequential.ran,
      sequentialMs: round(sequential.wallMs),
      parallelMs: round(parallel.wallMs),
      speedup: round(sequential.wallMs / parallel.wallMs, 2),
      identicalResults: sequential.results === parallel.results && parallel.ran === sequential.ran,
      ceiling: bound,
      cpu: { sequential: sequential.cpu, parallel: parallel.cpu },
      load: { before, after: load1() },
    };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) process.stdout.write(`${JSON.stringify(await benchSweep(), null, 2)}\n`);
