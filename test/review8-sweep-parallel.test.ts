/**
 * Review of `tessera sweep --parallel N` (issue 18 §4; simulations/sweep/run-pool.ts): real run threads, real data
 * from ../shared/data, real CLI processes where the process matters (signals, exit, stdout). Each test plays what
 * could break a claim: an interrupted sweep (SIGTERM mid-run, a done.json torn by a crash), a run thread that
 * exhausts its heap, runs whose error carries details, two runs sharing one directory, usage errors, the compiled
 * CLI and its stale builds, logging into a `--json` stdout, and training workers nested inside run threads.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCli, compiledMain, freshBuild } from '../bin/compiled-cli.mjs';
import { silentLogger } from '../lib/logger.ts';
import { isTesseraError } from '../protocol/errors.ts';
import { gridCells, parseGrid } from '../simulations/sweep/grid.ts';
import { SweepRunPool } from '../simulations/sweep/run-pool.ts';
import { runDir, runSweep, type SweepOutcome } from '../simulations/sweep/run.ts';
import { cli } from './support/cli.ts';
import { runKillableChild } from './support/killable-child.ts';
import { REPO_ROOT, SHARED_DATA_DIR } from './paths.ts';

const scratch = mkdtempSync(join(tmpdir(), 'tessera-review8-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function writeGrid(name: string, grid: unknown): string {
  const file = join(scratch, `${name}.json`);
  writeFileSync(file, JSON.stringify(grid));
  return file;
}

/** A run's outputs are whole: results.json parses and agrees with done.json, the report and the CSV are complete. */
function outputsWhole(dir: string): boolean {
  try {
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { final: { accuracy: number | null } };
    const done = JSON.parse(readFileSync(join(dir, 'done.json'), 'utf8')) as { accuracy: number | null };
    return results.final.accuracy === done.accuracy && readFileSync(join(dir, 'report.html'), 'utf8').trimEnd().endsWith('</html>') && readFileSync(join(dir, 'rounds.csv'), 'utf8').split('\n').length > 2;
  } catch {
    return false;
  }
}

function has(dir: string, file: string): boolean {
  try {
    statSync(join(dir, file));
    return true;
  } catch {
    return false;
  }
}

/** The figures of every run (times aside), cell by cell in grid order. */
const figuresOf = (o: SweepOutcome) => o.cells.map((c) => c.runs.map(({ wallMs: _wall, ...rest }) => rest));

/** The model's figures in a run's results.json (times and byte counts, which carry times, differ between any two runs). */
function modelFigures(dir: string): unknown {
  const r = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as { final: unknown; rounds: Array<{ round: number; accuracy: number; loss: number }> };
  return { final: r.final, rounds: r.rounds.map(({ round, accuracy, loss }) => ({ round, accuracy, loss })) };
}

/** pino's JSON log lines (operator logs go to stderr), as parsed objects. */
function logLines(text: string): Array<{ level: number; msg: string }> {
  return text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as { level: number; msg: string });
}

