/**
 * Organisation caps hold across jobs and restarts (issue 11 §4). Before: job ids were random per start and caps
 * per job, so an organisation capped at 2 ran three jobs spending 5.80, every charge accepted. Now the cap is
 * cumulative over every job on the state (sequential composition: summed ε and δ, Dwork & Roth 2014 Thm 3.16).
 *  - jobs one after another, each through the ledger calls the coordinator makes (planRound before a round,
 *    chargeRound at the release gate), on a real SQLite file reopened between jobs (a restart): the capped
 *    organisation is excluded once the next round would take its TOTAL above 2, and its total never exceeds 2;
 *  - ATTACK: an insider writing ledger_org_spend rows by hand for a new job, or raising a row, past the cap is
 *    refused by the database's own triggers;
 *  - `tessera ledger show --org X --json` prints the total (orgs[].totalEpsilon / totalDelta);
 *  - a spent job's budget changes only through `tessera ledger budget change` (officer and reason, audited);
 *  - a DP job refuses to run without durable state unless it is a seeded (not private) simulation.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { dpFeature } from '../coordinator/features/dp.ts';
import { chargeRound, orgTotal, planRound, setJobBudget, setOrgCap } from '../governance/ledger/index.ts';
import { openDatabase } from '../governance/state/database.ts';
import { silentLogger } from '../lib/logger.ts';
import { cryptoRandom } from '../privacy/random.ts';
import { parseJobSpec } from '../protocol/job/spec.ts';
import { thrownTesseraError } from './support/thrown.ts';
import { cli } from './support/cli.ts';

const state = mkdtempSync(join(tmpdir(), 'tessera-caps-'));
afterAll(() => rmSync(state, { recursive: true, force: true }));
const CAP = 2;

/** What `f` throws (a raw SQLite error from a trigger is not a TesseraError). */
function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected an error');
}
const next = { samplingRate: 0.1, noiseMultiplier: 2 };
const orgs = ['org-a', 'org-b', 'org-c', 'org-d'];

/** One job, run like the coordinator: plan each round, charge the organisations the plan lets in. */
function runJob(jobId: string): { rounds: number; aIncluded: number } {
  const db = openDatabase(state); // a fresh handle per job: a restart between jobs
  try {
    setJobBudget(db, { jobId, epsilon: 50, delta: 1e-5, placement: 'distributed', trustedCoordinator: false, accountant: 'rdp', conversion: 'improved' });
    let aIncluded = 0;
    let round = 1;
    for (; round <= 30; round++) {
      const plan = planRound(db, { jobId, next, orgIds: orgs });
      if (!plan.allowed) break;
      const eligible = plan.eligible.map((o) => o.orgId);
      if (eligible.includes('org-a')) aIncluded++;
      db.transaction(() => chargeRound(db, { jobId, round, ...next, clipNorm: 1, eligibleOrgIds: eligible, participants: 1 })).immediate();
      expect(orgTotal(db, 'org-a').totalEpsilon).toBeLessThanOrEqual(CAP);
    }
    return { rounds: round - 1, aIncluded };
  } finally {
    db.close();
  }
}

