/**
 * Each organisation's ε over the charged rounds (issue 17 §2: "ε and δ spent … per organisation, cumulative across
 * jobs, as charts over rounds"). Nothing new is computed here: the ledger's rows say which organisations were
 * eligible in each charged round (`ledger_org_rounds`) and with which (q, σ[, DDGauss]) the round was charged
 * (`ledger_rounds`), and whose vectors were in each noised evaluation release (`ledger_org_evaluations`,
 * `ledger_evaluations`, q = 1); replaying them through the same `withRound` / `epsilonOf` / `termsOf` that `chargeRound` used
 * gives, after each round, exactly the ε the ledger stored for the organisation at that moment (its
 * `ledger_org_spend` row after the last round; org-series.test.ts checks equality to the bit).
 *
 * Within a job the organisation's ε is the accountant's answer for all rounds it was eligible in (RDP composition,
 * Mironov 2017 Prop. 1, one conversion at the job's δ) — not a sum of per-round ε. Across jobs the totals add
 * (sequential composition, Dwork & Roth 2014 Theorem 3.16), as the organisation caps are checked (store.ts).
 *
 * Rounds of different jobs are ordered by the time they were charged, so `step` (1, 2, … over the whole ledger) is
 * a common x-axis for every organisation; with one job, step = round.
 */
import type { RoundGroup } from '../../privacy/accountant/index.ts';
import type { Db } from '../state/database.ts';
import { epsilonOf, withRound, type NextRound } from './decide.ts';
import { chargedRounds, getOrgCaps, listJobBudgets, termsOf, type JobBudget } from './store.ts';
import { chargedEvaluations } from './evaluation-rows.ts';

export interface OrgEpsilonPoint {
  /** Position of the charged round in the ledger's charge order, over all jobs (1-based). */
  step: number;
  jobId: string;
  round: number;
  /** The organisation's ε on this job after the round. */
  jobEpsilon: number;
  /** Σ over jobs of its ε so far: what its cap is compared with. */
  totalEpsilon: number;
  /** Σ over the jobs it has been charged by of their δ. */
  totalDelta: number;
  /** Set when the point is the round's noised evaluation release (governance/ledger/evaluations.ts), not its training. */
  evaluation?: true;
}

/** One charged release as the replay needs it. */
interface Charge {
  jobId: string;
  round: number;
  samplingRate: number;
  noiseMultiplier: number;
  epsilonAfter: number;
  chargedAt: string;
  ddgauss?: NextRound['ddgauss'];
  evaluation: boolean;
}

export interface OrgEpsilonSeries {
  orgId: string;
  cap: number | null;
  /** One point per charged round the organisation was eligible in, in charge order. */
  points: OrgEpsilonPoint[];
}

/** Every organisation charged by any job (or only `orgId`), with its ε after each round it was eligible in. */
export function orgEpsilonSeries(db: Db, filter: { orgId?: string } = {}): OrgEpsilonSeries[] {
  const budgets = new Map<string, JobBudget>(listJobBudgets(db).map((b) => [b.jobId, b]));
  // Training rounds and noised evaluation releases (ledger-006), replayed in charge order; a round's evaluation is
  // charged after its training release, so at equal times the training row comes first.
  const rounds: Charge[] = [...budgets.keys()].flatMap((jobId) => [
    ...chargedRounds(db, jobId).map((r) => ({ ...r, evaluation: false })),
    ...chargedEvaluations(db, jobId).map((e) => ({ ...e, samplingRate: 1, evaluation: true })),
  ]);
  rounds.sort((a, b) => (a.chargedAt < b.chargedAt ? -1 : a.chargedAt > b.chargedAt ? 1 : a.jobId < b.jobId ? -1 : a.jobId > b.jobId ? 1 : a.round - b.round || Number(a.evaluation) - Number(b.evaluation)));
  const org = filter.orgId === undefined ? '' : ' AND org_id = ?';
  const inRound = db.prepare(`SELECT org_id FROM ledger_org_rounds WHERE job_id = ? AND round = ?${org} ORDER BY org_id`).pluck();
  const inEvaluation = db.prepare(`SELECT org_id FROM ledger_org_evaluations WHERE job_id = ? AND round = ?${org} ORDER BY org_id`).pluck();
  const caps = getOrgCaps(db);

  const history = new Map<string, RoundGroup[]>(); // `${orgId}\u0000${jobId}` → the groups charged so far
  const eligibleRounds = new Map<string, number>(); // same key → how many of the job's charged rounds it was eligible in
  const jobRounds = new Map<string, number>(); // jobId → charged rounds replayed so far
  const perJob = new Map<string, Map<string, number>>(); // orgId → jobId → ε so far
  const out = new Map<string, OrgEpsilonSeries>();
  // Organisations with the same history on a job share its ε (as in chargeRound's own memo).
  const memo = new Map<string, number>();
  rounds.forEach((r, i) => {
    const budget = budgets.get(r.jobId);
    if (budget === undefined) return;
    const next: NextRound = { samplingRate: r.samplingRate, noiseMultiplier: r.noiseMultiplier, ...(r.ddgauss === undefined ? {} : { ddgauss: r.ddgauss }) };
    const args = filter.orgId === undefined ? [r.jobId, r.round] : [r.jobId, r.round, filter.orgId];
    const jobCount = (jobRounds.get(r.jobId) ?? 0) + 1;
    jobRounds.set(r.jobId, jobCount);
    for (const orgId of (r.evaluation ? inEvaluation : inRound).all(...args) as string[]) {
      const key = `${orgId}\u0000${r.jobId}`;
      const groups = withRound(history.get(key) ?? [], next);
      history.set(key, groups);
      const count = (eligibleRounds.get(key) ?? 0) + 1;
      eligibleRounds.set(key, count);
      // Eligible in every round of the job so far: its groups are the job's own, built in the same order, so its ε
      // is the job's recorded ε after this round (decideRound's epsilonOf of the same groups, same terms) — read,
      // not recomputed, which keeps this cheap for accountants whose every call is slow (PLD: ~1 s).
      let eps = count === jobCount ? r.epsilonAfter : undefined;
      const memoKey = `${r.jobId}\u0000${JSON.stringify(groups)}`;
      eps ??= memo.get(memoKey);
      if (eps === undefined) {
        eps = epsilonOf(groups, termsOf(budget)).epsilon;
        memo.set(memoKey, eps);
      }
      const jobs = perJob.get(orgId) ?? new Map<string, number>();
      jobs.set(r.jobId, eps);
      perJob.set(orgId, jobs);
      let totalEpsilon = 0;
      let totalDelta = 0;
      for (const [jobId, e] of jobs) {
        totalEpsilon += e;
        totalDelta += budgets.get(jobId)?.delta ?? 0;
      }
      const series = out.get(orgId) ?? { orgId, cap: caps.get(orgId) ?? null, points: [] };
      series.points.push({ step: i + 1, jobId: r.jobId, round: r.round, jobEpsilon: eps, totalEpsilon, totalDelta, ...(r.evaluation ? { evaluation: true } : {}) });
      out.set(orgId, series);
    }
  });
  return [...out.values()].sort((a, b) => (a.orgId < b.orgId ? -1 : a.orgId > b.orgId ? 1 : 0));
}
