/**
 * Runs a sweep (issue 18 §4): every cell of the grid once per seed, each run's outputs (results.json with its
 * manifest, rounds.csv, report.html) under OUT/cells/<cell id>/seed-<seed>/. Resumable: a run whose `done.json`
 * exists — written only after its outputs — is not run again, so a sweep stopped half-way (or extended with more
 * seeds or axis values) re-runs only what is missing. Cell ids hash what the cell runs, not its position, so
 * editing one axis does not invalidate the others' results.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { z } from 'zod';
import { planNoiseMultiplier } from '../../privacy/accountant/index.ts';
import { accountedDelta } from '../../privacy/dp/underfill.ts';
import { DEFAULT_UNDERFILL_DELTA_FRACTION } from '../../privacy/dp/config.ts';
import { TesseraError } from '../../protocol/errors.ts';
import { DATASET_DEFAULTS } from '../defaults.ts';
import { writeSimulationOutputs } from '../report.ts';
import { runSimulation, type SimulationConfigInput } from '../simulate.ts';
import { gridCells, type SweepCell, type SweepGrid } from './grid.ts';

/** What a finished run leaves in done.json: the figures the sweep's table is computed from. */
export const RunFigures = z.object({
  seed: z.union([z.number(), z.string()]),
  status: z.string(),
  accuracy: z.number().nullable(),
  loss: z.number().nullable(),
  /** ε spent by the last committed round (null without DP). */
  epsilon: z.number().nullable(),
  rounds: z.number().int(),
  /** Per-round central test accuracy, for the over-rounds chart. */
  accuracyByRound: z.array(z.number().nullable()),
  baselines: z.object({ pooled: z.number().nullable(), local: z.number().nullable() }).nullable(),
  wallMs: z.number(),
});
export type RunFigures = z.infer<typeof RunFigures>;

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
  return join(out, 'cells', cell.id, `seed-${String(seed).replace(/[^A-Za-z0-9_-]+/g, '_')}`);
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
}

export async function runSweep(grid: SweepGrid, options: SweepOptions): Promise<SweepOutcome> {
  const cells = gridCells(grid);
  mkdirSync(options.out, { recursive: true });
  writeFileSync(join(options.out, 'grid.json'), `${JSON.stringify(grid, null, 2)}\n`);
  const total = cells.length * grid.seeds.length;
  let index = 0;
  let ran = 0;
  let skipped = 0;
  const results: CellResult[] = [];
  for (const cell of cells) {
    const { job, sigma } = planCellNoise(grid, cell);
    mkdirSync(join(options.out, 'cells', cell.id), { recursive: true });
    writeFileSync(join(options.out, 'cells', cell.id, 'cell.json'), `${JSON.stringify({ id: cell.id, label: cell.label, values: cell.values, plannedNoiseMultiplier: sigma, simulation: { ...cell.simulation, job } }, null, 2)}\n`);
    const runs: RunFigures[] = [];
    for (const seed of grid.seeds) {
      index++;
      const dir = runDir(options.out, cell, seed);
      const done = join(dir, 'done.json');
      const tag = `[${index}/${total}] ${cell.label}, seed ${seed}`;
      if (existsSync(done)) {
        const parsed = RunFigures.safeParse(JSON.parse(readFileSync(done, 'utf8')));
        if (parsed.success) {
          runs.push(parsed.data);
          skipped++;
          options.progress?.(`${tag}: finished earlier (skipped)`);
          continue;
        }
      }
      options.progress?.(`${tag}: running`);
      const started = performance.now();
      const input: SimulationConfigInput = { ...cell.simulation, job, seed };
      const sim = await runSimulation(input, { logger: options.logger });
      await writeSimulationOutputs(dir, sim);
      const figures: RunFigures = {
        seed,
        status: sim.result.status,
        accuracy: sim.result.final.accuracy,
        loss: sim.result.final.loss,
        epsilon: sim.result.rounds.at(-1)?.extra.privacy?.epsilon ?? null,
        rounds: sim.result.rounds.length,
        accuracyByRound: sim.result.rounds.map((r) => r.accuracy),
        baselines: sim.baselines ? { pooled: sim.baselines.pooled.accuracy, local: sim.baselines.local.accuracy } : null,
        wallMs: performance.now() - started,
      };
      writeFileSync(done, `${JSON.stringify(figures, null, 2)}\n`);
      runs.push(figures);
      ran++;
      options.progress?.(`${tag}: ${figures.status}, accuracy ${figures.accuracy?.toFixed(4) ?? '–'}${figures.epsilon !== null ? `, ε ${figures.epsilon.toFixed(3)}` : ''} (${(figures.wallMs / 1000).toFixed(1)} s)`);
    }
    results.push({ cell, plannedNoiseMultiplier: sigma, runs });
  }
  return { cells: results, ran, skipped };
}
