/**
 * `npm run bench -- simulate` (issue 18 §1–2): parallel clients and CLI start-up, each against its baseline in
 * the same run. Prints
 *   {"runs": [{"name", "sequentialMs", "parallelMs", "speedup", "identicalWeights", "ceiling", "cpu", "workers", "load"}], "startup": {"transformMs", "compiledMs"}}
 * on stdout; the context (workers, each worker's start-up, batches, today's quick-start path) goes to stderr.
 * `cpu` is each run's CPU time, of the whole process (all threads) and of its main thread alone (bench/cpu-probe.mjs):
 * on a machine shared with others the wall times move with their load, while the main thread's CPU in the parallel
 * run is the serial part that bounds the speedup (Amdahl), and the process's CPU against the sequential run's says
 * what the parallelism costs. `workers` is how the parallel run's worker threads spent it (the run's own report,
 * simulations/training-pool.ts): each one's thread CPU and event-loop busy time, and `busyShare`, their CPU over
 * (workers × the parallel run's wall time) — near 1 when the workers train most of the run, low when
 * they wait on the main thread — and `cpuShare`, their CPU over the whole process's, which the machine's load does
 * not stretch. On a loaded machine busy time counts time the thread was runnable but not running, so CPU is the
 * figure to read. `load` is the 1-minute load average before and after the pair.
 *
 * `ceiling` is the most speedup the machine allows the pair, from the same runs (bench/cli-runs.ts says why).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildCli, freshBuild } from '../bin/compiled-cli.mjs';
import { ceiling, cpuText, cpuTimedCli, load1, note, round, timedCli, type Ceiling, type Cpu } from './cli-runs.ts';
import { openDatabase } from '../governance/state/database.ts';

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

interface WorkerFigures {
  /** Each worker's thread CPU (ms) and event-loop busy time (ms). */
  perWorker: Array<{ cpuMs: number | null; busyMs: number }>;
  /** The workers' CPU over (workers × the parallel run's wall time). */
  busyShare: number | null;
  /** The workers' CPU over the parallel process's CPU: the parallel share of the work, whatever the machine's load. */
  cpuShare: number | null;
  /** The parallel run's main-thread CPU as the run itself measured it (ms). */
  mainThreadCpuMs: number | null;
}

interface RunDoc {
  final: { accuracy: number; loss: number };
  trainingWorkers?: { initMs: number[]; tasks: number; batches?: number; activity?: Array<{ busyMs: number; idleMs: number; cpuMs: number | null }>; mainThreadCpuMs?: number | null };
}

interface PairResult {
  name: string;
  sequentialMs: number;
  parallelMs: number;
  speedup: number;
  identicalWeights: boolean;
  ceiling: Ceiling;
  cpu: { sequential: Cpu; parallel: Cpu };
  workers: WorkerFigures | null;
  load: { before: number; after: number };
}


async function pair(name: string, args: readonly string[], workers: number, scratch: string): Promise<PairResult> {
  const run = async (w: number): Promise<{ wallMs: number; cpu: Cpu; weights: Buffer; summary: string; doc: RunDoc }> => {
    const state = join(scratch, `${name}-w${w}`);
    const r = await cpuTimedCli(['simulate', ...args, '--workers', String(w), '--state', state, '--json']);
    const doc = JSON.parse(r.stdout) as RunDoc;
    const tw = doc.trainingWorkers;
    const cpus = tw?.activity?.map((a) => a.cpuMs ?? '?').join(', ');
    const pool = tw ? `; ${tw.tasks} tasks on the workers in ${tw.batches ?? '?'} batches, their start-up ${tw.initMs.map((ms) => round(ms)).join(', ')} ms, their CPU ${cpus ?? '?'} ms` : '';
    return { wallMs: r.wallMs, cpu: r.cpu, weights: finalWeights(state), summary: `accuracy ${doc.final.accuracy}, loss ${doc.final.loss}${pool}`, doc };
  };
  const before = load1();
  note(`${name}: sequential (--workers 1)…`);
  const sequential = await run(1);
  note(`  ${round(sequential.wallMs)} ms, ${cpuText(sequential.cpu)}, ${sequential.summary}; parallel (--workers ${workers})…`);
  const parallel = await run(workers);
  note(`  ${round(parallel.wallMs)} ms, ${cpuText(parallel.cpu)}, ${parallel.summary}; load ${loadavg()[0]?.toFixed(2)}`);
  const bound = ceiling(workers, sequential.wallMs, sequential.cpu.processMs, parallel.cpu.processMs);
  note(`  speedup ${round(sequential.wallMs / parallel.wallMs, 2)}; at most ${bound.fromSequentialCpu} on ${workers} cores with the sequential run's CPU, ${bound.fromParallelCpu} with the parallel run's`);
  return {
    name,
    sequentialMs: round(sequential.wallMs),
    parallelMs: round(parallel.wallMs),
    speedup: round(sequential.wallMs / parallel.wallMs, 2),
    identicalWeights: sequential.weights.equals(parallel.weights),
    ceiling: bound,
    cpu: { sequential: sequential.cpu, parallel: parallel.cpu },
    workers: workerFigures(parallel.doc, parallel.wallMs, parallel.cpu.processMs),
    load: { before, after: load1() },
  };
}

function workerFigures(doc: RunDoc, wallMs: number, processCpuMs: number): WorkerFigures | null {
  const activity = doc.trainingWorkers?.activity;
  if (!activity || activity.length === 0) return null;
  const cpus = activity.map((a) => a.cpuMs);
  const known = cpus.every((c): c is number => c !== null);
  return {
    perWorker: activity.map((a) => ({ cpuMs: a.cpuMs, busyMs: round(a.busyMs) })),
    busyShare: known ? round(cpus.reduce((x, y) => x + y, 0) / (activity.length * wallMs), 2) : null,
    cpuShare: known ? round(cpus.reduce((x, y) => x + y, 0) / processCpuMs, 2) : null,
    mainThreadCpuMs: doc.trainingWorkers?.mainThreadCpuMs ?? null,
  };
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
    const before = await cpuTimedCli(['simulate', '--workers', '1'], { TESSERA_CLI_SOURCES: '1' });
    note(`quick start as before this change (sources through tsx, sequential, no --state): ${round(before.wallMs)} ms, ${cpuText(before.cpu)}`);
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
