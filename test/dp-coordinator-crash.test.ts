/**
 * Killing the coordinator (SIGKILL) between committing a round and starting the next — or in the middle of
 * a commit — leaves the state database consistent (issue 4 "done when"). A child process runs a real DP job
 * (test/fixtures/dp-coordinator.ts: `runSimulation` with a state directory, so the real round loop and the
 * one round-commit transaction that writes the job_rounds row and the ledger charge). After the kill the
 * database is reopened: ledger rows = committed rounds, no duplicates, contiguous, ε monotone and equal to
 * the accountant's answer; everything the child reported as committed is durable. A restarted coordinator
 * then continues that job from the ledger with the same commit path and is refused exactly at the budget,
 * and a refused charge leaves no round row behind.
 */
import { runKillableChild } from './support/killable-child.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chargedRounds, commitWithCharge, orgSpend, planRound } from '../governance/ledger/index.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { insertRoundRow, roundRecords } from '../coordinator/state/job-store.ts';
import { epsilonFor } from '../privacy/accountant/index.ts';
import { cryptoRandom, uniformInt } from '../privacy/random.ts';
import { TesseraError } from '../protocol/errors.ts';
import { REPO_ROOT } from './paths.ts';

const FIXTURE = join(REPO_ROOT, 'test/fixtures/dp-coordinator.ts');
const Q = 0.1;
const SIGMA = 1;
const CLIENTS = 200;
const ALLOWED = 12;
const eps = (steps: number): number => epsilonFor({ samplingRate: Q, noiseMultiplier: SIGMA, steps, delta: 1e-5 }).epsilon;
const BUDGET = (eps(ALLOWED) + eps(ALLOWED + 1)) / 2;
const dir = mkdtempSync(join(tmpdir(), 'tessera-dp-crash-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  reported: number[];
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the coordinator and SIGKILLs its process group 0–40 ms after it reports `killAfter` committed rounds. */
async function runCoordinator(killAfter: number): Promise<Run> {
  const reported: number[] = [];
  const outcome = await runKillableChild({
    script: FIXTURE,
    args: [dir, String(BUDGET), String(Q), String(SIGMA), String(CLIENTS)],
    killJitterMs: 40,
    timeoutMs: 90_000,
    onLine(line) {
      const [what, round] = line.split(' ');
      if (what === 'round') reported.push(Number(round));
      return reported.length >= killAfter;
    },
  });
  return { reported, signal: outcome.signal, stderr: outcome.stderr };
}

/** Checks every invariant linking the ledger and the committed rounds; returns the job id and round count. */
function checkConsistent(db: Db): { jobId: string; rounds: number } {
  expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
  const jobId = db.prepare('SELECT id FROM jobs').pluck().get() as string;
  const committed = roundRecords(db, jobId).map((r) => r.round);
  const charged = chargedRounds(db, jobId);
  expect(charged.map((r) => r.round)).toEqual(committed);
  expect(committed).toEqual(committed.map((_, i) => i + 1));
  charged.forEach((r, i) => {
    expect(r.epsilonAfter).toBe(eps(i + 1));
    if (i > 0) expect(r.epsilonAfter).toBeGreaterThanOrEqual(charged[i - 1]?.epsilonAfter ?? Infinity);
  });
  const orgRounds = db.prepare('SELECT COUNT(*) FROM ledger_org_rounds WHERE job_id = ?').pluck().get(jobId) as number;
  expect(orgRounds).toBe(CLIENTS * charged.length);
  return { jobId, rounds: charged.length };
}

describe('DP coordinator under SIGKILL', () => {
  it('keeps ledger and committed rounds consistent; a restart continues from the ledger and stops at the budget', async () => {
    const killAfter = 3 + uniformInt(cryptoRandom(), 4);
    const run = await runCoordinator(killAfter);
    expect(run.signal, run.stderr).toBe('SIGKILL');
    const db = openDatabase(dir);
    try {
      const { jobId, rounds } = checkConsistent(db);
      // Durable: everything reported; at most the round in flight committed after the last report.
      expect(rounds).toBeGreaterThanOrEqual(run.reported.length);
      expect(rounds).toBeLessThanOrEqual(run.reported.length + 1);
      expect(rounds).toBeLessThan(ALLOWED);

      // The restarted coordinator: plan each round from the ledger, commit round row + charge in one transaction.
      const orgIds = Array.from({ length: CLIENTS }, (_, i) => `org-${String(i + 1).padStart(3, '0')}`);
      const template = roundRecords(db, jobId).at(-1);
      if (!template) throw new Error('no committed round');
      const weights = new Float32Array(4);
      const commit = (round: number): void => {
        commitWithCharge(db, { jobId, round, samplingRate: Q, noiseMultiplier: SIGMA, clipNorm: 1, eligibleOrgIds: orgIds, participants: template.participants }, () =>
          insertRoundRow(db, jobId, { ...template, round }, weights),
        );
      };
      // A crash-retried commit of a round that already committed is refused, and writes nothing.
      expect(() => commit(rounds)).toThrow();
      let round = rounds + 1;
      for (; planRound(db, { jobId, next: { samplingRate: Q, noiseMultiplier: SIGMA }, orgIds: [] }).allowed; round++) commit(round);
      expect(round - 1).toBe(ALLOWED);
      // Forcing the refused round anyway: the charge throws and the round row rolls back with it.
      let refused: unknown;
      try {
        commit(round);
      } catch (e) {
        refused = e;
      }
      expect(refused).toBeInstanceOf(TesseraError);
      expect((refused as TesseraError).code).toBe('TESSERA_ERR_BUDGET_EXCEEDED');
      expect(checkConsistent(db).rounds).toBe(ALLOWED);
      expect(new Set(orgSpend(db, { jobId }).map((s) => s.epsilon))).toEqual(new Set([eps(ALLOWED)]));
    } finally {
      db.close();
    }
  }, 120_000);
});
