/**
 * Runs a TypeScript script in a child process (npx → tsx → node, in its own process group; or another `runner`) and, when the
 * caller's line handler says so, SIGKILLs the whole group after a random 0–`killJitterMs` delay — landing the
 * kill anywhere in the next unit of work. Used by the crash tests of the ledger and the coordinator, and (with
 * `signal: 'SIGTERM'` and `env`) by the interrupted-sweep tests.
 */
import { spawn } from 'node:child_process';
import { cryptoRandom, uniformInt } from '../../privacy/random.ts';
import { REPO_ROOT } from '../paths.ts';

export interface ChildOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  /** Everything the child printed on stdout. */
  readonly stdout: string;
}

export function runKillableChild(o: {
  script: string;
  args: readonly string[];
  /** Called for each complete stdout line; return true to kill the child (once). */
  onLine: (line: string) => boolean;
  killJitterMs: number;
  timeoutMs: number;
  /** The signal the line handler's kill sends to the group (SIGKILL unless given); a timeout always SIGKILLs. */
  signal?: NodeJS.Signals;
  /** The child's environment (this process's unless given). */
  env?: NodeJS.ProcessEnv;
  /** The command that runs `script` (npx tsx unless given; e.g. [process.execPath] for a JavaScript entry). */
  runner?: readonly [string, ...string[]];
}): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const [command, ...runnerArgs] = o.runner ?? ['npx', 'tsx'];
    const child = spawn(command, [...runnerArgs, o.script, ...o.args], { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: o.env ?? process.env });
    const killGroup = (signal: NodeJS.Signals = 'SIGKILL'): void => {
      try {
        process.kill(-(child.pid as number), signal);
      } catch {
        // already gone
      }
    };
    let buffered = '';
    let stdout = '';
    let stderr = '';
    let killing = false;
    const timer = setTimeout(() => {
      killGroup();
      reject(new Error(`child ${o.script} timed out; stderr: ${stderr}`));
    }, o.timeoutMs);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (o.onLine(line) && !killing) {
          killing = true;
          setTimeout(() => killGroup(o.signal), uniformInt(cryptoRandom(), o.killJitterMs + 1));
        }
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      // Output still in the pipes when the child exits is read before resolving (within a grace period: a
      // grandchild that outlived the group kill must not hold the test up).
      const done = (): void => resolve({ code, signal, stderr, stdout });
      if (child.stdout.readableEnded && child.stderr.readableEnded) return done();
      const grace = setTimeout(done, 2_000);
      child.once('close', () => {
        clearTimeout(grace);
        done();
      });
    });
  });
}
