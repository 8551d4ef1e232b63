/**
 * The ledger with the PLD accountant: a state directory made before ledger-004 is upgraded in place (budgets,
 * charged rounds, foreign keys and the append-only triggers survive the table rebuild), and a job whose budget
 * names 'pld' is charged exactly the PLD accountant's ε for all its rounds, which is below what RDP would charge.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { epsilonFor } from '../../privacy/accountant/index.ts';
import { databasePath, openDatabase } from '../state/database.ts';
import { MIGRATIONS } from '../state/migrations/index.ts';
import { chargeRound, chargedRounds, getJobBudget, planRound, setJobBudget } from './index.ts';
import type { JobBudget } from './index.ts';

let dir: string;
const orgs = Array.from({ length: 10 }, (_, i) => `org-${i}`);
const params = { samplingRate: 0.2, noiseMultiplier: 1.5 };

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-pld-ledger-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const charge = (db: ReturnType<typeof openDatabase>, jobId: string, round: number) =>
  db.transaction(() => chargeRound(db, { jobId, round, ...params, clipNorm: 1, eligibleOrgIds: orgs, participants: 2 }))();

describe('ledger-004: the PLD accountant in the ledger', () => {
  it('upgrades a state made before it without losing or loosening anything', () => {
    // The state as the previous release left it: every migration but ledger-004, one budget, two charged rounds.
    const raw = new Database(databasePath(dir));
    raw.exec('CREATE TABLE schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL)');
    for (const m of MIGRATIONS) {
      if (m.id === 'ledger-004') continue;
      raw.exec(m.sql);
      raw.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)').run(m.id, new Date().toISOString());
    }
    raw.pragma('foreign_keys = ON');
    const old: JobBudget = { jobId: 'old-job', epsilon: 5, delta: 1e-5, placement: 'distributed', trustedCoordinator: false, accountant: 'rdp', conversion: 'improved', underfillFraction: 0.1 };
    setJobBudget(raw, old);
    charge(raw, 'old-job', 0);
    charge(raw, 'old-job', 1);
    const before = chargedRounds(raw, 'old-job');
    raw.close();

    const db = openDatabase(dir);
    try {
      expect(getJobBudget(db, 'old-job')).toEqual(old);
      expect(chargedRounds(db, 'old-job')).toEqual(before);
      expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
      expect(() => db.prepare("INSERT INTO ledger_budget_changes (job_id, old_epsilon, new_epsilon, officer, reason, changed_at) VALUES ('nope', 1, 2, 'x', 'y', 't')").run()).toThrow(/FOREIGN KEY/);
      expect(() => db.prepare('DELETE FROM ledger_rounds').run()).toThrow(/append-only/);
      expect(() => db.prepare("UPDATE ledger_job_budgets SET accountant = 'bogus'").run()).toThrow(/CHECK/);
      // The budget trigger of ledger_rounds reads the rebuilt table.
      expect(() => db.prepare("INSERT INTO ledger_rounds VALUES ('old-job', 2, 0.2, 1.5, 1, 'distributed', 10, 2, 99, 1e-5, 1, 't', 0, NULL)").run()).toThrow(/exceed the job budget/);
      expect(db.prepare("SELECT id FROM schema_migrations WHERE id = 'ledger-004'").pluck().get()).toBe('ledger-004');
    } finally {
      db.close();
    }
  });

  it("charges a 'pld' job the PLD accountant's ε for all its rounds, below RDP's", () => {
    const db = openDatabase(dir);
    try {
      setJobBudget(db, { jobId: 'pld-job', epsilon: 3, delta: 1e-5, placement: 'distributed', trustedCoordinator: false, accountant: 'pld', conversion: 'improved', underfillFraction: 0 });
      expect(getJobBudget(db, 'pld-job')?.accountant).toBe('pld');
      for (let round = 0; round < 4; round++) {
        const plan = planRound(db, { jobId: 'pld-job', next: params, orgIds: orgs });
        expect(plan.allowed).toBe(true);
        expect(charge(db, 'pld-job', round).epsilonAfter).toBe(plan.epsilonAfter);
      }
      const last = chargedRounds(db, 'pld-job').at(-1);
      const pld = epsilonFor({ ...params, steps: 4, delta: 1e-5, accountant: 'pld' }).epsilon;
      const rdp = epsilonFor({ ...params, steps: 4, delta: 1e-5 }).epsilon;
      expect(last?.epsilonAfter).toBe(pld);
      expect(pld).toBeLessThan(rdp);
    } finally {
      db.close();
    }
  }, 120_000);
});
