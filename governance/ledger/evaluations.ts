/**
 * Charging a noised federated evaluation (evaluation.noise; privacy/dp/evaluation-noise.ts) like a training round:
 * the release of round r's evaluation sum is one more mechanism on every organisation whose vector was in it, at
 * q = 1 (every eligible client is asked, so nothing is amplified), with the RDP bound of Kairouz, Liu & Steinke
 * 2021, Proposition 14 for the survivors actually in the sum. The job's ε composes its training rounds and these
 * releases (store.ts `jobGroups`); each organisation's spend row gains the release (its cap is checked over all
 * its jobs, as for rounds). MUST run inside the release transaction, before the unmask request (the coordinator's
 * DP feature calls it from the evaluation's release gate), so no evaluation sum ever exists uncharged.
 */
import { isoUtc } from '../../lib/time.ts';
import type { DdgaussRdpParams } from '../../privacy/accountant/ddgauss.ts';
import { TesseraError } from '../../protocol/errors.ts';
import type { Db } from '../state/database.ts';
import { decideRound, type NextRound, type RoundDecision } from './decide.ts';
import type { ChargedEvaluation } from './evaluation-rows.ts';
import { chargeOrgSpend, jobGroups, requireBudget, termsOf } from './store.ts';

export { chargedEvaluations, type ChargedEvaluation } from './evaluation-rows.ts';

export interface EvaluationCharge {
  jobId: string;
  round: number;
  /** Organisations whose vectors the released sum holds. */
  orgIds: readonly string[];
  /** Proposition 14's parameters at the survivors actually in the sum. */
  ddgauss: DdgaussRdpParams;
  privateNoise?: boolean;
  chargedAt?: string;
}

/** Would this release stay within the job's budget? (The same decision `chargeEvaluation` makes.) */
export function decideEvaluation(db: Db, jobId: string, ddgauss: DdgaussRdpParams): RoundDecision {
  const budget = requireBudget(db, jobId);
  return decideRound({ budget: termsOf(budget), charged: jobGroups(db, jobId), next: releaseOf(ddgauss) });
}

const releaseOf = (ddgauss: DdgaussRdpParams): NextRound => ({ samplingRate: 1, noiseMultiplier: 1 / ddgauss.l2Scale, ddgauss });

/**
 * Records one evaluation release. Throws TESSERA_ERR_BUDGET_EXCEEDED (job budget or an organisation's cap) or
 * TESSERA_ERR_LEDGER (a second charge for the round), which rolls the caller's transaction back.
 */
export function chargeEvaluation(db: Db, charge: EvaluationCharge): ChargedEvaluation {
  if (!db.inTransaction) throw new TesseraError('TESSERA_ERR_LEDGER', 'chargeEvaluation must run inside the release transaction (db.transaction(...))');
  const budget = requireBudget(db, charge.jobId);
  const next = releaseOf(charge.ddgauss);
  const decision = decideRound({ budget: termsOf(budget), charged: jobGroups(db, charge.jobId), next });
  if (!decision.allowed) throw new TesseraError('TESSERA_ERR_BUDGET_EXCEEDED', `job ${charge.jobId} evaluation of round ${charge.round}: ${decision.reason}`, { details: { jobId: charge.jobId, round: charge.round, epsilonAfter: decision.epsilonAfter, budget: budget.epsilon } });
  const at = charge.chargedAt ?? isoUtc();
  const row: ChargedEvaluation = {
    jobId: charge.jobId,
    round: charge.round,
    participants: charge.orgIds.length,
    noiseMultiplier: next.noiseMultiplier,
    ddgauss: charge.ddgauss,
    epsilonAfter: decision.epsilonAfter,
    delta: budget.delta,
    privateNoise: charge.privateNoise ?? true,
    chargedAt: at,
  };
  try {
    db.prepare('INSERT INTO ledger_evaluations (job_id, round, participants, noise_multiplier, ddgauss, epsilon_after, delta, private_noise, charged_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      row.jobId,
      row.round,
      row.participants,
      row.noiseMultiplier,
      JSON.stringify(row.ddgauss),
      row.epsilonAfter,
      row.delta,
      row.privateNoise ? 1 : 0,
      at,
    );
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_LEDGER', `job ${charge.jobId} evaluation of round ${charge.round} cannot be charged: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  chargeOrgSpend(db, budget, { jobId: charge.jobId, round: charge.round, orgIds: [...new Set(charge.orgIds)], table: 'ledger_org_evaluations' }, next, at);
  return row;
}
