/**
 * The compiled CLI (issue 18 §2, bin/compiled-cli.mjs) never runs stale code. On a scratch project with the
 * CLI's two entry points: a build runs; editing a module the entry imports makes the build stale and the next
 * build prints the new text; a file touched with the same bytes stays fresh (the contents decide, not the
 * times); a file nobody imports does not matter; a deleted input makes it stale; `import.meta.url` in a compiled
 * module is the module's source location; a build held by another process (the lock) is not waited for.
 * Then the real checkout: `bin/tessera.mjs` runs the compiled build, and a simulation's training workers start
 * from it (the pool finds the compiled worker, the clients train there and report to the coordinator).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCli, compiledMain, freshBuild } from '../bin/compiled-cli.mjs';
import { REPO_ROOT, SHARED_DATA_DIR } from './paths.ts';

const run = promisify(execFile);
const root = mkdtempSync(join(tmpdir(), 'tessera-compiled-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function write(file: string, text: string): void {
  mkdirSync(join(root, file, '..'), { recursive: true });
  writeFileSync(join(root, file), text);
}

async function runMain(dir: string): Promise<string> {
  const { stdout } = await run(process.execPath, [join(dir, 'main.js')], { cwd: root, timeout: 30_000 });
  return stdout.trim();
}

describe('bin/compiled-cli.mjs: the build is keyed on the sources it compiled', () => {
  it('rebuilds after an edit, ignores touches and unimported files, and compiled modules see their source URL', async () => {
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'));
    write('lib/text.ts', "export const text: string = 'first';\n");
    write('lib/where.ts', 'export const where: string = import.meta.url;\n');
    write('lib/unused.ts', "export const unused = 'nobody imports me';\n");
    write('cli/main.ts', "import { text } from '../lib/text.ts';\nimport { where } from '../lib/where.ts';\nconsole.log(`${text} ${where}`);\n");
    write('simulations/training-worker.ts', 'export {};\n');
    write('simulations/sweep/run-worker.ts', 'export {};\n');

    expect(freshBuild(root)).toBeNull();
    const first = await buildCli(root);
    expect(first).not.toBeNull();
    expect(freshBuild(root)).toBe(first);
    expect(await runMain(first as string)).toBe(`first ${pathToFileURL(join(root, 'lib/where.ts')).href}`);

    // Same bytes, new time: still fresh (the hash decides), and the new times are recorded.
    const later = new Date(Date.now() + 5_000);
    utimesSync(join(root, 'lib/text.ts'), later, later);
    expect(freshBuild(root)).toBe(first);
    // A file no input imports cannot change the program.
    write('lib/unused.ts', "export const unused = 'edited';\n");
    expect(freshBuild(root)).toBe(first);

    // An edit of an imported module: stale, and the next build runs the new code.
    write('lib/text.ts', "export const text: string = 'second';\n");
    expect(freshBuild(root)).toBeNull();
    expect(await compiledMain(root)).not.toBe(join(first as string, 'main.js'));
    const second = freshBuild(root);
    expect(second).not.toBeNull();
    expect(second).not.toBe(first);
    expect((await runMain(second as string)).startsWith('second ')).toBe(true);

    // An input deleted: stale.
    rmSync(join(root, 'lib/where.ts'));
    expect(freshBuild(root)).toBeNull();
    write('lib/where.ts', 'export const where: string = import.meta.url;\n');
  }, 60_000);

  it('does not wait for another process that holds the build lock: the caller runs the sources', async () => {
    write('lib/text.ts', "export const text: string = 'third';\n");
    mkdirSync(join(root, '.tessera-build', 'build.lock'));
    try {
      expect(freshBuild(root)).toBeNull();
      expect(await buildCli(root)).toBeNull();
      expect(await compiledMain(root)).toBeNull();
    } finally {
      rmSync(join(root, '.tessera-build', 'build.lock'), { recursive: true });
    }
    expect(await compiledMain(root)).not.toBeNull();
    expect(readFileSync(join(root, '.tessera-build', 'manifest.json'), 'utf8')).toContain('lib/text.ts');
  }, 60_000);
});

describe('bin/compiled-cli.mjs: the process that builds runs one TensorFlow.js', () => {
  it('the building process and a later one both get the wasm backend, with no kernel registered twice', async () => {
    const project = mkdtempSync(join(tmpdir(), 'tessera-compiled-tf-'));
    try {
      symlinkSync(join(REPO_ROOT, 'node_modules'), join(project, 'node_modules'));
      mkdirSync(join(project, 'cli'));
      mkdirSync(join(project, 'simulations', 'sweep'), { recursive: true });
      writeFileSync(join(project, 'simulations/training-worker.ts'), 'export {};\n');
      writeFileSync(join(project, 'simulations/sweep/run-worker.ts'), 'export {};\n');
      // What ml/backend.ts does: the wasm backend on the bundled tfjs.
      writeFileSync(
        join(project, 'cli/main.ts'),
        [
          "import * as tf from '@tensorflow/tfjs';",
          "import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';",
          "import { createRequire } from 'node:module';",
          "import { dirname } from 'node:path';",
          "setWasmPaths(`${dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'))}/`);",
          "console.log(await tf.setBackend('wasm') ? tf.getBackend() : 'no wasm');",
          '',
        ].join('\n'),
      );
      // As bin/tessera.mjs: compiledMain builds (the build is stale: there is none) and the same process runs it.
      const starter = `import { compiledMain } from ${JSON.stringify(pathToFileURL(join(REPO_ROOT, 'bin/compiled-cli.mjs')).href)};\nimport { pathToFileURL } from 'node:url';\nconst main = await compiledMain(${JSON.stringify(project)});\nif (main === null) throw new Error('no build');\nawait import(pathToFileURL(main).href);\n`;
      const building = await run(process.execPath, ['--input-type=module', '-e', starter], { cwd: project, timeout: 120_000 });
      expect(freshBuild(project)).not.toBeNull();
      const later = await run(process.execPath, ['--input-type=module', '-e', starter], { cwd: project, timeout: 60_000 });
      for (const r of [building, later]) {
        expect(r.stdout.trim()).toBe('wasm');
        expect(r.stderr).not.toMatch(/already registered|already been set/);
      }
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('bin/tessera.mjs on this checkout', () => {
  it('runs the compiled CLI, and a simulation started from it trains its clients on compiled worker threads', async () => {
    const help = await run(process.execPath, [join(REPO_ROOT, 'bin/tessera.mjs'), '--help'], { cwd: REPO_ROOT, timeout: 60_000 });
    expect(help.stdout).toContain('Usage: tessera');
    expect(freshBuild(REPO_ROOT)).not.toBeNull();
    const sim = await run(process.execPath, [join(REPO_ROOT, 'bin/tessera.mjs'), 'simulate', '--dataset', 'heart', '--data-dir', SHARED_DATA_DIR, '--rounds', '1', '--no-contract', '--workers', '2', '--json'], { cwd: REPO_ROOT, timeout: 120_000 });
    const doc = JSON.parse(sim.stdout) as { config: { workers: number }; rounds: Array<{ participants: number }> };
    expect(doc.config.workers).toBe(2);
    // A worker that failed to start would decline its tasks (TESSERA_ERR_WORKER_FAILED): all four hospitals trained.
    expect(doc.rounds[0]?.participants).toBe(4);
  }, 150_000);
});
