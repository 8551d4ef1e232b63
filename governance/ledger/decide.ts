/**
 * The ledger's decisions as pure functions (no storage imports, so a client node or a simulation can use them
 * without the coordinator's database): would the next round stay within the job's budget, and which
 * organisations may still be sampled without exceeding their caps.
 *
 * ε after a round is the accountant's answer for ALL rounds charged so far plus this one (RDP composes by
 * addition, Mironov 2017 Prop. 1, then one conversion at the job's δ) — never a sum of per-round ε, which
 * would overstate the cost. An organisation's spend counts the rounds in which it was eligible: Poisson
 * sampling amplifies privacy only for organisations that faced the sampling, and an organisation left out of
 * the pool contributes nothing to that round.
 */
import type { Accountant, Conversion, EpsilonResult, RoundGroup } from '../../privacy/accountant/index.ts';
import type { DdgaussRdpParams } from '../../privacy/accountant/ddgauss.ts';
import { epsilonForRounds } from '../../privacy/accountant/index.ts';

export interface BudgetTerms {
  epsilon: number;
  delta: number;
  accountant?: Accountant;
  conversion?: Conversion;
}

export interface NextRound {
  samplingRate: number;
  noiseMultiplier: number;
  /** A distributed discrete Gaussian round: its RDP parameters (privacy/accountant/ddgauss.ts). */
  ddgauss?: DdgaussRdpParams;
}

const sameDdgauss = (a: DdgaussRdpParams | undefined, b: DdgaussRdpParams | undefined): boolean =>
  a === undefined || b === undefined ? a === b : a.l2Scale === b.l2Scale && a.l1Scale === b.l1Scale && a.tau === b.tau && a.dim === b.dim;

export interface RoundDecision {
  allowed: boolean;
  epsilonBefore: number;
  epsilonAfter: number;
  order: number | null;
  reason: string;
}

/** Adds one round to a multiset of round groups (pure; returns a new array). */
export function withRound(groups: readonly RoundGroup[], next: NextRound): RoundGroup[] {
  const out = groups.map((g) => ({ ...g, steps: g.steps ?? 1 }));
  const same = out.find((g) => g.samplingRate === next.samplingRate && g.noiseMultiplier === next.noiseMultiplier && sameDdgauss(g.ddgauss, next.ddgauss));
  if (same) same.steps += 1;
  else out.push({ samplingRate: next.samplingRate, noiseMultiplier: next.noiseMultiplier, steps: 1, ...(next.ddgauss === undefined ? {} : { ddgauss: next.ddgauss }) });
  return out;
}

/** Compacts per-round parameters into groups of identical (q, σ). */
export function groupRounds(rounds: readonly NextRound[]): RoundGroup[] {
  return rounds.reduce<RoundGroup[]>((acc, r) => withRound(acc, r), []);
}

export function epsilonOf(groups: readonly RoundGroup[], terms: Omit<BudgetTerms, 'epsilon'>): EpsilonResult {
  return epsilonForRounds(groups, {
    delta: terms.delta,
    ...(terms.accountant === undefined ? {} : { accountant: terms.accountant }),
    ...(terms.conversion === undefined ? {} : { conversion: terms.conversion }),
  });
}

export interface DecideRoundInput {
  budget: BudgetTerms;
  /** Rounds already charged to the job, as groups of identical (q, σ). */
  charged: readonly RoundGroup[];
  next: NextRound;
}

/** Allowed iff ε after the next round ≤ the job budget. */
export function decideRound({ budget, charged, next }: DecideRoundInput): RoundDecision {
  const before = charged.length === 0 ? 0 : epsilonOf(charged, budget).epsilon;
  const after = epsilonOf(withRound(charged, next), budget);
  const allowed = after.epsilon <= budget.epsilon;
  const fmt = (x: number): string => x.toPrecision(6);
  const reason = allowed
    ? `epsilon after the round ${fmt(after.epsilon)} ≤ budget ${fmt(budget.epsilon)} at delta ${budget.delta}`
    : `the round would raise epsilon from ${fmt(before)} to ${fmt(after.epsilon)}, above the budget ${fmt(budget.epsilon)} at delta ${budget.delta}`;
  return { allowed, epsilonBefore: before, epsilonAfter: after.epsilon, order: after.order, reason };
}

export interface OrgHistory {
  orgId: string;
  /** The organisation's cap (max ε any job may spend on its data); undefined = no cap beyond the job budget. */
  cap?: number;
  /** Rounds of THIS job in which the organisation was eligible. */
  charged: readonly RoundGroup[];
  /** ε already charged to the organisation by other jobs (caps are cumulative: sequential composition). */
  otherJobsEpsilon?: number;
}

export interface OrgEligibility {
  orgId: string;
  epsilonAfter: number;
  cap: number | null;
}

export interface EligibleOrgs {
  eligible: OrgEligibility[];
  excluded: OrgEligibility[];
}

/** Splits organisations into those whose cap the next round respects and those it would exceed. */
export function eligibleOrgs({ orgs, next, terms }: { orgs: readonly OrgHistory[]; next: NextRound; terms: Omit<BudgetTerms, 'epsilon'> }): EligibleOrgs {
  const memo = new Map<string, number>();
  const eligible: OrgEligibility[] = [];
  const excluded: OrgEligibility[] = [];
  for (const org of orgs) {
    const groups = withRound(org.charged, next);
    const key = JSON.stringify(groups.map((g) => [g.samplingRate, g.noiseMultiplier, g.steps, g.ddgauss ?? null]).sort());
    let eps = memo.get(key);
    if (eps === undefined) {
      eps = epsilonOf(groups, terms).epsilon;
      memo.set(key, eps);
    }
    const row = { orgId: org.orgId, epsilonAfter: eps + (org.otherJobsEpsilon ?? 0), cap: org.cap ?? null };
    if (org.cap !== undefined && row.epsilonAfter > org.cap) excluded.push(row);
    else eligible.push(row);
  }
  return { eligible, excluded };
}
