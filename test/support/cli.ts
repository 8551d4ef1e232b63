/** Runs `tessera …` as a child process (`node --import tsx cli/main.ts`), as a user's shell would. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../paths.ts';

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function cli(...args: readonly string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'cli/main.ts'), ...args], { cwd: REPO_ROOT, timeout: 120_000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      // -1: no exit code (killed by the timeout or a signal), never mistaken for a real exit status.
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}
