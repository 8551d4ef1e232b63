/**
 * Runs a sweep (issue 18 §4): every cell of the grid once per seed, each run's outputs (results.json with its
 * manifest, rounds.csv, report.html) under OUT/cells/<cell id>/seed-<seed>/. Resumable: a run whose `done.json`
 * exists — written only after its outputs — is not run again, so a sweep stopped half-way (or extended with more
 * seeds or axis values) re-runs only what is missing. Cell ids hash what the cell runs, not its position, so
 * editing one axis does not invalidate the others' results.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { planNoiseMultiplier } from '../../privacy/accountant/index.ts';
import { accountedDelta } from '../../privacy/dp/underfill.ts';
import { DEFAULT_UNDERFILL_DELTA_FRACTION } from '../../privacy/dp/config.ts';
import { TesseraError } from '../../protocol/errors.ts';
import { DATASET_DEFAULTS } from '../defaults.ts';
import { writeSimulationOutputs } from '../report.ts';
import { runSimulation, type SimulationConfigInput } from '../simulate.ts';
import { gridCells, seedDirName, type SweepCell, type SweepGrid } from './grid.ts';
import { RunFigures, runFigures } from './run-figures.ts';
import { SweepRunPool } from './run-pool.ts';
import { DatasetMemo } from '../dataset-memo.ts';
import { initBackend } from '../../ml/backend.ts';

export { RunFigures } from './run-figures.ts';

export interface CellResult {
  readonly cell: SweepCell;
  /** σ planned for this cell (noise: "plan"), else null. */
  readonly plannedNoiseMultiplier: number | null;
  readonly runs: readonly RunFigures[];
}

export interface SweepOutcome {
  readonly cells: readonly CellResult[];
  /** Runs executed now, and runs found finished and skipped. */
  readonly ran: number;
  readonly skipped: number;
}

export function runDir(out: string, cell: SweepCell, seed: number | string): string {
  return join(out, 'cells', cell.id, seedDirName(seed));
}

/**
 * The figures of a run that finished in an earlier sweep, or null: its done.json is missing, or is not a whole
 * RunFigures document (e.g. a file an interrupted writer left before done.json was written by rename), so the run
 * is run again rather than the sweep failing on it.
 */
