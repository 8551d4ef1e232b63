/**
 * The crash matrix through the real path (issue 14 §3). A real coordinator process — a seeded DP simulation with
 * a state directory (test/fixtures/resume-coordinator.ts: the real round loop, release gate, federated
 * evaluation, commit transaction and registry feature) — is SIGKILLed, process group and all, 0–15 ms after
 * the coordinator's own log line of each stage: sampling ('round started'), training ('training dispatched'),
 * the charge ('release gate passed'), after aggregation ('round aggregated'), the weights out for evaluation
 * ('evaluation dispatched'), in the commit ('round committing'), after the commit ('round committed') and
 * during registration ('model registering'). After each kill it is restarted on the same state. At the end:
 * the job completed; every round it announced as released is charged, each round at most once, and no
 * charged round was ever started again (the accounting rule: a round whose release may have happened is
 * never re-run); every committed round is charged; `audit verify` passes; the registry holds one model.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyAuditLog } from '../governance/audit/verify.ts';
import { chargedRounds } from '../governance/ledger/index.ts';
import { openDatabase } from '../governance/state/database.ts';
import { roundRecords } from '../coordinator/state/job-store.ts';
import { runResumeFixture, type Kill } from './support/resume-runs.ts';

const ROUNDS = 6;
const dir = mkdtempSync(join(tmpdir(), 'tessera-crash-matrix-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('crash matrix: SIGKILL of the coordinator at every stage, then restart', () => {
  it('completes with each released round charged exactly once, a verifying audit log and one registered model', async () => {
    const kills: Kill[] = [
      { cue: 'round started', round: 1 },
      { cue: 'training dispatched', round: 1 },
      { cue: 'release gate passed', round: 1 },
      { cue: 'round aggregated', round: 2 },
      { cue: 'evaluation dispatched', round: 3 },
      { cue: 'round committing', round: 4 },
      { cue: 'round committed', round: 5 },
      { cue: 'training dispatched', round: 6 },
      { cue: 'model registering' },
    ];
    const released: number[] = [];
    // The last round charged or committed before the run: the run must start after it.
    let done = 0;
    for (const kill of kills) {
      const run = await runResumeFixture(dir, ROUNDS, kill, 15);
      expect(run.signal, `${kill.cue}: ${run.stderr.slice(-2000)}`).toBe('SIGKILL');
      expect(run.firstStarted, kill.cue).toBe(done + 1);
      released.push(...run.released);
      // A restart resumes after every round charged or committed so far: never at a charged round.
      const db = openDatabase(dir);
      try {
        const jobId = db.prepare('SELECT id FROM jobs').pluck().get() as string;
        const charged = chargedRounds(db, jobId).map((r) => r.round);
        expect(new Set(charged).size).toBe(charged.length);
        for (const r of released) expect(charged).toContain(r);
        const committed = roundRecords(db, jobId).map((x) => x.round);
        for (const r of committed) expect(charged).toContain(r);
        done = Math.max(0, ...charged, ...committed);
      } finally {
        db.close();
      }
    }
    const last = await runResumeFixture(dir, ROUNDS);
    expect(last.end?.status, last.stderr.slice(-2000)).toBe('completed');
    // Killed during registration: every round was done, nothing is run again.
    expect(last.firstStarted).toBeUndefined();
    released.push(...last.released);

    const db = openDatabase(dir);
    try {
      const jobId = db.prepare('SELECT id FROM jobs').pluck().get() as string;
      const charged = chargedRounds(db, jobId).map((r) => r.round);
      // Every round of the job charged once, in order; released rounds were released once (never re-run).
      expect(charged).toEqual([1, 2, 3, 4, 5, 6]);
      expect([...released].sort((a, b) => a - b)).toEqual(charged);
      const committed = roundRecords(db, jobId).map((r) => r.round);
      for (const r of committed) expect(charged).toContain(r);
      // The kills before the charge and after the commit lose nothing: rounds 5 and 6 were committed.
      expect(committed).toEqual(expect.arrayContaining([5, 6]));
      expect(db.prepare("SELECT status FROM jobs WHERE id = ?").pluck().get(jobId)).toBe('completed');
      const audit = verifyAuditLog(db);
      expect(audit.ok, audit.reason ?? '').toBe(true);
      expect(db.prepare('SELECT COUNT(*) FROM models').pluck().get()).toBe(1);
      // At most one round.committed audit entry per round: a round is never committed twice.
      const auditRounds = db.prepare("SELECT json_extract(details, '$.round') FROM audit_log WHERE action = 'round.committed'").pluck().all() as number[];
      expect(new Set(auditRounds).size).toBe(auditRounds.length);
    } finally {
      db.close();
    }
  }, 480_000);
});
