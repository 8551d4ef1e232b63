import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { epsilonFor } from '../../privacy/accountant/index.ts';
import { type Db, openDatabase } from '../state/database.ts';
import { chargeRound, chargedRounds, getJobBudget, ledgerReport, orgSpend, planRound, setJobBudget, setOrgCap } from './index.ts';
import type { ChargedRound, JobBudget, RoundCharge } from './index.ts';
import { thrownCode } from '../../test/support/thrown.ts';

let dir: string;
let db: Db;
const orgs = Array.from({ length: 20 }, (_, i) => `org-${i}`);
const params = { samplingRate: 0.1, noiseMultiplier: 1.5 };
const budget: JobBudget = { jobId: 'job-1', epsilon: 2, delta: 1e-5, placement: 'distributed', trustedCoordinator: false, accountant: 'rdp', conversion: 'improved' };

const codeOf = thrownCode;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-ledger-'));
  db = openDatabase(dir);
  db.exec('CREATE TABLE test_aggregates (job_id TEXT NOT NULL, round INTEGER NOT NULL, PRIMARY KEY (job_id, round))');
  setJobBudget(db, budget);
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The round-commit shape: the caller's rows and the charge in ONE transaction (rolled back together). */
function commitWithCharge(d: Db, charge: RoundCharge, commitAggregate: () => void): { charged: ChargedRound } {
  return d.transaction(() => {
    commitAggregate();
    return { charged: chargeRound(d, charge) };
  })();
}

function runRound(round: number, eligible: readonly string[] = orgs) {
  return commitWithCharge(db, { jobId: 'job-1', round, ...params, clipNorm: 1, eligibleOrgIds: eligible, participants: 2 }, () => {
    db.prepare('INSERT INTO test_aggregates (job_id, round) VALUES (?, ?)').run('job-1', round);
  });
}