export function finishedRun(dir: string): RunFigures | null {
  let text: string;
  try {
    text = readFileSync(join(dir, 'done.json'), 'utf8');
  } catch {
    return null;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const parsed = RunFigures.safeParse(raw);
  return parsed.success ? parsed.data : null;
}

/**
 * Marks a run finished, after its outputs: done.json is written beside them under a temporary name and renamed into
 * place (rename is atomic on POSIX), so a sweep stopped at any instant leaves either no done.json or a whole one.
 */
function writeDone(dir: string, figures: RunFigures): void {
  const tmp = join(dir, `.done.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(figures, null, 2)}\n`);
  renameSync(tmp, join(dir, 'done.json'));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The cell's job overrides with σ planned from its ε budget when the grid asks for it: the smallest σ whose ε
 * after the cell's rounds at its sampling rate stays within the budget, at the δ the ledger converts at
 * (accountedDelta, privacy/dp/underfill.ts), with the job's accountant — the σ `tessera privacy plan` prints.
 */
export function planCellNoise(grid: SweepGrid, cell: SweepCell): { job: Record<string, unknown>; sigma: number | null } {
  const job = cell.simulation.job;
  const dp = isObject(job.dp) ? job.dp : {};
  if (grid.noise !== 'plan' || dp.enabled !== true || dp.noiseMultiplier !== undefined) return { job, sigma: null };
  const epsilon = typeof dp.epsilon === 'number' ? dp.epsilon : null;
  const q = cell.simulation.samplingRate;
  if (epsilon === null || q === undefined) throw new TesseraError('TESSERA_ERR_SWEEP_GRID', `cell ${cell.label}: noise "plan" needs dp.epsilon and simulation.samplingRate (DP rounds are Poisson-sampled)`);
  const rounds = cell.simulation.rounds ?? (typeof job.rounds === 'number' ? job.rounds : DATASET_DEFAULTS[cell.simulation.dataset].rounds);
  const delta = typeof dp.delta === 'number' ? dp.delta : 1e-5;
  const fraction = typeof dp.underfillDeltaFraction === 'number' ? dp.underfillDeltaFraction : DEFAULT_UNDERFILL_DELTA_FRACTION;
  const accountant = dp.accountant === 'pld' ? 'pld' : dp.accountant === 'analytic_gaussian' ? 'analytic_gaussian' : 'rdp';
  const plan = planNoiseMultiplier({ epsilon, delta: accountedDelta(delta, fraction), samplingRate: q, steps: rounds, accountant });
  return { job: { ...job, dp: { ...dp, noiseMultiplier: plan.noiseMultiplier } }, sigma: plan.noiseMultiplier };
}

export interface SweepOptions {
  readonly out: string;
  readonly logger: Logger;
  /** One line per run: started, skipped (finished earlier) or finished with its figures. */
  readonly progress?: (line: string) => void;
  /**
   * Runs at a time, each on its own worker thread (simulations/sweep/run-pool.ts); 1 (the default) runs them one
   * after another on this thread. A run's result does not depend on it.
   */
  readonly parallel?: number;
}

/**
 * One run of a sweep, on whichever thread runs it (this one, or a run thread: run-worker.ts): the simulation with
 * its settings and seed, its outputs written to `dir`, and the figures its done.json will hold.
 */
export async function runOne(input: SimulationConfigInput, seed: number | string, dir: string, options: { readonly logger: Logger; readonly datasets: DatasetMemo }): Promise<RunFigures> {
  const started = performance.now();
  const sim = await runSimulation({ ...input, seed }, options);
  await writeSimulationOutputs(dir, sim);
  return runFigures(sim, seed, performance.now() - started);
}

/** One run of the sweep that has not finished before. */
interface Pending {
  readonly cellIndex: number;
  readonly seedIndex: number;
  readonly seed: number | string;
  readonly dir: string;
  readonly tag: string;
  readonly input: SimulationConfigInput;
}

export async function runSweep(grid: SweepGrid, options: SweepOptions): Promise<SweepOutcome> {
  const parallel = options.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--parallel must be a positive integer, got ${parallel}`);
  const cells = gridCells(grid);
  mkdirSync(options.out, { recursive: true });
  writeFileSync(join(options.out, 'grid.json'), `${JSON.stringify(grid, null, 2)}\n`);
  const total = cells.length * grid.seeds.length;
  let index = 0;
  let skipped = 0;
  // Figures by cell, then by seed (in the grid's seed order whatever order the runs finish in).
  const figures: Array<Array<RunFigures | undefined>> = cells.map(() => grid.seeds.map(() => undefined));
  const sigmas: Array<number | null> = [];
  const pending: Pending[] = [];
  cells.forEach((cell, cellIndex) => {
    const { job, sigma } = planCellNoise(grid, cell);
    sigmas.push(sigma);
    mkdirSync(join(options.out, 'cells', cell.id), { recursive: true });
    writeFileSync(join(options.out, 'cells', cell.id, 'cell.json'), `${JSON.stringify({ id: cell.id, label: cell.label, values: cell.values, plannedNoiseMultiplier: sigma, simulation: { ...cell.simulation, job } }, null, 2)}\n`);
    grid.seeds.forEach((seed, seedIndex) => {
      index++;
      const dir = runDir(options.out, cell, seed);
      const tag = `[${index}/${total}] ${cell.label}, seed ${seed}`;
      const done = finishedRun(dir);
      if (done) {
        (figures[cellIndex] as Array<RunFigures | undefined>)[seedIndex] = done;
        skipped++;
        options.progress?.(`${tag}: finished earlier (skipped)`);
        return;
      }
      pending.push({ cellIndex, seedIndex, seed, dir, tag, input: { ...cell.simulation, job, seed } });
    });
  });
  // done.json is written only after the run's outputs: a run stopped half-way is run again next time.
  const finish = (p: Pending, f: RunFigures): void => {
    writeDone(p.dir, f);
    (figures[p.cellIndex] as Array<RunFigures | undefined>)[p.seedIndex] = f;
    options.progress?.(`${p.tag}: ${f.status}, accuracy ${f.accuracy?.toFixed(4) ?? '–'}${f.epsilon !== null ? `, ε ${f.epsilon.toFixed(3)}` : ''} (${(f.wallMs / 1000).toFixed(1)} s)`);
  };
  if (parallel === 1 || pending.length <= 1) {
    // The runs read each data set once (simulations/dataset-memo.ts); each run thread keeps its own.
    const datasets = new DatasetMemo();
    for (const p of pending) {
      options.progress?.(`${p.tag}: running`);
      finish(p, await runOne(p.input, p.seed, p.dir, { logger: options.logger, datasets }));
    }
  } else await runInParallel(pending, Math.min(parallel, pending.length), options, finish);
  const results: CellResult[] = cells.map((cell, i) => ({ cell, plannedNoiseMultiplier: sigmas[i] ?? null, runs: (figures[i] ?? []).filter((f): f is RunFigures => f !== undefined) }));
  return { cells: results, ran: pending.length, skipped };
}

/**
 * The pending runs on `width` run threads. The first run that fails stops the sweep as a sequential sweep stops:
 * no further run starts, the runs already running finish (their outputs and done.json are kept, so a second
 * sweep does not redo them), and then its error is thrown.
 */
async function runInParallel(pending: readonly Pending[], width: number, options: SweepOptions, finish: (p: Pending, f: RunFigures) => void): Promise<void> {
  // The backend a sequential sweep would train on, chosen here once: the run threads take the same one.
  const backend = await initBackend();
  const pool = new SweepRunPool(width, { logLevel: options.logger.level, backend: backend.name });
  let failure: { error: unknown } | undefined;
  try {
    await Promise.allSettled(
      pending.map((p) =>
        pool
          .run(p.input as Record<string, unknown>, p.seed, p.dir, p.tag, () => options.progress?.(`${p.tag}: running`))
          // Recording the run (its done.json) can fail too, and fails the sweep as it does one after another.
          .then((f) => finish(p, f))
          .catch((e: unknown) => {
            if (failure) return;
            failure = { error: e };
            pool.cancelQueued(new TesseraError('TESSERA_ERR_WORKER_FAILED', `not started: ${p.tag} failed first`));
          }),
      ),
    );
  } finally {
    await pool.close();
  }
  if (failure) throw failure.error;
}
