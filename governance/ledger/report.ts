/** What a privacy officer sees (`tessera ledger show`): budgets, spend, charged rounds, organisation caps. */
import type { Db } from '../state/database.ts';
import type { ChargedRound, JobBudget, OrgSpend } from './store.ts';
import { chargedRounds, getJobBudget, getOrgCaps, listJobBudgets, orgSpend } from './store.ts';

export interface JobLedger {
  budget: JobBudget;
  roundsCharged: number;
  lastRound: number | null;
  epsilonSpent: number;
  epsilonRemaining: number;
  /** Rounds whose noise came from a seeded generator: their results are NOT private. */
  notPrivateRounds: number;
}

export interface OrgLedger {
  orgId: string;
  cap: number | null;
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
  const orgs = [...orgIds].sort().map((orgId) => ({
    orgId,
    cap: caps.get(orgId) ?? null,
    spend: spend.filter((s) => s.orgId === orgId).map(({ orgId: _o, ...rest }) => rest),
  }));
  const report: LedgerReport = { jobs, orgs };
  if (filter.jobId !== undefined) report.rounds = chargedRounds(db, filter.jobId);
  return report;
}