describe('organisation caps across jobs and restarts', () => {
  it('an organisation capped at ε = 2 never exceeds 2 over any number of jobs; insiders cannot write past it', async () => {
    const db = openDatabase(state);
    setOrgCap(db, { orgId: 'org-a', maxEpsilon: CAP });
    db.close();
    const jobs = ['job-1', 'job-2', 'job-3', 'job-4'].map(runJob);
    // The first job spends most of the cap; later jobs still run (for the others) but org-a is soon left out.
    expect(jobs[0]?.aIncluded).toBeGreaterThan(0);
    expect(jobs.at(-1)?.aIncluded).toBe(0);
    expect(jobs.every((j) => j.rounds === 30)).toBe(true);

    const check = openDatabase(state);
    try {
      const total = orgTotal(check, 'org-a');
      expect(total.totalEpsilon).toBeLessThanOrEqual(CAP);
      expect(total.totalEpsilon).toBeGreaterThan(CAP / 2);
      // An uncapped organisation ran every round of every job: its total is the sum over the four jobs.
      expect(orgTotal(check, 'org-b').totalEpsilon).toBeGreaterThan(2 * CAP);
      // ATTACK: hand-written rows past the cumulative cap are refused by the triggers.
      check.prepare("INSERT INTO ledger_job_budgets (job_id, epsilon, delta, placement, trusted_coordinator, created_at, updated_at) VALUES ('forged', 9, 1e-5, 'distributed', 0, 't', 't')").run();
      const insert = thrown(() => check.prepare("INSERT INTO ledger_org_spend (job_id, org_id, rounds, epsilon, delta, groups, last_round, updated_at) VALUES ('forged', 'org-a', 1, 0.9, 1e-5, '[]', 1, 't')").run());
      expect(String(insert)).toMatch(/organisation cap \(summed over its jobs\)/);
      const raise = thrown(() => check.prepare("UPDATE ledger_org_spend SET epsilon = epsilon + 1 WHERE org_id = 'org-a' AND job_id = 'job-1'").run());
      expect(String(raise)).toMatch(/organisation cap/);
      const erase = thrown(() => check.prepare("DELETE FROM ledger_org_spend WHERE org_id = 'org-a'").run());
      expect(String(erase)).toMatch(/must not decrease/);
    } finally {
      check.close();
    }

    const shown = await cli('ledger', 'show', '--state', state, '--org', 'org-a', '--json');
    expect(shown.code, shown.stderr).toBe(0);
    const report = z.object({ orgs: z.array(z.object({ orgId: z.string(), cap: z.number().nullable(), totalEpsilon: z.number(), totalDelta: z.number() })) }).parse(JSON.parse(shown.stdout));
    expect(report.orgs).toHaveLength(1);
    expect(report.orgs[0]?.totalEpsilon).toBeLessThanOrEqual(CAP);
    const again = openDatabase(state);
    try {
      expect(report.orgs[0]?.totalEpsilon).toBe(orgTotal(again, 'org-a').totalEpsilon);
      expect(report.orgs[0]?.totalDelta).toBe(orgTotal(again, 'org-a').totalDelta);
    } finally {
      again.close();
    }
  }, 120_000);

  it('a set job budget changes only through the audited privacy-officer command', async () => {
    const silently = await cli('ledger', 'budget', 'set', '--state', state, '--job', 'job-1', '--epsilon', '80');
    expect(silently.code).not.toBe(0);
    expect(silently.stderr).toMatch(/ledger budget change/);
    const noReason = await cli('ledger', 'budget', 'change', '--state', state, '--job', 'job-1', '--epsilon', '80', '--officer', 'dana');
    expect(noReason.code).toBe(2);
    const ok = await cli('ledger', 'budget', 'change', '--state', state, '--job', 'job-1', '--epsilon', '80', '--officer', 'dana', '--reason', 'approved re-run, ticket 42', '--json');
    expect(ok.code, ok.stderr).toBe(0);
    const db = openDatabase(state);
    try {
      const audit = db.prepare("SELECT actor, subject, details FROM audit_log WHERE action = 'ledger.budget-changed'").all() as Array<{ actor: string; subject: string; details: string }>;
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({ actor: 'privacy-officer:dana', subject: 'job-1' });
      expect(JSON.parse(audit[0]?.details ?? '{}')).toMatchObject({ oldEpsilon: 50, newEpsilon: 80, reason: 'approved re-run, ticket 42' });
      // The organisation cap still binds after the raise.
      expect(planRound(db, { jobId: 'job-1', next, orgIds: ['org-a'] }).excluded.map((o) => o.orgId)).toEqual(['org-a']);
    } finally {
      db.close();
    }
  }, 120_000);

  it('a DP job without durable state is refused unless it is a seeded (not private) simulation', () => {
    const spec = parseJobSpec({ model: { kind: 'logistic', inputs: 4, classes: 2 }, data: { dataset: 'adult' }, rounds: 1, sampling: { mode: 'poisson', rate: 0.5 }, dp: { enabled: true, epsilon: 3, delta: 1e-5, noiseMultiplier: 1 } });
    expect(thrownTesseraError(() => dpFeature({ jobId: 'no-state', spec, logger: silentLogger(), rng: cryptoRandom() })).code).toBe('TESSERA_ERR_DP_CONFIG');
  });
});
