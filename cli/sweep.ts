/** `tessera sweep --grid FILE`: a grid of simulations over job-spec fields and seeds (simulations/sweep/). */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { createLogger } from '../lib/logger.ts';
import { action, integerOption, printJson, printLine, readJsonFile } from './run.ts';

interface SweepOptions {
  grid: string;
  out: string;
  json?: boolean;
  verbose?: boolean;
  dryRun?: boolean;
  parallel: number;
}

export function registerSweep(program: Command): void {
  program
    .command('sweep')
    .description('Run a grid of simulations (axes over job-spec fields, each cell once per seed); resumable; writes a table of mean ± 95 % interval per cell and one HTML report.')
    .requiredOption('--grid <file>', 'grid JSON: {"name", "simulation": {…simulate settings…}, "seeds": [...], "axes": {"dp.epsilon": [...]} , "noise": "plan" | "as-given"} (docs/researcher.md)')
    .requiredOption('--out <dir>', 'output directory: summary.json, summary.csv, report.html and cells/<cell>/seed-<seed>/; a second run resumes (finished runs are not re-run)')
    .option('--parallel <n>', 'runs at a time, each on its own worker thread (one per idle core is the most that helps); the results do not depend on it', integerOption('--parallel', 1), 1)
    .option('--dry-run', 'list the cells (with the σ planned for each), the runs and which of them finished earlier; run nothing')
    .option('--json', 'print the summary as one JSON document on stdout (progress goes to stderr)')
    .option('--verbose', 'operator logs on stderr at info level')
    .action(
      action(async (o: SweepOptions) => {
        const logger = createLogger({ level: o.verbose ? 'info' : 'error' });
        // Loaded on use, so `tessera --help` does not pay for TensorFlow.js.
        const { parseGrid, gridCells } = await import('../simulations/sweep/grid.ts');
        const { runSweep } = await import('../simulations/sweep/run.ts');
        const { writeSweepOutputs } = await import('../simulations/sweep/report.ts');
        const grid = parseGrid(readJsonFile(o.grid, 'grid file'), o.grid);
        const progress = o.json ? (t: string) => process.stderr.write(`${t}\n`) : printLine;
        progress(`sweep ${grid.name}: ${gridCells(grid).length} cells × ${grid.seeds.length} seeds → ${o.out}`);
        // More run threads than cores only share the cores, each holding its own TensorFlow.js and data set.
        const cores = availableParallelism();
        if (o.parallel > cores && o.dryRun !== true) progress(`note: --parallel ${o.parallel} is more than this machine's ${cores} cores; the extra runs wait for a core and cost memory`);
        if (o.dryRun === true) {
          const { finishedRun, planCellNoise, runDir } = await import('../simulations/sweep/run.ts');
          const cells = gridCells(grid).map((cell) => {
            // Finished as the sweep itself decides (a torn or unreadable done.json is not), so the count is what it will skip.
            const finished = grid.seeds.filter((seed) => finishedRun(runDir(o.out, cell, seed)) !== null).length;
            return { id: cell.id, label: cell.label, plannedNoiseMultiplier: planCellNoise(grid, cell).sigma, runs: grid.seeds.length, finished };
          });
          if (o.json) printJson({ name: grid.name, dryRun: true, cells });
          else for (const c of cells) printLine(`${c.label}: ${c.runs} run(s), ${c.finished} finished${c.plannedNoiseMultiplier !== null ? `, σ ${c.plannedNoiseMultiplier.toPrecision(6)}` : ''} (${c.id})`);
          return 0;
        }
        const outcome = await runSweep(grid, { out: o.out, logger, progress, parallel: o.parallel });
        const rows = await writeSweepOutputs(o.out, grid, outcome);
        if (o.json) printJson({ name: grid.name, ran: outcome.ran, skipped: outcome.skipped, cells: rows });
        else {
          for (const r of rows) {
            const a = r.accuracy;
            printLine(`${r.label}: accuracy ${a.mean === null ? '–' : a.mean.toFixed(4)}${a.low !== null && a.high !== null ? ` [${a.low.toFixed(4)}, ${a.high.toFixed(4)}]` : ''} over ${r.seeds} seed(s)${r.epsilonBudget !== null ? `, ε budget ${r.epsilonBudget}, σ ${r.noiseMultiplier?.toPrecision(4) ?? '–'}` : ''}`);
          }
          printLine(`${outcome.ran} run(s) now, ${outcome.skipped} finished earlier. Report: ${o.out}/report.html`);
        }
        return 0;
      }),
    );
}
