/**
 * Runs the ```sh blocks of one Markdown file the way a reader would: in order, in one fresh directory with a
 * fresh state directory, `npx tessera` (and a bare `tessera`) resolving to this checkout, `../shared/data`
 * pointing at the shared data sets, and `datasets/` and `bin/` linked in as seen from the repository root. Blocks marked `start` run in the background as their own process group
 * (servers: the coordinator, client nodes) until a later `stop` block or the end of the file; every group is
 * SIGKILLed, so no server outlives the test. The example's port 8740 and its host names are rewritten to a
 * port the harness picked on 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, SHARED_DATA_DIR } from '../paths.ts';
import type { FencedBlock } from './docs-markdown.ts';

export interface BlockRun {
  readonly code: number | null;
  readonly output: string;
}

/** The port number the documentation uses for the coordinator. */
export const DOCS_PORT = 8740;

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Rewrites the example's coordinator address to the harness's port on the loopback interface. */
export function rewriteAddresses(body: string, port: number): string {
  return body
    .replace(new RegExp(`\\b${DOCS_PORT}\\b`, 'g'), String(port))
    .replace(/coordinator\.example/g, '127.0.0.1')
    .replace(/http:\/\/coordinator:/g, 'http://127.0.0.1:')
    .replace(/--host 0\.0\.0\.0/g, '--host 127.0.0.1');
}

const PREAMBLE = [
  'set -eo pipefail',
  'shopt -s expand_aliases',
  // `npx tessera` runs this checkout's CLI without npm's lookup (and its ~0.8 s); other npx calls pass through.
  'npx() { if [ "$1" = tessera ]; then shift; tessera "$@"; else command npx "$@"; fi; }',
].join('\n');

export class DocSession {
  readonly dir: string;
  readonly work: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly background: { child: ChildProcess; output: string[] }[] = [];

  private constructor(readonly port: number) {
    this.dir = mkdtempSync(join(tmpdir(), 'tessera-docs-'));
    this.work = join(this.dir, 'work');
    const bin = join(this.dir, 'bin');
    for (const d of [this.work, bin, join(this.dir, 'home'), join(this.dir, 'shared')]) mkdirSync(d, { recursive: true });
    symlinkSync(SHARED_DATA_DIR, join(this.dir, 'shared', 'data'));
    // Paths into the checkout (datasets/contracts/…, bin/tessera.mjs) resolve as they do from the repository root.
    for (const d of ['datasets', 'bin']) symlinkSync(join(REPO_ROOT, d), join(this.work, d));
    writeFileSync(join(bin, 'tessera'), `#!/bin/sh\nexec node ${JSON.stringify(join(REPO_ROOT, 'bin', 'tessera.mjs'))} "$@"\n`, { mode: 0o755 });
    this.env = {
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      HOME: join(this.dir, 'home'),
      TESSERA_DATA_DIR: join(this.dir, 'shared', 'data'),
      LANG: 'C.UTF-8',
    };
  }

  static async open(): Promise<DocSession> {
    if (!existsSync(SHARED_DATA_DIR)) throw new Error(`the shared data sets are not at ${SHARED_DATA_DIR}: set TESSERA_DATA_DIR`);
    return new DocSession(await freePort());
  }

  private spawnBlock(block: FencedBlock): ChildProcess {
    const script = `${PREAMBLE}\n${rewriteAddresses(block.body, this.port)}\n`;
    return spawn('bash', ['-c', script], { cwd: this.work, env: this.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  /** Runs a block to completion (its process group is killed at the timeout). */
  run(block: FencedBlock, timeoutMs: number): Promise<BlockRun & { timedOut: boolean }> {
    return new Promise((resolve) => {
      const child = this.spawnBlock(block);
      const out: string[] = [];
      child.stdout?.on('data', (d: Buffer) => out.push(d.toString()));
      child.stderr?.on('data', (d: Buffer) => out.push(d.toString()));
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        killGroup(child);
      }, timeoutMs);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, output: out.join(''), timedOut });
      });
    });
  }

  /**
   * Starts a block in the background and waits until `ready` appears in the output of any background
   * process started so far (the coordinator prints "completed: …" when the clients have done their job).
   */
  start(block: FencedBlock, ready: string | undefined, timeoutMs: number): Promise<BlockRun & { ready: boolean }> {
    const child = this.spawnBlock(block);
    const entry = { child, output: [] as string[] };
    this.background.push(entry);
    const mark = this.background.map((b) => b.output.join('').length);
    child.stdout?.on('data', (d: Buffer) => entry.output.push(d.toString()));
    child.stderr?.on('data', (d: Buffer) => entry.output.push(d.toString()));
    let exited: number | null = null;
    child.on('close', (code) => (exited = code ?? -1));
    const since = (): string => this.background.map((b, i) => b.output.join('').slice(mark[i] ?? 0)).join('\n');
    return new Promise((resolve) => {
      const started = Date.now();
      const poll = setInterval(() => {
        const text = since();
        const isReady = ready === undefined || text.includes(ready);
        const failed = exited !== null && exited !== 0;
        if (isReady || failed || Date.now() - started > timeoutMs) {
          clearInterval(poll);
          resolve({ code: exited, output: text, ready: isReady && !failed });
        }
      }, 200);
    });
  }

  /** Kills every background process group started so far. */
  stopAll(): void {
    for (const b of this.background.splice(0)) killGroup(b.child);
  }

  close(): void {
    this.stopAll();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // the group is gone already
  }
}
