/**
 * Runs test/fixtures/resume-coordinator.ts (a seeded DP simulation with a state directory) in its own process
 * group and SIGKILLs it on one of the coordinator's own log lines: `cue` is the message, `round` the round it
 * must name (absent: the first line with that message). Shared by the resume tests.
 */
import { join } from 'node:path';
import { runKillableChild } from './killable-child.ts';
import { REPO_ROOT } from '../paths.ts';

const FIXTURE = join(REPO_ROOT, 'test/fixtures/resume-coordinator.ts');

export interface Kill {
  readonly cue: string;
  readonly round?: number;
}

export interface ResumeRun {
  readonly signal: NodeJS.Signals | null;
  readonly code: number | null;
  readonly stderr: string;
  /** The first round this process started (its resume point), if any. */
  readonly firstStarted: number | undefined;
  /** Rounds whose release gate passed in this process (charged). */
  readonly released: number[];
  /** `end <status> <accuracy> <loss> <weights sha256> <model version>` when the job ended. */
  readonly end: { status: string; accuracy: string; loss: string; weights: string; model: string } | null;
}

/** `strategy`: the job spec's strategy section (default FedAvg), passed to the fixture as JSON. */
export async function runResumeFixture(stateDir: string, rounds: number, kill?: Kill, jitterMs = 0, strategy?: Record<string, unknown>): Promise<ResumeRun> {
  let firstStarted: number | undefined;
  const released: number[] = [];
  let end: ResumeRun['end'] = null;
  const outcome = await runKillableChild({
    script: FIXTURE,
    args: strategy === undefined ? [stateDir, String(rounds)] : [stateDir, String(rounds), 'memory', JSON.stringify(strategy)],
    killJitterMs: jitterMs,
    // One fixture run takes 5–10 s on CI; the bound is for a hung child on a loaded machine (it kills the group).
    timeoutMs: 180_000,
    onLine(line) {
      if (line.startsWith('end ')) {
        const [, status = '', accuracy = '', loss = '', weights = '', model = ''] = line.split(' ');
        end = { status, accuracy, loss, weights, model };
        return false;
      }
      if (!line.startsWith('{')) return false;
      const entry = JSON.parse(line) as { msg?: string; round?: number; component?: string };
      if (entry.component !== 'coordinator') return false;
      if (entry.msg === 'round started' && firstStarted === undefined) firstStarted = entry.round;
      if (entry.msg === 'release gate passed' && entry.round !== undefined) released.push(entry.round);
      return kill !== undefined && entry.msg === kill.cue && (kill.round === undefined || entry.round === kill.round);
    },
  });
  return { signal: outcome.signal, code: outcome.code, stderr: outcome.stderr, firstStarted, released, end };
}
