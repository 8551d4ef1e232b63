/**
 * Lazy command registration (issue 18 §2, cli/program.ts): `tessera --help` answers from cli/groups.ts's listing
 * without loading any command module, so that listing must say exactly what the modules register. Here every
 * group's module is loaded and registered on its own program: its top-level commands, their descriptions and
 * whether they take options must be the listing's entry, and the program's help built from the listing must be
 * byte for byte the help of a program with every module registered (the eager CLI as it was). Then a real
 * process: the compiled `tessera --help` imports commander and no other package (no zod, no TensorFlow.js, no
 * SQLite), `tessera simulate --help` no TensorFlow.js, and `tessera help ledger` reaches the ledger's own help;
 * and a compiled simulation, main thread and training workers, runs the TensorFlow.js bundled into the build
 * (bin/compiled-cli.mjs) — no thread imports a @tensorflow package file.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { buildCli, freshBuild } from '../bin/compiled-cli.mjs';
import { COMMAND_GROUPS } from '../cli/groups.ts';
import { groupFor, registerCommands, registerListing, tesseraProgram } from '../cli/program.ts';
import { REPO_ROOT, SHARED_DATA_DIR } from './paths.ts';

const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'tessera-lazy-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('cli/groups.ts: the listing is what the modules register', () => {
  it('names, descriptions and options of every group match its module', async () => {
    for (const group of COMMAND_GROUPS) {
      const program = new Command('tessera');
      (await group.load())(program);
      const registered = program.commands.map((c) => ({ name: c.name(), options: c.options.length > 0, description: c.description() }));
      expect(registered, `cli/groups.ts: update the entry of '${group.file}' to what cli/${group.file}.ts registers`).toEqual(group.commands);
    }
  }, 60_000);

  it("the program's help from the listing equals the help with every module registered", async () => {
    const eager = tesseraProgram();
    for (const group of COMMAND_GROUPS) (await group.load())(eager);
    const lazy = tesseraProgram();
    registerListing(lazy);
    expect(lazy.helpInformation()).toBe(eager.helpInformation());
    expect(lazy.helpInformation()).toContain('simulate [options]');
  }, 60_000);

  it('loads the group of the first argument, or of the command after help, and nothing for options or unknown names', async () => {
    expect(groupFor(['simulate', '--workers', '2'])?.file).toBe('simulate');
    expect(groupFor(['rollback', '--canary'])?.file).toBe('deploy');
    expect(groupFor(['help', 'ledger'])?.file).toBe('ledger');
    expect(groupFor(['-h', 'simulate'])).toBeUndefined();
    expect(groupFor(['--version'])).toBeUndefined();
    expect(groupFor(['help'])).toBeUndefined();
    expect(groupFor(['bogus'])).toBeUndefined();
    expect(groupFor([])).toBeUndefined();
    const program = tesseraProgram();
    await registerCommands(program, ['ledger', '--help']);
    expect(program.commands.map((c) => c.name())).toEqual(['ledger']);
  }, 60_000);
});

describe('the compiled CLI loads only what a call needs', () => {
  // An ES module loader hook that writes every module URL it loads to stderr (packages are imported as ES modules).
  const hooks = join(scratch, 'hooks.mjs');
  writeFileSync(hooks, "export async function load(url, context, next) { process.stderr.write(`LOADED ${url}\\n`); return next(url, context); }\n");
  const register = join(scratch, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);

  async function packagesLoaded(args: readonly string[]): Promise<{ stdout: string; packages: Set<string>; modules: string[] }> {
    const dir = freshBuild(REPO_ROOT) ?? (await buildCli(REPO_ROOT));
    if (dir === null) throw new Error('the compiled CLI is being built by another process');
    const { stdout, stderr } = await run(process.execPath, ['--import', pathToFileURL(register).href, join(dir, 'main.js'), ...args], { cwd: REPO_ROOT, timeout: 60_000 });
    const modules = stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7));
    const packages = new Set(modules.flatMap((u) => /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.slice(1, 2) ?? []));
    return { stdout, packages, modules };
  }

  it('`tessera --help` imports commander and no other package; `simulate --help` no TensorFlow.js', async () => {
    const help = await packagesLoaded(['--help']);
    expect(help.stdout).toContain('Usage: tessera');
    expect(help.stdout).toContain('retention');
    expect([...help.packages]).toEqual(['commander']);
    // No chunk holding TensorFlow.js, zod schemas or a command group either: main.js and the listing only.
    expect(help.modules.filter((u) => u.includes('/.tessera-build/')).length).toBeLessThanOrEqual(2);

    const simulate = await packagesLoaded(['simulate', '--help']);
    expect(simulate.stdout).toContain('--workers');
    expect([...simulate.packages].filter((p) => p.startsWith('@tensorflow/') || p === 'better-sqlite3')).toEqual([]);

    const ledger = await packagesLoaded(['help', 'ledger']);
    expect(ledger.stdout).toContain('Usage: tessera ledger');
  }, 120_000);

  it('TensorFlow.js is in the build: a simulation on two worker threads imports no @tensorflow package file', async () => {
    // The hook is registered in the worker threads too (they inherit --import), so their imports are listed as well.
    // With --state the model is registered, which imports tfjs dynamically (`await import('@tensorflow/tfjs')`):
    // the bundled package must offer every named export there too, as Node does, not only `default`.
    const sim = await packagesLoaded(['simulate', '--dataset', 'heart', '--data-dir', SHARED_DATA_DIR, '--rounds', '1', '--no-contract', '--workers', '2', '--state', join(scratch, 'state'), '--json']);
    const doc = JSON.parse(sim.stdout) as { backend: string; trainingWorkers?: { count: number; tasks: number }; rounds: Array<{ participants: number }>; registered?: { version: string } };
    expect(doc.registered?.version).toBeDefined();
    expect(doc.backend).toBe('wasm');
    expect(doc.trainingWorkers?.count).toBe(2);
    expect(doc.rounds[0]?.participants).toBe(4);
    expect(sim.modules.filter((u) => u.includes('/training-worker.js')).length).toBeGreaterThanOrEqual(1);
    expect([...sim.packages].filter((p) => p.startsWith('@tensorflow/'))).toEqual([]);
  }, 120_000);
});
