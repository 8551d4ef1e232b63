/**
 * What the CLI benchmarks share (bench/simulate.ts, bench/sweep.ts): running `tessera …` as a whole process,
 * timed, under the CPU probe (bench/cpu-probe.mjs), and the speedup ceiling such a pair of runs allows.
 *
 * The ceiling: the sequential run is not one core's work — V8's own threads (background compilation, concurrent
 * marking) run on the otherwise idle cores, so its CPU exceeds its wall time. A parallel run must do at least that
 * work (each worker compiles and collects for itself, and starts up), so on N cores it cannot finish in less than
 * that CPU over N: `fromSequentialCpu` = cores × sequential wall / sequential CPU is the speedup a parallel run
 * would reach with no overhead at all and every core busy from start to end; `fromParallelCpu` is the same bound
 * with the parallel run's own CPU. Each bounds the speedup whatever the schedule (Amdahl's serial part lowers it
 * further).
 */
import { execFile } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';

export const round = (x: number, digits = 0): number => Number(x.toFixed(digits));
export const note = (text: string): void => {
  process.stderr.write(`${text}\n`);
};
/** The 1-minute load average, to 2 decimals. */
export const load1 = (): number => round(loadavg()[0] ?? Number.NaN, 2);

export const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const BIN = join(ROOT, 'bin', 'tessera.mjs');
const PROBE = pathToFileURL(join(ROOT, 'bench', 'cpu-probe.mjs')).href;

export interface Cpu {
  readonly processMs: number;
  readonly mainThreadMs: number | null;
}

export interface Timed {
  readonly wallMs: number;
  readonly stdout: string;
}

/** Runs `tessera ARGS` and times it (wall clock): for start-up timings, without the CPU probe. */
export function timedCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Timed> {
  const started = performance.now();
  return new Promise((done, fail) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error) fail(new Error(`tessera ${args.join(' ')} failed: ${stderr.slice(-2000)}`, { cause: error }));
      else done({ wallMs: performance.now() - started, stdout });
    });
  });
}

/** Runs `tessera ARGS` under the CPU probe: wall clock, and CPU of the process and of its main thread. */
export function cpuTimedCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Timed & { readonly cpu: Cpu }> {
  const cpuFile = join(tmpdir(), `tessera-bench-cpu-${process.pid}-${Math.round(performance.now())}.json`);
  const started = performance.now();
  return new Promise((done, fail) => {
    execFile(process.execPath, ['--import', PROBE, BIN, ...args], { cwd: ROOT, env: { ...process.env, ...env, TESSERA_BENCH_CPU_FILE: cpuFile }, timeout: 900_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const wallMs = performance.now() - started;
      if (error) {
        fail(new Error(`tessera ${args.join(' ')} failed: ${stderr.slice(-2000)}`, { cause: error }));
        return;
      }
      try {
        const probe = JSON.parse(readFileSync(cpuFile, 'utf8')) as { processCpuMs: number; mainThreadCpuMs: number | null };
        rmSync(cpuFile, { force: true });
        done({ wallMs, stdout, cpu: { processMs: probe.processCpuMs, mainThreadMs: probe.mainThreadCpuMs } });
      } catch (e) {
        fail(new Error(`tessera ${args.join(' ')} left no CPU figures`, { cause: e }));
      }
    });
  });
}

/** Upper bounds on the speedup on `cores` cores (see above). */
export interface Ceiling {
  readonly cores: number;
  readonly fromSequentialCpu: number;
  readonly fromParallelCpu: number;
}

/** The speedup bounds (see above): cores × sequential wall time over each run's CPU time, at most `cores`. */
export function ceiling(cores: number, sequentialWallMs: number, sequentialCpuMs: number, parallelCpuMs: number): Ceiling {
  const bound = (cpuMs: number): number => round(Math.min(cores, (cores * sequentialWallMs) / cpuMs), 2);
  return { cores, fromSequentialCpu: bound(sequentialCpuMs), fromParallelCpu: bound(parallelCpuMs) };
}

export const cpuText = (c: Cpu): string => `CPU ${c.processMs} ms (main thread ${c.mainThreadMs ?? '?'} ms)`;