describe('privacy ledger', () => {
  it('stores budgets and refuses central placement without a trusted coordinator', () => {
    expect(getJobBudget(db, 'job-1')).toEqual({ ...budget, underfillFraction: 0 });
    expect(codeOf(() => setJobBudget(db, { ...budget, jobId: 'c', placement: 'central' }))).toBe('TESSERA_ERR_DP_CONFIG');
    // Even a raw INSERT cannot record it (CHECK constraint).
    expect(() => db.prepare("INSERT INTO ledger_job_budgets VALUES ('x', 1, 1e-5, 'central', 0, 'rdp', 'improved', 't', 't', 0)").run()).toThrow(/CHECK/);
  });

  it('records one row per round whose ε equals the accountant, and stops exactly at the budget', () => {
    let round = 0;
    for (;;) {
      const plan = planRound(db, { jobId: 'job-1', next: params, orgIds: orgs });
      if (!plan.allowed) break;
      const { charged } = runRound(round);
      expect(charged.epsilonAfter).toBe(plan.epsilonAfter);
      round++;
    }
    const rows = chargedRounds(db, 'job-1');
    expect(rows).toHaveLength(round);
    expect(round).toBeGreaterThan(0);
    const last = rows[rows.length - 1];
    expect(last?.epsilonAfter).toBe(epsilonFor({ ...params, steps: round, delta: 1e-5 }).epsilon);
    expect(last?.epsilonAfter).toBeLessThanOrEqual(2);
    expect(epsilonFor({ ...params, steps: round + 1, delta: 1e-5 }).epsilon).toBeGreaterThan(2);
    // A further charge is refused and rolls the aggregate back with it.
    expect(codeOf(() => runRound(round))).toBe('TESSERA_ERR_BUDGET_EXCEEDED');
    expect(db.prepare('SELECT COUNT(*) FROM test_aggregates').pluck().get()).toBe(round);
    const report = ledgerReport(db, { jobId: 'job-1' });
    expect(report.jobs[0]).toMatchObject({ roundsCharged: round, epsilonSpent: last?.epsilonAfter, notPrivateRounds: 0 });
    expect(report.rounds).toHaveLength(round);
    expect(report.orgs).toHaveLength(orgs.length);
  });

  it('never charges a round twice; the duplicate rolls back its aggregate too', () => {
    runRound(0);
    // Charge round 0 again with a fresh aggregate table row for a different key: the ledger refuses.
    const again = codeOf(() =>
      commitWithCharge(db, { jobId: 'job-1', round: 0, ...params, clipNorm: 1, eligibleOrgIds: orgs, participants: 2 }, () => {
        db.prepare('INSERT INTO test_aggregates (job_id, round) VALUES (?, ?)').run('job-1', 1000);
      }),
    );
    expect(again).toBe('TESSERA_ERR_LEDGER');
    expect(db.prepare('SELECT COUNT(*) FROM test_aggregates').pluck().get()).toBe(1);
    expect(chargedRounds(db, 'job-1')).toHaveLength(1);
  });

  it('refuses to charge outside a transaction', () => {
    expect(codeOf(() => chargeRound(db, { jobId: 'job-1', round: 0, ...params, clipNorm: 1, eligibleOrgIds: orgs, participants: 1 }))).toBe('TESSERA_ERR_LEDGER');
  });

  it('history is append-only and ε cannot go down, even through raw SQL', () => {
    runRound(0);
    runRound(1);
    expect(() => db.prepare('DELETE FROM ledger_rounds').run()).toThrow(/append-only/);
    expect(() => db.prepare('UPDATE ledger_rounds SET epsilon_after = 0').run()).toThrow(/append-only/);
    expect(() =>
      db.prepare("INSERT INTO ledger_rounds VALUES ('job-1', 5, 0.1, 1, 1, 'distributed', 20, 1, 0.0001, 1e-5, 1, 't', 0, NULL)").run(),
    ).toThrow(/must not decrease/);
    expect(() =>
      db.prepare("INSERT INTO ledger_rounds VALUES ('job-1', 5, 0.1, 1, 1, 'distributed', 20, 1, 99, 1e-5, 1, 't', 0, NULL)").run(),
    ).toThrow(/exceed the job budget/);
  });

  it('an organisation at its cap is not sampled, and charging it anyway is refused', () => {
    const oneRound = epsilonFor({ ...params, steps: 1, delta: 1e-5 }).epsilon;
    const twoRounds = epsilonFor({ ...params, steps: 2, delta: 1e-5 }).epsilon;
    setOrgCap(db, { orgId: 'org-3', maxEpsilon: (oneRound + twoRounds) / 2 });
    runRound(0);
    const plan = planRound(db, { jobId: 'job-1', next: params, orgIds: orgs });
    expect(plan.allowed).toBe(true);
    expect(plan.excluded.map((o) => o.orgId)).toEqual(['org-3']);
    expect(plan.eligible).toHaveLength(orgs.length - 1);
    expect(codeOf(() => runRound(1, orgs))).toBe('TESSERA_ERR_BUDGET_EXCEEDED');
    runRound(1, plan.eligible.map((o) => o.orgId));
    const spend = orgSpend(db, { orgId: 'org-3' });
    expect(spend).toEqual([{ jobId: 'job-1', orgId: 'org-3', rounds: 1, epsilon: oneRound, lastRound: 0 }]);
    expect(orgSpend(db, { jobId: 'job-1', orgId: 'org-4' })[0]?.epsilon).toBe(twoRounds);
    expect(ledgerReport(db, { orgId: 'org-3' }).orgs[0]?.cap).toBeCloseTo((oneRound + twoRounds) / 2, 15);
  });

  it('after rounds are charged only ε may change in the budget', () => {
    runRound(0);
    setJobBudget(db, { ...budget, epsilon: 5 });
    expect(getJobBudget(db, 'job-1')?.epsilon).toBe(5);
    expect(codeOf(() => setJobBudget(db, { ...budget, delta: 1e-6 }))).toBe('TESSERA_ERR_LEDGER');
  });

  it('marks rounds with seeded noise as not private', () => {
    commitWithCharge(db, { jobId: 'job-1', round: 0, ...params, clipNorm: 1, eligibleOrgIds: orgs, participants: 2, privateNoise: false }, () => undefined);
    expect(ledgerReport(db).jobs[0]?.notPrivateRounds).toBe(1);
  });

  it('survives reopening (durable, WAL)', () => {
    runRound(0);
    db.close();
    db = openDatabase(dir);
    expect(chargedRounds(db, 'job-1')).toHaveLength(1);
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
  });
});
