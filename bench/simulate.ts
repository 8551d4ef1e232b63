/**
 * `npm run bench -- simulate` (issue 18 §1–2): parallel clients and CLI start-up, each against its baseline in
 * the same run. Prints exactly
 *   {"runs": [{"name", "sequentialMs", "parallelMs", "speedup", "identicalWeights"}], "startup": {"transformMs", "compiledMs"}}
 * on stdout; the context (load average, workers, each worker's TensorFlow.js start-up, today's quick-start path)
 * goes to stderr.
 *
 * Every run is a whole `tessera simulate` process through bin/tessera.mjs — start-up, data loading and all —
 * with `--workers 1` (the sequential path) or `--workers N` (N = the cores); the final global weights are read
 * from each run's state directory (the last committed round) and compared bit for bit. Runs: the quick start
 * (`npx tessera simulate`: MNIST, 10 clients, 5 rounds) and Adult with 100 clients (10 rounds). Today's quick
 * start (the sources through tsx, sequential, no state directory) is timed once more as the "before".
 * Start-up: the median of 5 `tessera --help` calls through the TypeScript transform (TESSERA_CLI_SOURCES=1:
 * tsx, what every call paid before) and through the compiled build.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { buildCli, freshBuild } from '../bin/compiled-cli.mjs';
import { openDatabase } from '../governance/state/database.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const BIN = join(ROOT, 'bin', 'tessera.mjs');

interface Timed {
  readonly wallMs: number;
  readonly stdout: string;
}

function timedCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Timed> {
  const started = performance.now();
  return new Promise((done, fail) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 900_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) fail(new Error(`tessera ${args.join(' ')} failed: ${stderr.slice(-2000)}`, { cause: error }));
      else done({ wallMs: performance.now() - started, stdout });
    });
  });
}

function finalWeights(stateDir: string): Buffer {
  const db = openDatabase(stateDir);
  try {
    const row = db.prepare('SELECT weights FROM job_rounds ORDER BY round DESC LIMIT 1').pluck().get();
    if (!(row instanceof Buffer)) throw new Error(`no committed round in ${stateDir}`);
    return row;
  } finally {
    db.close();
  }
}

const round = (x: number, digits = 0): number => Number(x.toFixed(digits));
const note = (text: string): void => {
  process.stderr.write(`${text}\n`);
};

async function pair(name: string, args: readonly string[], workers: number, scratch: string): Promise<{ name: string; sequentialMs: number; parallelMs: number; speedup: number; identicalWeights: boolean }> {
  const run = async (w: number): Promise<{ wallMs: number; weights: Buffer; summary: string }> => {
    const state = join(scratch, `${name}-w${w}`);
    const r = await timedCli(['simulate', ...args, '--workers', String(w), '--state', state, '--json']);
    const doc = JSON.parse(r.stdout) as { final: { accuracy: number; loss: number }; trainingWorkers?: { initMs: number[]; tasks: number } };
    const pool = doc.trainingWorkers ? `; ${doc.trainingWorkers.tasks} tasks on the workers, their TensorFlow.js start-up ${doc.trainingWorkers.initMs.map((ms) => round(ms)).join(', ')} ms` : '';
    return { wallMs: r.wallMs, weights: finalWeights(state), summary: `accuracy ${doc.final.accuracy}, loss ${doc.final.loss}${pool}` };
  };
  note(`${name}: sequential (--workers 1)…`);
  const sequential = await run(1);
  note(`  ${round(sequential.wallMs)} ms, ${sequential.summary}; parallel (--workers ${workers})…`);
  const parallel = await run(workers);
  note(`  ${round(parallel.wallMs)} ms, ${parallel.summary}; load ${loadavg()[0]?.toFixed(2)}`);
  return { name, sequentialMs: round(sequential.wallMs), parallelMs: round(parallel.wallMs), speedup: round(sequential.wallMs / parallel.wallMs, 2), identicalWeights: sequential.weights.equals(parallel.weights) };
}

async function medianStartup(env: NodeJS.ProcessEnv): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) times.push((await timedCli(['--help'], env)).wallMs);
  times.sort((a, b) => a - b);
  return round(times[2] ?? Number.NaN);
}

export async function benchSimulate(): Promise<object> {
  const workers = availableParallelism();
  note(`simulate bench: ${workers} cores, load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (freshBuild() === null && (await buildCli()) === null) throw new Error('the compiled CLI is being built by another process; run again');
  const scratch = mkdtempSync(join(tmpdir(), 'tessera-bench-simulate-'));
  try {
    const startup = { transformMs: await medianStartup({ TESSERA_CLI_SOURCES: '1' }), compiledMs: await medianStartup({}) };
    note(`startup (median of 5 --help): transform ${startup.transformMs} ms, compiled ${startup.compiledMs} ms`);
    const before = await timedCli(['simulate', '--workers', '1'], { TESSERA_CLI_SOURCES: '1' });
    note(`quick start as before this change (sources through tsx, sequential, no --state): ${round(before.wallMs)} ms`);
    const runs = [await pair('quick-start', [], workers, scratch), await pair('adult-100', ['--dataset', 'adult', '--clients', '100'], workers, scratch)];
    const quick = runs[0];
    if (quick) note(`quick start now (compiled, --workers ${workers}): ${quick.parallelMs} ms = ${round((100 * quick.parallelMs) / before.wallMs)} % of before; load ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    return { runs, startup };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) process.stdout.write(`${JSON.stringify(await benchSimulate(), null, 2)}\n`);