describe('tessera sweep --parallel: a run failing on a thread fails as it would on the main thread', () => {
  it("keeps the run's own error whole, details included (sequential and parallel print the same --json error)", async () => {
    // Secure aggregation and a median: refused at assembly with TESSERA_ERR_STRATEGY_INCOMPATIBLE and details {where}.
    const grid = parseGrid({ name: 'details', simulation: { dataset: 'heart', dataDir: SHARED_DATA_DIR, rounds: 1, job: { secagg: { enabled: true } } }, seeds: [1, 2], axes: { 'strategy.aggregator': [{ kind: 'median' }] } }, 'grid');
    const failure = async (parallel: number): Promise<unknown> => {
      const e = await runSweep(grid, { out: mkdtempSync(join(scratch, 'details-')), logger: silentLogger(), parallel }).then(() => null, (x: unknown) => x);
      return isTesseraError(e) ? e.toJSON() : String(e);
    };
    const sequential = await failure(1);
    expect(sequential).toMatchObject({ code: 'TESSERA_ERR_STRATEGY_INCOMPATIBLE', details: { where: 'strategy.aggregator' } });
    // Before the fix the reply carried code and message only: the parallel error had no details.
    expect(await failure(2)).toEqual(sequential);
  });

  it("a run whose done.json cannot be written fails the sweep, as it does one after another (it was dropped from the table in silence)", async () => {
    const grid = parseGrid({ name: 'unrecorded', simulation: { dataset: 'heart', dataDir: SHARED_DATA_DIR, rounds: 1 }, seeds: [1, 2], axes: { 'training.learningRate': [0.1] } }, 'grid');
    const [cell] = gridCells(grid);
    if (!cell) throw new Error('one cell expected');
    for (const parallel of [1, 2]) {
      const out = mkdtempSync(join(scratch, 'unrecorded-'));
      // A directory where seed 2's done.json goes: the run finishes, recording it fails (EISDIR).
      mkdirSync(join(runDir(out, cell, 2), 'done.json'), { recursive: true });
      const outcome = await runSweep(grid, { out, logger: silentLogger(), parallel }).then((o) => `resolved with ${o.cells[0]?.runs.length} of 2 runs`, (e: unknown) => String(e));
      expect({ parallel, outcome }).toEqual({ parallel, outcome: expect.stringMatching(/EISDIR/) });
    }
  });

  it('refuses a grid whose runs would share one directory (two seeds or two cells), before running anything', () => {
    const base = { simulation: { dataset: 'heart', dataDir: SHARED_DATA_DIR } };
    const refusal = (raw: unknown): string => {
      try {
        gridCells(parseGrid(raw, 'grid.json'));
        return 'accepted';
      } catch (e) {
        return isTesseraError(e) ? `${e.code}: ${e.message}` : String(e);
      }
    };
    // Before the fix each pair below ran twice into one directory: under --parallel two threads wrote the same
    // files at once, and one done.json stood for both runs (the other seed's figures read back on resume).
    expect(refusal({ ...base, seeds: [1, '1'], axes: { 'training.learningRate': [0.1] } })).toBe('TESSERA_ERR_SWEEP_GRID: grid.json: seeds 1 and "1" would share the output directory seed-1; list each seed once');
    expect(refusal({ ...base, seeds: ['a b', 'a_b'], axes: { 'training.learningRate': [0.1] } })).toMatch(/^TESSERA_ERR_SWEEP_GRID: grid\.json: seeds "a b" and "a_b" would share the output directory seed-a_b/);
    expect(refusal({ ...base, seeds: [3, 3], axes: { 'training.learningRate': [0.1] } })).toMatch(/^TESSERA_ERR_SWEEP_GRID: grid\.json: seeds 3 and 3 would share/);
    expect(refusal({ ...base, seeds: [1], axes: { 'training.learningRate': [0.1, 0.1] } })).toMatch(/^TESSERA_ERR_SWEEP_GRID: cells training\.learningRate = 0\.1 and training\.learningRate = 0\.1 run the same simulation \(cell-[0-9a-f]{12}\)/);
    expect(refusal({ ...base, seeds: [1], axes: { lr: { slow: { training: { learningRate: 0.1 } }, also: { training: { learningRate: 0.1 } } } } })).toMatch(/^TESSERA_ERR_SWEEP_GRID: cells lr: slow and lr: also run the same simulation/);
    expect(refusal({ ...base, seeds: [1, 2, 'x'], axes: { 'training.learningRate': [0.1, 0.2] } })).toBe('accepted');
  });
});

