/**
 * The per-organisation series replays the ledger's own charges (org-series.ts): on a real SQLite file with two jobs
 * of different accountants, rounds with different (q, σ), interleaved in time, and an organisation left out of a
 * round by its cap, each organisation's last point must equal — to the bit — the ε the ledger stored for it on
 * each job (`ledger_org_spend`), its total must be the ledger's cumulative total (what its cap is checked against),
 * and a round it was not eligible in must add no point (org-b sits out a round, so its ε is replayed through the
 * accountant rather than read from the job's row).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { epsilonFor } from '../../privacy/accountant/index.ts';
import { type Db, openDatabase } from '../state/database.ts';
import { chargeRound, orgSpend, orgTotal, planRound, setJobBudget, setOrgCap } from './index.ts';
import { orgEpsilonSeries } from './org-series.ts';

let dir: string;
let db: Db;
const ORGS = ['org-a', 'org-b', 'org-c'];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-org-series-'));
  db = openDatabase(dir);
  setJobBudget(db, { jobId: 'job-1', epsilon: 5, delta: 1e-5, placement: 'distributed', trustedCoordinator: false, accountant: 'rdp', conversion: 'improved' });
  setJobBudget(db, { jobId: 'job-2', epsilon: 5, delta: 1e-6, placement: 'distributed', trustedCoordinator: false, accountant: 'rdp', conversion: 'classic', underfillFraction: 0.1 });
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

let clock = Date.parse('2026-01-01T00:00:00Z');
function charge(jobId: string, round: number, samplingRate: number, noiseMultiplier: number, orgIds: readonly string[]): void {
  clock += 1000;
  db.transaction(() => chargeRound(db, { jobId, round, samplingRate, noiseMultiplier, clipNorm: 1, eligibleOrgIds: orgIds, participants: orgIds.length, chargedAt: new Date(clock).toISOString() }))();
}

describe('orgEpsilonSeries', () => {
  it("replays each organisation's ε after every round it was eligible in, equal to the ledger's stored figures", () => {
    const r1 = epsilonFor({ samplingRate: 0.5, noiseMultiplier: 1.5, steps: 1, delta: 1e-5 }).epsilon;
    // org-c's cap admits one round of job-1 and nothing more.
    setOrgCap(db, { orgId: 'org-c', maxEpsilon: r1 * 1.2 });
    charge('job-1', 1, 0.5, 1.5, ORGS);
    charge('job-2', 1, 1, 2, ['org-a', 'org-b']);
    const plan = planRound(db, { jobId: 'job-1', next: { samplingRate: 0.5, noiseMultiplier: 1.5 }, orgIds: ORGS });
    expect(plan.excluded.map((o) => o.orgId)).toEqual(['org-c']);
    expect(plan.eligible.map((o) => o.orgId)).toEqual(['org-a', 'org-b']);
    charge('job-1', 2, 0.5, 1.5, ['org-a']); // org-b sits this one out: its job-1 history is no longer the job's own
    charge('job-1', 3, 0.25, 1.2, ['org-a', 'org-b']); // a different (q, σ): a second group
    charge('job-2', 2, 1, 2, ['org-a']);

    const series = orgEpsilonSeries(db);
    expect(series.map((s) => s.orgId)).toEqual(ORGS);
    const byOrg = new Map(series.map((s) => [s.orgId, s]));
    expect(byOrg.get('org-a')?.points.map((p) => [p.step, p.jobId, p.round])).toEqual([[1, 'job-1', 1], [2, 'job-2', 1], [3, 'job-1', 2], [4, 'job-1', 3], [5, 'job-2', 2]]);
    expect(byOrg.get('org-b')?.points.map((p) => p.step)).toEqual([1, 2, 4]);
    // org-a was in every job-1 round: its ε there is the job's; org-b missed one, so its ε is lower.
    expect(byOrg.get('org-b')?.points[2]?.jobEpsilon).toBeLessThan(byOrg.get('org-a')?.points[3]?.jobEpsilon ?? 0);
    // org-c: charged in round 1 only; its cap is carried with the series.
    expect(byOrg.get('org-c')?.points.map((p) => p.step)).toEqual([1]);
    expect(byOrg.get('org-c')?.cap).toBe(r1 * 1.2);
    expect(byOrg.get('org-c')?.points[0]?.jobEpsilon).toBe(r1);

    for (const s of series) {
      // The last point per job is exactly what chargeRound stored; the running total is the ledger's total.
      for (const spend of orgSpend(db, { orgId: s.orgId })) {
        const last = s.points.filter((p) => p.jobId === spend.jobId).at(-1);
        expect([s.orgId, spend.jobId, last?.jobEpsilon]).toEqual([s.orgId, spend.jobId, spend.epsilon]);
      }
      const total = orgTotal(db, s.orgId);
      expect(s.points.at(-1)?.totalEpsilon).toBeCloseTo(total.totalEpsilon, 12);
      expect(s.points.at(-1)?.totalDelta).toBeCloseTo(total.totalDelta, 18);
      // Cumulative: never decreasing, and never above the cap it was checked against.
      for (let i = 1; i < s.points.length; i++) expect(s.points[i]?.totalEpsilon).toBeGreaterThan(s.points[i - 1]?.totalEpsilon ?? Infinity);
      if (s.cap !== null) for (const p of s.points) expect(p.totalEpsilon).toBeLessThanOrEqual(s.cap);
    }
    // Across jobs the totals add (sequential composition): org-a after step 2 = its job-1 ε + its job-2 ε.
    const a = byOrg.get('org-a')?.points ?? [];
    expect(a[1]?.totalEpsilon).toBe((a[0]?.jobEpsilon ?? NaN) + (a[1]?.jobEpsilon ?? NaN));
    expect(a[1]?.totalDelta).toBe(1e-5 + 1e-6);
    // Filtering by organisation gives that organisation's series unchanged.
    expect(orgEpsilonSeries(db, { orgId: 'org-b' })).toEqual([byOrg.get('org-b')]);
  });

  it('is empty on a ledger with no charged round', () => {
    expect(orgEpsilonSeries(db)).toEqual([]);
  });
});
