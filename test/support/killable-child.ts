/**
 * Runs a TypeScript script in a child process (npx → tsx → node, in its own process group) and, when the
 * caller's line handler says so, SIGKILLs the whole group after a random 0–`killJitterMs` delay — landing the
 * kill anywhere in the next unit of work. Used by the crash tests of the ledger and the coordinator.
 */
import { spawn } from 'node:child_process';
import { cryptoRandom, uniformInt } from '../../privacy/random.ts';
import { REPO_ROOT } from '../paths.ts';

export interface ChildOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

export function runKillableChild(o: {
  script: string;
  args: readonly string[];
  /** Called for each complete stdout line; return true to kill the child (once). */
  onLine: (line: string) => boolean;
  killJitterMs: number;
  timeoutMs: number;
}): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn('npx', ['tsx', o.script, ...o.args], { cwd: REPO_ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const killGroup = (): void => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // already gone
      }
    };
    let buffered = '';
    let stderr = '';
    let killing = false;
    const timer = setTimeout(() => {
      killGroup();
      reject(new Error(`child ${o.script} timed out; stderr: ${stderr}`));
    }, o.timeoutMs);
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (o.onLine(line) && !killing) {
          killing = true;
          setTimeout(killGroup, uniformInt(cryptoRandom(), o.killJitterMs + 1));
        }
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}