describe('tessera sweep --parallel: stopped half-way, nothing is lost and only what is missing runs again', () => {
  const grid = { name: 'interrupted', simulation: { dataset: 'heart', dataDir: SHARED_DATA_DIR, rounds: 3 }, seeds: [1, 2, 3, 4], axes: { 'training.learningRate': [0.1] } };
  const out = join(scratch, 'interrupted');

  it('SIGTERM of the CLI mid-sweep: the process ends, every done.json stands for whole outputs, the next call runs only the rest', async () => {
    const file = writeGrid('interrupted', grid);
    // The signal lands right after the first run is reported finished: the other thread is mid-run (or mid-write).
    const child = await runKillableChild({ script: 'cli/main.ts', args: ['sweep', '--grid', file, '--out', out, '--parallel', '2'], onLine: (l) => / completed, accuracy /.test(l), killJitterMs: 300, timeoutMs: 240_000, signal: 'SIGTERM' });
    expect(child.signal ?? child.code).not.toBe(0);
    const parsed = parseGrid(grid, 'grid');
    const [cell] = gridCells(parsed);
    if (!cell) throw new Error('one cell expected');
    const dirs = parsed.seeds.map((s) => runDir(out, cell, s));
    const done = dirs.filter((d) => has(d, 'done.json'));
    expect(done.length).toBeGreaterThanOrEqual(1);
    expect(done.length).toBeLessThan(4);
    for (const d of done) expect(outputsWhole(d)).toBe(true);
    // Resumed (with more threads than runs left): exactly the missing runs run.
    const resumed = await runSweep(parsed, { out, logger: silentLogger(), parallel: 8 });
    expect({ ran: resumed.ran, skipped: resumed.skipped }).toEqual({ ran: 4 - done.length, skipped: done.length });
    for (const d of dirs) expect(outputsWhole(d)).toBe(true);
  }, 300_000);

  it('a done.json torn by a crash is a run not finished: --dry-run --parallel 2 counts it so and runs nothing; the next sweep re-runs it alone', async () => {
    const parsed = parseGrid(grid, 'grid');
    const [cell] = gridCells(parsed);
    if (!cell) throw new Error('one cell expected');
    const torn = runDir(out, cell, 2);
    const text = readFileSync(join(torn, 'done.json'), 'utf8');
    writeFileSync(join(torn, 'done.json'), text.slice(0, text.length >> 1));
    const before = readdirSync(out, { recursive: true }).map(String).sort();
    const resultsTime = statSync(join(torn, 'results.json')).mtimeMs;

    const dry = await cli('sweep', '--grid', writeGrid('interrupted', grid), '--out', out, '--dry-run', '--parallel', '2', '--json');
    expect(dry.code).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, cells: [{ id: cell.id, runs: 4, finished: 3 }] });
    expect(readdirSync(out, { recursive: true }).map(String).sort()).toEqual(before);
    expect(statSync(join(torn, 'results.json')).mtimeMs).toBe(resultsTime);

    // Before the fix the sweep itself failed on the torn file (JSON.parse: TESSERA_ERR_INTERNAL) on every call.
    const again = await runSweep(parsed, { out, logger: silentLogger(), parallel: 2 });
    expect({ ran: again.ran, skipped: again.skipped }).toEqual({ ran: 1, skipped: 3 });
    expect(outputsWhole(torn)).toBe(true);
    // done.json is renamed into place: no temporary file is left beside it.
    expect(readdirSync(torn).filter((f) => f.includes('.tmp'))).toEqual([]);
  }, 300_000);
});

