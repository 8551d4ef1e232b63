/**
 * Crash consistency of the privacy ledger: a child process commits rounds (aggregate row + ledger charge in one
 * transaction, governance/ledger/testing/crash-child.ts) and is killed with SIGKILL at random moments —
 * between commits or in the middle of one. After each kill the state database is reopened and must be
 * consistent: every charged round has its committed aggregate and vice versa, no round is charged twice, round
 * numbers are contiguous, ε is monotone and equals the accountant's answer for the rounds committed, and each
 * organisation's spend matches its eligibility records. The last run is left to finish: it stops exactly when
 * the next round would exceed the budget.
 */
import { runKillableChild } from './support/killable-child.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chargedRounds, orgSpend } from '../governance/ledger/index.ts';
import { openDatabase } from '../governance/state/database.ts';
import { epsilonFor } from '../privacy/accountant/index.ts';
import { cryptoRandom, uniformInt } from '../privacy/random.ts';
import { REPO_ROOT } from './paths.ts';

const CHILD = join(REPO_ROOT, 'governance/ledger/testing/crash-child.ts');
const JOB = 'crash-job';
const BUDGET = 2; // σ = 2, q = 0.1, δ = 1e-5: about 60 rounds
const PARAMS = { samplingRate: 0.1, noiseMultiplier: 2 };
const ORG_COUNT = 25;
const dir = mkdtempSync(join(tmpdir(), 'tessera-ledger-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface ChildRun {
  committed: number[];
  stopped: boolean;
  signal: NodeJS.Signals | null;
  code: number | null;
}

/** Runs the child; when `killAfter` is set, SIGKILLs its whole process group that many commits later plus a random 0–15 ms. */
async function runChild(killAfter: number | null): Promise<ChildRun> {
  const run: ChildRun = { committed: [], stopped: false, signal: null, code: null };
  const outcome = await runKillableChild({
    script: CHILD,
    args: [dir, JOB, String(BUDGET)],
    killJitterMs: 15,
    timeoutMs: 60_000,
    onLine(line) {
      const [what, round] = line.split(' ');
      if (what === 'committed') run.committed.push(Number(round));
      if (what === 'stopped') run.stopped = true;
      return killAfter !== null && run.committed.length >= killAfter;
    },
  });
  if (killAfter === null && outcome.code !== 0) throw new Error(`child exited with ${outcome.code}: ${outcome.stderr}`);
  return { ...run, code: outcome.code, signal: outcome.signal };
}

/** Reopens the state database and checks every ledger invariant; returns the number of committed rounds. */
function checkConsistent(): number {
  const db = openDatabase(dir);
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const aggregates = db.prepare('SELECT round FROM crash_aggregates WHERE job_id = ? ORDER BY round').pluck().all(JOB) as number[];
    const charged = chargedRounds(db, JOB);
    // Every charged round has its aggregate and every aggregate its charge.
    expect(charged.map((r) => r.round)).toEqual(aggregates);
    // No duplicates, contiguous from 0.
    expect(aggregates).toEqual(aggregates.map((_, i) => i));
    // ε monotone and equal to the accountant's answer for the rounds run.
    charged.forEach((r, i) => {
      expect(r.epsilonAfter).toBe(epsilonFor({ ...PARAMS, steps: i + 1, delta: 1e-5 }).epsilon);
      if (i > 0) expect(r.epsilonAfter).toBeGreaterThanOrEqual((charged[i - 1] as (typeof charged)[number]).epsilonAfter);
    });
    // Each organisation's spend matches its eligibility rows (all organisations were eligible in every round).
    const spend = orgSpend(db, { jobId: JOB });
    const eligibility = db.prepare('SELECT org_id, COUNT(*) AS n FROM ledger_org_rounds WHERE job_id = ? GROUP BY org_id').all(JOB) as Array<{ org_id: string; n: number }>;
    if (charged.length > 0) {
      expect(spend).toHaveLength(ORG_COUNT);
      for (const s of spend) {
        expect(s.rounds).toBe(charged.length);
        expect(s.epsilon).toBe(charged[charged.length - 1]?.epsilonAfter);
        expect(eligibility.find((e) => e.org_id === s.orgId)?.n).toBe(charged.length);
      }
    }
    return charged.length;
  } finally {
    db.close();
  }
}

describe('ledger under SIGKILL', () => {
  it('stays consistent across kills and stops exactly at the budget', async () => {
    let committedSoFar = 0;
    for (let cycle = 0; cycle < 2; cycle++) {
      const run = await runChild(3 + uniformInt(cryptoRandom(), 8));
      expect(run.signal).toBe('SIGKILL');
      const n = checkConsistent();
      // Everything the child reported as committed is durable (synchronous=FULL); at most one more
      // round may have committed after its last report.
      expect(n).toBeGreaterThanOrEqual(committedSoFar + run.committed.length);
      expect(n).toBeLessThanOrEqual(committedSoFar + run.committed.length + 1);
      committedSoFar = n;
    }
    const final = await runChild(null);
    expect(final.stopped).toBe(true);
    const total = checkConsistent();
    expect(epsilonFor({ ...PARAMS, steps: total, delta: 1e-5 }).epsilon).toBeLessThanOrEqual(BUDGET);
    expect(epsilonFor({ ...PARAMS, steps: total + 1, delta: 1e-5 }).epsilon).toBeGreaterThan(BUDGET);
  }, 120_000);
});
