/** What a privacy officer sees (`tessera ledger show`): budgets, spend, charged rounds, organisation caps. */
import type { Db } from '../state/database.ts';
import type { ChargedRound, JobBudget, OrgSpend } from './store.ts';
import { budgetChanges, type BudgetChange } from './budget-changes.ts';
import { chargedRounds, getJobBudget, getOrgCaps, listJobBudgets, orgSpend, orgTotal, underfillSpent } from './store.ts';

export interface JobLedger {
  budget: JobBudget;
  roundsCharged: number;
  lastRound: number | null;
  epsilonSpent: number;
  epsilonRemaining: number;
  /** Rounds whose noise came from a seeded generator: their results are NOT private. */
  notPrivateRounds: number;
  /** Σ η_t over charged rounds: the probability mass of under-filled rounds paid from the reserved δ. */
  underfill: number;
  /** Privacy-officer changes of the budget (who, why), oldest first. */
  budgetChanges: BudgetChange[];
}

export interface OrgLedger {
  orgId: string;
  cap: number | null;
  /** Σ over every job of the organisation's ε (sequential composition): what its cap is compared with. */
  totalEpsilon: number;
  /** Σ over every job of the δ at which those ε hold. */
  totalDelta: number;
  spend: Array<Omit<OrgSpend, 'orgId'>>;
}

export interface LedgerReport {
  jobs: JobLedger[];
  /** Present when a job is selected. */
  rounds?: ChargedRound[];
  orgs: OrgLedger[];
}

function jobLedger(db: Db, budget: JobBudget): JobLedger {
  const rounds = chargedRounds(db, budget.jobId);
  const last = rounds[rounds.length - 1];
  const spent = last?.epsilonAfter ?? 0;
  return {
    budget,
    roundsCharged: rounds.length,
    lastRound: last?.round ?? null,
    epsilonSpent: spent,
    epsilonRemaining: Math.max(0, budget.epsilon - spent),
    notPrivateRounds: rounds.filter((r) => !r.privateNoise).length,
    underfill: underfillSpent(db, budget.jobId),
    budgetChanges: budgetChanges(db, budget.jobId),
  };
}

/**
 * No filter: every job, and every organisation with a cap. --job: that job, its rounds, and the spend of each
 * organisation on it. --org: that organisation's cap and its spend on every job. Both: the intersection.
 */
export function ledgerReport(db: Db, filter: { jobId?: string; orgId?: string } = {}): LedgerReport {
  const budgets = filter.jobId === undefined ? listJobBudgets(db) : [getJobBudget(db, filter.jobId)].filter((b): b is JobBudget => b !== undefined);
  const jobs = budgets.map((b) => jobLedger(db, b));
  const caps = getOrgCaps(db);
  const spend = filter.jobId === undefined && filter.orgId === undefined ? [] : orgSpend(db, filter);
  const orgIds = new Set<string>(spend.map((s) => s.orgId));
  if (filter.orgId !== undefined) orgIds.add(filter.orgId);
  if (filter.jobId === undefined && filter.orgId === undefined) for (const id of caps.keys()) orgIds.add(id);
  const orgs = [...orgIds].sort().map((orgId) => {
    const total = orgTotal(db, orgId);
    return {
      orgId,
      cap: caps.get(orgId) ?? null,
      totalEpsilon: total.totalEpsilon,
      totalDelta: total.totalDelta,
      spend: spend.filter((s) => s.orgId === orgId).map(({ orgId: _o, ...rest }) => rest),
    };
  });
  const report: LedgerReport = { jobs, orgs };
  if (filter.jobId !== undefined) report.rounds = chargedRounds(db, filter.jobId);
  return report;
}
