/** The privacy ledger: pure decisions (decide.ts) and the durable store (store.ts). */
export { decideRound, eligibleOrgs, epsilonOf, groupRounds, withRound } from './decide.ts';
export type { BudgetTerms, DecideRoundInput, EligibleOrgs, NextRound, OrgEligibility, OrgHistory, RoundDecision } from './decide.ts';
export {
  chargeRound,
  chargedRounds,
  orgTotal,
  underfillSpent,
  getJobBudget,
  getOrgCaps,
  listJobBudgets,
  orgSpend,
  planRound,
  setJobBudget,
  setOrgCap,
} from './store.ts';
export { budgetChanges, changeJobBudget } from './budget-changes.ts';
export { jobDraws, latestDraw, recordDraw } from './draws.ts';
export type { RoundDraw } from './draws.ts';
export type { BudgetChange } from './budget-changes.ts';
export type { ChargedRound, JobBudget, OrgSpend, OrgTotal, RoundCharge, RoundPlan } from './store.ts';
export { ledgerReport } from './report.ts';
export type { LedgerReport } from './report.ts';
export { orgEpsilonSeries } from './org-series.ts';
export type { OrgEpsilonPoint, OrgEpsilonSeries } from './org-series.ts';
export { chargeEvaluation, chargedEvaluations, decideEvaluation } from './evaluations.ts';
export type { ChargedEvaluation, EvaluationCharge } from './evaluations.ts';
