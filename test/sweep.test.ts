/**
 * `tessera sweep` (issue 18 §4–5): the Student t interval against a hand-computed case, the strict grid schema, a
 * real sweep on the Heart hospitals that resumes without re-running finished runs (counted), and its report: no
 * external reference or script, the charts inline, and the numbers equal to those of each run's own results.json.
 */
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logger.ts';
import { isTesseraError } from '../protocol/errors.ts';
import { gridCells, parseGrid } from '../simulations/sweep/grid.ts';
import { meanInterval95, tQuantile975 } from '../simulations/sweep/interval.ts';
import { runDir, runSweep } from '../simulations/sweep/run.ts';
import { writeSweepOutputs } from '../simulations/sweep/report.ts';
import { runSimulation } from '../simulations/simulate.ts';
import { SHARED_DATA_DIR } from './paths.ts';

function gridError(raw: unknown): string {
  try {
    parseGrid(raw, 'grid.json');
  } catch (e) {
    if (isTesseraError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'accepted';
}

describe('sweep intervals', () => {
  it('is x̄ ± t₀.₉₇₅,ₙ₋₁·s/√n: a hand-computed case', () => {
    // 0.80, 0.82, 0.84: x̄ = 0.82, s = 0.02, t₀.₉₇₅,₂ = 4.3026527 (Student t table), half-width 4.3026527·0.02/√3 = 0.0496827.
    const m = meanInterval95([0.8, 0.82, 0.84]);
    expect(m.n).toBe(3);
    expect(m.mean).toBeCloseTo(0.82, 12);
    expect(m.sd).toBeCloseTo(0.02, 12);
    expect(m.low).toBeCloseTo(0.8203173 - 0.05, 6);
    expect(m.high).toBeCloseTo(0.8696827, 6);
    // One value says nothing about the spread; missing values are left out.
    expect(meanInterval95([0.9, null])).toEqual({ n: 1, mean: 0.9, sd: null, low: null, high: null });
  });

  it('t quantiles: the table below 31 degrees of freedom, Abramowitz & Stegun 26.7.5 above, continuous at the seam', () => {
    expect(tQuantile975(1)).toBeCloseTo(12.7062047, 6);
    expect(tQuantile975(2)).toBeCloseTo(4.3026527, 6);
    // Published t₀.₉₇₅ for ν = 60 and 120 (e.g. NIST/SEMATECH §1.3.6.7.2): 2.000298, 1.979930.
    expect(tQuantile975(60)).toBeCloseTo(2.000298, 5);
    expect(tQuantile975(120)).toBeCloseTo(1.97993, 5);
    expect(Math.abs(tQuantile975(31) - 2.0395134)).toBeLessThan(1e-5);
  });
});

describe('sweep grid', () => {
  it('is strict: an unknown key, an axis naming no job-spec field and an empty axis are refused by name', () => {
    expect(gridError({ seeds: [1], axes: { 'dp.epsilon': [1] }, axis: {} })).toMatch(/^TESSERA_ERR_SWEEP_GRID: .*axis/);
    expect(gridError({ seeds: [1], axes: { 'dp.epsilom': [1] } })).toMatch(/TESSERA_ERR_SWEEP_GRID: .*"epsilom".*did you mean "epsilon"/);
    expect(gridError({ seeds: [1], axes: { 'dp.epsilon': [] } })).toMatch(/TESSERA_ERR_SWEEP_GRID/);
    expect(gridError({ seeds: [], axes: {} })).toMatch(/TESSERA_ERR_SWEEP_GRID: grid.json: seeds/);
    expect(gridError({ seeds: [1], simulation: { dataset: 'heart', sed: 3 }, axes: {} })).toMatch(/TESSERA_ERR_SWEEP_GRID: .*sed/);
  });

  it('crosses path axes and named variants; cell ids depend on what a cell runs, not on its place', () => {
    const grid = parseGrid({ seeds: [1], simulation: { dataset: 'heart' }, axes: { 'training.learningRate': [0.05, 0.1], privacy: { 'no DP': { dp: { enabled: false } }, 'ε = 1': { dp: { enabled: true, epsilon: 1 } } } } }, 'g');
    const cells = gridCells(grid);
    expect(cells.map((c) => c.label)).toEqual(['training.learningRate = 0.05, privacy: no DP', 'training.learningRate = 0.05, privacy: ε = 1', 'training.learningRate = 0.1, privacy: no DP', 'training.learningRate = 0.1, privacy: ε = 1']);
    expect(cells[1]?.simulation.job).toEqual({ training: { learningRate: 0.05 }, dp: { enabled: true, epsilon: 1 } });
    const reordered = gridCells(parseGrid({ seeds: [1], simulation: { dataset: 'heart' }, axes: { 'training.learningRate': [0.1, 0.05], privacy: { 'no DP': { dp: { enabled: false } } } } }, 'g'));
    expect(reordered.find((c) => c.label.startsWith('training.learningRate = 0.05'))?.id).toBe(cells[0]?.id);
  });
});

describe('tessera sweep on the Heart hospitals', () => {
  it('resumes without re-running finished runs, and its report holds the runs\' own numbers, offline', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tessera-sweep-'));
    const raw = { name: 'heart-lr', simulation: { dataset: 'heart', dataDir: SHARED_DATA_DIR, rounds: 2 }, seeds: [1, 2], axes: { 'training.learningRate': [0.02, 0.2] } };
    const grid = parseGrid(raw, 'grid');
    const lines: string[] = [];
    const first = await runSweep(grid, { out, logger: silentLogger(), progress: (l) => lines.push(l) });
    expect({ ran: first.ran, skipped: first.skipped }).toEqual({ ran: 4, skipped: 0 });
    expect(lines.filter((l) => /: running$/.test(l))).toHaveLength(4);
    expect(lines.at(-1)).toMatch(/^\[4\/4\] training\.learningRate = 0\.2, seed 2: completed, accuracy 0\.\d{4}/);

    // Again: nothing runs. With one more seed: only the two new runs.
    const again = await runSweep(grid, { out, logger: silentLogger() });
    expect({ ran: again.ran, skipped: again.skipped }).toEqual({ ran: 0, skipped: 4 });
    const grid3 = parseGrid({ ...raw, seeds: [1, 2, 3] }, 'grid');
    const third = await runSweep(grid3, { out, logger: silentLogger() });
    expect({ ran: third.ran, skipped: third.skipped }).toEqual({ ran: 2, skipped: 4 });

    const rows = await writeSweepOutputs(out, grid3, third);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    // Self-contained: no script, no stylesheet or image fetched, nothing loaded from anywhere.
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|\bsrc=/i);
    expect(html.match(/href="[^"#]/g) ?? []).toEqual([]);
    expect((html.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(2);
    expect(html).toContain('Final test accuracy per cell');
    expect(html).toContain('heart');

    for (const [i, cell] of third.cells.entries()) {
      // The per-run JSON written by the simulation itself, not the sweep's own bookkeeping.
      const finals = grid3.seeds.map((seed) => (JSON.parse(readFileSync(join(runDir(out, cell.cell, seed), 'results.json'), 'utf8')) as { final: { accuracy: number } }).final.accuracy);
      const m = meanInterval95(finals);
      const row = rows[i];
      expect(row?.accuracy.mean).toBe(m.mean);
      expect(row?.accuracy.low).toBe(m.low);
      expect(html).toContain(`${(m.mean ?? 0).toFixed(4)} [${(m.low ?? 0).toFixed(4)}, ${(m.high ?? 0).toFixed(4)}]`);
      expect(readdirSync(join(out, 'cells', cell.cell.id)).sort()).toEqual(['cell.json', 'seed-1', 'seed-2', 'seed-3']);
    }
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { cells: Array<{ label: string; seeds: number }> };
    expect(summary.cells.map((c) => [c.label, c.seeds])).toEqual([['training.learningRate = 0.02', 3], ['training.learningRate = 0.2', 3]]);
    expect(readFileSync(join(out, 'summary.csv'), 'utf8').split('\n')[0]).toBe('cell,label,epsilon_budget,noise_multiplier,seeds,accuracy_mean,accuracy_low95,accuracy_high95,loss_mean,loss_low95,loss_high95,epsilon_spent_mean,status');
  }, 180_000);

  it('runs in parallel on run threads (--parallel 2) with the same figures as one after another, and resumes the same way', async () => {
    const raw = { name: 'heart-parallel', simulation: { dataset: 'heart', dataDir: SHARED_DATA_DIR, rounds: 2 }, seeds: [1, 2], axes: { 'training.learningRate': [0.05, 0.2] } };
    const grid = parseGrid(raw, 'grid');
    const one = mkdtempSync(join(tmpdir(), 'tessera-sweep-one-'));
    const two = mkdtempSync(join(tmpdir(), 'tessera-sweep-two-'));
    const sequential = await runSweep(grid, { out: one, logger: silentLogger() });
    const lines: string[] = [];
    const parallel = await runSweep(grid, { out: two, logger: silentLogger(), parallel: 2, progress: (l) => lines.push(l) });
    expect({ ran: parallel.ran, skipped: parallel.skipped }).toEqual({ ran: 4, skipped: 0 });
    // Every run started and finished, reported by its own tag whatever the order.
    expect(lines.filter((l) => /: running$/.test(l))).toHaveLength(4);
    expect(lines.filter((l) => /: completed, accuracy 0\.\d{4}/.test(l))).toHaveLength(4);
    const withoutTime = (o: typeof sequential) => o.cells.map((c) => ({ id: c.cell.id, runs: c.runs.map(({ wallMs: _wall, ...rest }) => rest) }));
    // The same figures, in the grid's seed order, and the runs' own results.json the same bits (the time aside).
    expect(withoutTime(parallel)).toEqual(withoutTime(sequential));
    // The model's figures, round by round (times and byte counts, which carry times, differ between any two runs).
    for (const c of sequential.cells) {
      for (const seed of grid.seeds) {
        const read = (out: string) => {
          const r = JSON.parse(readFileSync(join(runDir(out, c.cell, seed), 'results.json'), 'utf8')) as { final: unknown; rounds: Array<{ round: number; accuracy: number; loss: number }> };
          return { final: r.final, rounds: r.rounds.map(({ round, accuracy, loss }) => ({ round, accuracy, loss })) };
        };
        expect(read(two)).toEqual(read(one));
      }
    }
    // The sweep's runs share each data set in memory (simulations/dataset-memo.ts): the last run, which read the
    // Heart data its cell's first seed-2 run loaded, gives what the same simulation gives loading its own.
    const last = sequential.cells.at(-1)?.cell;
    if (!last) throw new Error('no cell');
    const alone = await runSimulation({ ...last.simulation, seed: 2 }, { logger: silentLogger() });
    const swept = JSON.parse(readFileSync(join(runDir(one, last, 2), 'results.json'), 'utf8')) as { final: unknown; rounds: Array<{ accuracy: number; loss: number }> };
    expect({ final: alone.result.final, rounds: alone.result.rounds.map((r) => [r.accuracy, r.loss]) }).toEqual({ final: swept.final, rounds: swept.rounds.map((r) => [r.accuracy, r.loss]) });

    const again = await runSweep(grid, { out: two, logger: silentLogger(), parallel: 2 });
    expect({ ran: again.ran, skipped: again.skipped }).toEqual({ ran: 0, skipped: 4 });
  }, 180_000);

  it('in parallel, a failing run stops the sweep with its own error; runs already running finish and are kept', async () => {
    // Three clients cannot be the Heart data's natural split (four hospitals): those runs fail with the simulation's own code.
    const raw = { name: 'heart-fails', simulation: { dataset: 'heart', dataDir: SHARED_DATA_DIR, rounds: 1, clients: 3 }, seeds: [1, 2], axes: { partition: ['iid', 'natural'] } };
    const grid = parseGrid(raw, 'grid');
    const out = mkdtempSync(join(tmpdir(), 'tessera-sweep-fail-'));
    const error = await runSweep(grid, { out, logger: silentLogger(), parallel: 2 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isTesseraError(error) ? `${error.code}: ${error.message}` : String(error)).toMatch(/^TESSERA_ERR_INVALID_ARGUMENT: --partition natural gives 4 clients for heart/);
    const [iid, natural] = gridCells(grid);
    if (!iid || !natural) throw new Error('two cells expected');
    // The iid runs took the two threads first and finished: their outputs and done.json are kept for the next sweep.
    for (const seed of grid.seeds) expect(existsSync(join(runDir(out, iid, seed), 'done.json'))).toBe(true);
    for (const seed of grid.seeds) expect(existsSync(join(runDir(out, natural, seed), 'done.json'))).toBe(false);
    const resumed = await runSweep(parseGrid({ ...raw, axes: { partition: ['iid'] } }, 'grid'), { out, logger: silentLogger(), parallel: 2 });
    expect({ ran: resumed.ran, skipped: resumed.skipped }).toEqual({ ran: 0, skipped: 2 });

    // Failing runs first: the runs still waiting for a thread never start.
    const first = parseGrid({ ...raw, axes: { partition: ['natural', 'iid'] } }, 'grid');
    const out2 = mkdtempSync(join(tmpdir(), 'tessera-sweep-fail-first-'));
    await expect(runSweep(first, { out: out2, logger: silentLogger(), parallel: 2 })).rejects.toThrow(/--partition natural gives 4 clients/);
    const iid2 = gridCells(first)[1];
    if (!iid2) throw new Error('two cells expected');
    for (const seed of first.seeds) expect(existsSync(join(runDir(out2, iid2, seed), 'results.json'))).toBe(false);
  }, 180_000);
});
