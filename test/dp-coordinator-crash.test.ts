/**
 * Charge before release, under SIGKILL (issue 11 §3). A child process runs a real DP coordinator
 * (test/fixtures/dp-coordinator.ts: `runSimulation` with a state directory — the real round loop, the release gate
 * that commits the ledger charge before the round's aggregate exists, federated evaluation that sends the new
 * weights to every client, and the round-commit transaction). The test SIGKILLs its process group at each stage,
 * cued by the coordinator's own log lines:
 *   1. just after the charge ('release gate passed', logged once its transaction committed — the aggregate is
 *      now computable);
 *   2. just after the new weights were dispatched for evaluation ('evaluation dispatched');
 *   3. in the commit ('round committing' — the round row and audit entry transaction);
 * then restarts the same spec on the same state, which resumes the same job (stable job id). After every kill:
 * every round the child announced as charged or released is charged in the ledger, exactly once; every committed
 * round is charged; ε follows the accountant; a restart resumes after the last charged round and never charges a
 * round twice; finally the job stops exactly at its budget.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chargedRounds, orgSpend } from '../governance/ledger/index.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { roundRecords } from '../coordinator/state/job-store.ts';
import { epsilonFor } from '../privacy/accountant/index.ts';
import { DEFAULT_UNDERFILL_DELTA_FRACTION } from '../privacy/dp/config.ts';
import { runKillableChild } from './support/killable-child.ts';
import { REPO_ROOT } from './paths.ts';

const FIXTURE = join(REPO_ROOT, 'test/fixtures/dp-coordinator.ts');
const Q = 0.5;
const SIGMA = 6;
const CLIENTS = 30;
const ALLOWED = 6;
// The ledger converts at (1 − f)·δ: the rest of δ pays for short rounds (privacy/dp/underfill.ts).
const eps = (steps: number): number => epsilonFor({ samplingRate: Q, noiseMultiplier: SIGMA, steps, delta: 1e-5 * (1 - DEFAULT_UNDERFILL_DELTA_FRACTION) }).epsilon;
const BUDGET = (eps(ALLOWED) + eps(ALLOWED + 1)) / 2;
const dir = mkdtempSync(join(tmpdir(), 'tessera-dp-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CUES = { charged: 'release gate passed', evaluation: 'evaluation dispatched', commit: 'round committing' } as const;
type Stage = keyof typeof CUES;

interface Run {
  /** Rounds for which the child logged each cue (and 'round started'). */
  readonly seen: Record<Stage | 'started', number[]>;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

/** Runs the coordinator; with `kill`, SIGKILLs it 0–20 ms after the cue of that stage in its `nth` round. */
async function runCoordinator(kill?: { stage: Stage; nth: number }): Promise<Run> {
  const seen: Run['seen'] = { charged: [], evaluation: [], commit: [], started: [] };
  const outcome = await runKillableChild({
    script: FIXTURE,
    args: [dir, String(BUDGET), String(Q), String(SIGMA), String(CLIENTS)],
    killJitterMs: 20,
    timeoutMs: 120_000,
    onLine(line) {
      if (!line.startsWith('{')) return false;
      const entry = JSON.parse(line) as { msg?: string; round?: number; component?: string };
      if (entry.component !== 'coordinator' || entry.round === undefined) return false;
      if (entry.msg === 'round started') seen.started.push(entry.round);
      for (const [stage, cue] of Object.entries(CUES) as Array<[Stage, string]>) if (entry.msg === cue) seen[stage].push(entry.round);
      return kill !== undefined && seen[kill.stage].length >= kill.nth;
    },
  });
  return { seen, signal: outcome.signal, stderr: outcome.stderr };
}

/** The ledger and the committed rounds agree; returns the charged and committed round numbers. */
function checkConsistent(db: Db): { jobId: string; charged: number[]; committed: number[] } {
  expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  const jobId = db.prepare('SELECT id FROM jobs').pluck().get() as string;
  const charged = chargedRounds(db, jobId);
  const committed = roundRecords(db, jobId).map((r) => r.round);
  // Each charge once (primary key), in increasing order, ε exactly the accountant's for that many rounds.
  charged.forEach((r, i) => {
    expect(r.epsilonAfter).toBe(eps(i + 1));
    if (i > 0) expect(r.round).toBeGreaterThan(charged[i - 1]?.round ?? Infinity);
  });
  // No committed round without its charge.
  const chargedSet = new Set(charged.map((r) => r.round));
  for (const r of committed) expect(chargedSet.has(r)).toBe(true);
  return { jobId, charged: charged.map((r) => r.round), committed };
}

describe('DP coordinator under SIGKILL: charged before release, exactly once', () => {
  it('after the charge, after evaluation dispatch, mid-commit: every released round stays charged and a restart never charges it twice', async () => {
    const stages: Array<{ stage: Stage; nth: number }> = [
      { stage: 'charged', nth: 2 },
      { stage: 'evaluation', nth: 1 },
      { stage: 'commit', nth: 1 },
    ];
    let previous: { charged: number[]; committed: number[] } = { charged: [], committed: [] };
    for (const kill of stages) {
      const run = await runCoordinator(kill);
      expect(run.signal, `${kill.stage}: ${run.stderr.slice(-2000)}`).toBe('SIGKILL');
      // The restart resumed after the last round charged or committed before the previous crash.
      const resumeAt = Math.max(0, ...previous.charged, ...previous.committed) + 1;
      expect(run.seen.started[0]).toBe(resumeAt);
      const db = openDatabase(dir);
      try {
        const now = checkConsistent(db);
        // Every round announced as charged, or whose weights left for evaluation, is in the ledger.
        for (const r of [...run.seen.charged, ...run.seen.evaluation]) expect(now.charged).toContain(r);
        // Nothing charged twice across the restart: the old charges are a prefix of the new ones.
        expect(now.charged.slice(0, previous.charged.length)).toEqual(previous.charged);
        previous = now;
      } finally {
        db.close();
      }
    }
    // The last restart runs to the budget: exactly ALLOWED rounds charged in all, whatever was lost to crashes.
    const last = await runCoordinator();
    expect(last.signal).toBeNull();
    expect(last.seen.started[0]).toBe(Math.max(...previous.charged, ...previous.committed) + 1);
    const db = openDatabase(dir);
    try {
      const { jobId, charged, committed } = checkConsistent(db);
      expect(charged).toHaveLength(ALLOWED);
      // A crash can strand at most one charged round without its row (charged, maybe released, never re-run).
      expect(charged.length - committed.length).toBeLessThanOrEqual(stages.length);
      expect(new Set(orgSpend(db, { jobId }).map((s) => s.epsilon))).toEqual(new Set([eps(ALLOWED)]));
      const status = db.prepare('SELECT status FROM jobs WHERE id = ?').pluck().get(jobId);
      expect(status).toBe('budget-exhausted');
    } finally {
      db.close();
    }
  }, 240_000);
});