describe('tessera sweep --parallel: a run thread that dies', () => {
  it('a run exhausting its thread heap fails with TESSERA_ERR_WORKER_FAILED naming it; the running run finishes and is kept; the CLI exits 1 with one JSON document', async () => {
    // --max-old-space-size applies to every isolate of the process: 3000 Adult clients outgrow 120 MB, 10 do not.
    const file = writeGrid('heap', { name: 'heap', simulation: { dataset: 'adult', dataDir: SHARED_DATA_DIR, rounds: 1, checkContract: false }, seeds: [1], axes: { clients: [10, 3000] } });
    const out = join(scratch, 'heap');
    const child = await runKillableChild({ script: 'cli/main.ts', args: ['sweep', '--grid', file, '--out', out, '--parallel', '2', '--json'], onLine: () => false, killJitterMs: 0, timeoutMs: 240_000, env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=120' } });
    expect({ code: child.code, signal: child.signal }).toEqual({ code: 1, signal: null });
    const doc = JSON.parse(child.stdout) as { error: { code: string; message: string } };
    expect(doc.error.code).toBe('TESSERA_ERR_WORKER_FAILED');
    expect(doc.error.message).toMatch(/^the sweep's run thread running \[2\/2\] clients = 3000, seed 1 failed: .*heap out of memory/);
    // Logs at the sweep's level (errors only): progress and the error line on stderr, no operator log lines.
    expect(logLines(child.stderr)).toEqual([]);
    const [light, heavy] = gridCells(parseGrid(JSON.parse(readFileSync(file, 'utf8')), 'grid'));
    if (!light || !heavy) throw new Error('two cells expected');
    expect(outputsWhole(runDir(out, light, 1))).toBe(true);
    expect(has(runDir(out, heavy, 1), 'done.json')).toBe(false);
  }, 300_000);

  it('the dead thread is replaced: a pool one thread wide runs the next run after the heavy one died', async () => {
    const child = await runKillableChild({ script: 'test/support/sweep-pool-child.ts', args: [SHARED_DATA_DIR, join(scratch, 'pool')], onLine: () => false, killJitterMs: 0, timeoutMs: 240_000, env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=120' } });
    expect(child.code).toBe(0);
    const ended = JSON.parse(child.stdout) as { heavy: string; light: string };
    expect(ended.heavy).toMatch(/^TESSERA_ERR_WORKER_FAILED: the sweep's run thread running the heavy run failed: .*memory limit/);
    expect(ended.light).toBe('finished: completed');
  }, 300_000);
});

describe('the sweep run pool closed with a run on a thread', () => {
  it('settles that run with TESSERA_ERR_WORKER_FAILED (it never settled: the thread was marked dead before it could fail its run)', async () => {
    const pool = new SweepRunPool(1, { logLevel: 'silent', backend: 'wasm' });
    const running = pool.run({ dataset: 'heart', dataDir: SHARED_DATA_DIR, rounds: 1 }, 1, join(scratch, 'closed'), 'the closed run').then(
      () => 'finished',
      (e: unknown) => (isTesseraError(e) ? `${e.code}: ${e.message}` : String(e)),
    );
    await pool.close();
    let timer: NodeJS.Timeout | undefined;
    const hung = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still pending 10 s after close()'), 10_000)));
    const outcome = await Promise.race([running, hung]);
    clearTimeout(timer);
    expect(outcome).toMatch(/^TESSERA_ERR_WORKER_FAILED: the sweep's run thread running the closed run failed: the pool closed while it ran/);
  });
});

describe('a run thread that cannot start', () => {
  it('fails its run and is not restarted while no run waits for a thread (it was, about 12 times a second, until close())', async () => {
    // tsx cannot register with a tsconfig that does not exist: every thread started from the sources' bootstrap
    // (run-worker.mjs) dies at start-up. Threads take the environment they are created with.
    const saved = process.env.TSX_TSCONFIG_PATH;
    process.env.TSX_TSCONFIG_PATH = join(scratch, 'no-such-tsconfig.json');
    const pool = new SweepRunPool(1, { logLevel: 'silent', backend: 'wasm' });
    try {
      const outcome = await pool.run({ dataset: 'heart', dataDir: SHARED_DATA_DIR, rounds: 1 }, 1, join(scratch, 'no-start'), 'the first run').then(
        () => 'finished',
        (e: unknown) => (isTesseraError(e) ? `${e.code}: ${e.message}` : String(e)),
      );
      expect(outcome).toMatch(/^TESSERA_ERR_WORKER_FAILED: the sweep's run thread running the first run failed: .*tsconfig/);
      // Idle for 3 s: this process's CPU (every thread's) stays near nothing; restarting threads that die at once
      // spent seconds of it.
      const before = process.cpuUsage();
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const used = process.cpuUsage(before);
      expect((used.user + used.system) / 1000).toBeLessThan(500);
    } finally {
      if (saved === undefined) delete process.env.TSX_TSCONFIG_PATH;
      else process.env.TSX_TSCONFIG_PATH = saved;
      await pool.close();
    }
  });
});

describe('tessera sweep --parallel on the command line', () => {
  it('--parallel 0, x and 1.5 are usage errors naming the option; nothing is written', async () => {
    const file = writeGrid('usage', { name: 'usage', simulation: { dataset: 'heart', dataDir: SHARED_DATA_DIR, rounds: 1 }, seeds: [1], axes: { 'training.learningRate': [0.1] } });
    for (const value of ['0', 'x', '1.5']) {
      const out = join(scratch, `usage-${value}`);
      const r = await cli('sweep', '--grid', file, '--out', out, '--parallel', value);
      expect({ value, code: r.code, named: /--parallel/.test(r.stderr) }).toEqual({ value, code: 2, named: true });
      expect(has(out, 'grid.json')).toBe(false);
    }
  });

  it('training workers inside run threads (simulation.workers 2 under --parallel 2) give the sequential figures; --json stdout is one document and --verbose logs the threads at info on stderr', async () => {
    const raw = { name: 'nested', simulation: { dataset: 'heart', dataDir: SHARED_DATA_DIR, rounds: 2, workers: 2 }, seeds: [1, 2], axes: { 'training.learningRate': [0.1] } };
    const grid = parseGrid(raw, 'grid');
    const one = join(scratch, 'nested-one');
    const two = join(scratch, 'nested-two');
    const sequential = await runSweep(grid, { out: one, logger: silentLogger() });
    const r = await cli('sweep', '--grid', writeGrid('nested', raw), '--out', two, '--parallel', '2', '--json', '--verbose');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout) as { ran: number; skipped: number };
    expect({ ran: doc.ran, skipped: doc.skipped }).toEqual({ ran: 2, skipped: 0 });
    // Each run thread's simulation logs its backend, and each nested training pool its workers, at info (30).
    const logs = logLines(r.stderr);
    expect(logs.filter((l) => l.msg === 'TensorFlow.js backend' && l.level === 30)).toHaveLength(2);
    expect(logs.filter((l) => l.msg === 'training worker ready').length).toBeGreaterThanOrEqual(2);
    const [cell] = gridCells(grid);
    if (!cell) throw new Error('one cell expected');
    for (const seed of grid.seeds) {
      const done = (out: string) => {
        const { wallMs: _wall, ...rest } = JSON.parse(readFileSync(join(runDir(out, cell, seed), 'done.json'), 'utf8')) as { wallMs: number };
        return rest;
      };
      expect(done(two)).toEqual(done(one));
      expect(modelFigures(runDir(two, cell, seed))).toEqual(modelFigures(runDir(one, cell, seed)));
    }
    expect(figuresOf(sequential)[0]).toHaveLength(2);
  }, 300_000);
});

describe('tessera sweep --parallel from the compiled CLI', () => {
  it('a build of BUILD_FORMAT 3 is stale: it is rebuilt, with the sweep run thread as an entry of its own', async () => {
    const project = mkdtempSync(join(scratch, 'format-'));
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(project, 'node_modules'));
    for (const [file, text] of [
      ['cli/main.ts', "console.log('main');\n"],
      ['simulations/training-worker.ts', 'export {};\n'],
      ['simulations/sweep/run-worker.ts', "console.log('run thread');\n"],
    ] as const) {
      mkdirSync(join(project, file, '..'), { recursive: true });
      writeFileSync(join(project, file), text);
    }
    const first = await buildCli(project);
    if (first === null) throw new Error('no build');
    expect(readdirSync(first)).toContain('sweep-run-worker.js');
    expect(freshBuild(project)).toBe(first);
    // The manifest of the build before the sweep run thread existed (format 3), otherwise the same: never used.
    const manifest = join(project, '.tessera-build', 'manifest.json');
    writeFileSync(manifest, JSON.stringify({ ...(JSON.parse(readFileSync(manifest, 'utf8')) as object), format: 3 }));
    expect(freshBuild(project)).toBeNull();
    const main = await compiledMain(project);
    expect(main).not.toBeNull();
    expect(main).not.toBe(join(first, 'main.js'));
    expect(readdirSync(join(main as string, '..'))).toContain('sweep-run-worker.js');
  }, 300_000);

  it('bin/tessera.mjs runs a parallel sweep on its compiled run threads, each training on compiled training workers', async () => {
    const raw = { name: 'compiled', simulation: { dataset: 'heart', dataDir: SHARED_DATA_DIR, rounds: 1, checkContract: false, workers: 2 }, seeds: [1, 2], axes: { 'training.learningRate': [0.1] } };
    const file = writeGrid('compiled', raw);
    const out = join(scratch, 'compiled');
    // tsx cannot register with a tsconfig that does not exist ("Cannot resolve tsconfig"): a thread started from the
    // sources' bootstrap (run-worker.mjs, training-worker.mjs) would die, so a sweep that completes ran compiled threads.
    // The compiled CLI itself never loads tsx.
    const child = await runKillableChild({ script: 'bin/tessera.mjs', args: ['sweep', '--grid', file, '--out', out, '--parallel', '2', '--json'], onLine: () => false, killJitterMs: 0, timeoutMs: 240_000, runner: [process.execPath], env: { ...process.env, TESSERA_CLI_SOURCES: undefined, TSX_TSCONFIG_PATH: join(scratch, 'no-such-tsconfig.json') } });
    expect(child.code).toBe(0);
    expect(JSON.parse(child.stdout)).toMatchObject({ ran: 2, skipped: 0 });
    // A training worker that failed to start inside a run thread would decline its tasks: all four hospitals trained.
    const [cell] = gridCells(parseGrid(raw, 'grid'));
    if (!cell) throw new Error('one cell expected');
    for (const seed of raw.seeds) {
      const results = JSON.parse(readFileSync(join(runDir(out, cell, seed), 'results.json'), 'utf8')) as { rounds: Array<{ participants: number }> };
      expect(results.rounds.map((r) => r.participants)).toEqual([4]);
    }
    // The build it ran holds the compiled run thread, and its pool names that file (not the sources' tsx bootstrap).
    const dir = freshBuild(REPO_ROOT);
    if (dir === null) throw new Error('the compiled CLI left no fresh build');
    expect(readdirSync(dir)).toContain('sweep-run-worker.js');
    const chunks = readdirSync(dir).filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(dir, f), 'utf8'));
    expect(chunks.some((c) => c.includes('"sweep-run-worker.js"'))).toBe(true);
  }, 300_000);
});
