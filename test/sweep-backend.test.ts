/**
 * A parallel sweep's run threads train on the backend the sweep's own thread chose (simulations/sweep/run-messages.ts
 * RunThreadSetup.backend), not on whatever their own start-up would pick. Here this process runs on the pure
 * JavaScript `cpu` backend while TESSERA_BACKEND is unset, so a run thread left to itself would take `wasm` (the
 * default order) and train with other kernels than the sequential sweep in this process.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logger.ts';
import { initBackend } from '../ml/backend.ts';
import { parseGrid } from '../simulations/sweep/grid.ts';
import { runDir, runSweep } from '../simulations/sweep/run.ts';
import { SHARED_DATA_DIR } from './paths.ts';

describe('tessera sweep --parallel: the backend', () => {
  it('every run thread trains on the sweep thread\'s backend, so the figures are the sequential sweep\'s', async () => {
    expect(process.env.TESSERA_BACKEND ?? '').toBe('');
    expect((await initBackend('cpu')).name).toBe('cpu');
    const grid = parseGrid({ name: 'heart-cpu', simulation: { dataset: 'heart', dataDir: SHARED_DATA_DIR, rounds: 1 }, seeds: [1, 2], axes: { 'training.learningRate': [0.1] } }, 'grid');
    const one = mkdtempSync(join(tmpdir(), 'tessera-sweep-cpu-one-'));
    const two = mkdtempSync(join(tmpdir(), 'tessera-sweep-cpu-two-'));
    const sequential = await runSweep(grid, { out: one, logger: silentLogger() });
    const parallel = await runSweep(grid, { out: two, logger: silentLogger(), parallel: 2 });
    const cell = parallel.cells[0]?.cell;
    if (!cell) throw new Error('one cell expected');
    for (const seed of grid.seeds) {
      const results = JSON.parse(readFileSync(join(runDir(two, cell, seed), 'results.json'), 'utf8')) as { backend: string };
      expect(results.backend).toBe('cpu');
    }
    const figures = (o: typeof sequential) => o.cells.map((c) => c.runs.map(({ wallMs: _wall, ...rest }) => rest));
    expect(figures(parallel)).toEqual(figures(sequential));
  }, 180_000);
});
