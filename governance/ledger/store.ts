/**
 * The durable privacy ledger (governance/state/migrations/ledger.ts for its tables and invariants). Budgets and caps are
 * set by privacy officers; `planRound` tells the coordinator, before a round, whether it may run and which
 * organisations may be sampled; `chargeRound` records the round — CALL IT INSIDE THE ROUND-COMMIT TRANSACTION,
 * the coordinator calls it (coordinator/features/dp.ts `beforeRelease`) in its own transaction at the first moment
 * the round's aggregate can be computed — before the secure-aggregation unmask request, before plain updates are
 * summed — so a crash after that moment leaves the round charged, and the round row written later can never
 * exist without its charge. chargeRound recomputes ε from the ledger's own rows rather than
 * trusting the caller, and SQLite triggers refuse a second charge of a round, a smaller ε, or a charge above the
 * job budget or an organisation's cap — the whole transaction then rolls back.
 *
 * Organisation caps are cumulative over every job on this state (ledger-002): sequential composition adds the
 * per-job (ε, δ) (Dwork & Roth 2014, Theorem 3.16), so an organisation's total is the sum over its jobs.
 */
import { isoUtc } from '../../lib/time.ts';
import { z } from 'zod';
import type { Accountant, Conversion, RoundGroup } from '../../privacy/accountant/index.ts';
import type { DdgaussRdpParams } from '../../privacy/accountant/ddgauss.ts';
import { accountedDelta } from '../../privacy/dp/underfill.ts';
import { TesseraError } from '../../protocol/errors.ts';
import type { DpPlacement } from '../../protocol/job/dp.ts';
import { type Db, migrate } from '../state/database.ts';
import type { BudgetTerms, EligibleOrgs, NextRound, RoundDecision } from './decide.ts';
import { decideRound, eligibleOrgs, epsilonOf, groupRounds, withRound } from './decide.ts';
import { evaluationRounds } from './evaluation-rows.ts';

/**
 * The job's charged releases as the accountant's groups: its training rounds and its noised evaluation releases
 * (ledger-006; evaluations.ts), composed together (RDP adds, Mironov 2017 Prop. 1).
 */
export function jobGroups(db: Db, jobId: string): RoundGroup[] {
  return groupRounds([...chargedRounds(db, jobId), ...evaluationRounds(db, jobId)]);
}

export interface JobBudget {
  jobId: string;
  epsilon: number;
  delta: number;
  placement: DpPlacement;
  trustedCoordinator: boolean;
  accountant: Accountant;
  conversion: Conversion;
  /** Fraction f of δ reserved for under-filled rounds (privacy/dp/underfill.ts); ε is converted at (1 − f)·δ. */
  underfillFraction?: number;
}

export interface ChargedRound {
  jobId: string;
  round: number;
  samplingRate: number;
  noiseMultiplier: number;
  clipNorm: number;
  placement: DpPlacement;
  eligible: number;
  participants: number;
  epsilonAfter: number;
  delta: number;
  /** False when the noise came from a seeded (non-cryptographic) source: the result is NOT private. */
  privateNoise: boolean;
  /** Probability that this round's sample had been short (paid from the reserved δ). */
  underfill: number;
  chargedAt: string;
  /** A distributed discrete Gaussian round: the parameters of its RDP bound, with the survivors actually present. */
  ddgauss?: DdgaussRdpParams;
}

const DdgaussJson = z.object({ l2Scale: z.number().min(0), l1Scale: z.number().min(0), tau: z.number().min(0), dim: z.number().int().positive() });

const ready = new WeakSet<Db>();
/** Applies the ledger migration to a handle opened before this module was imported. */
function ensureSchema(db: Db): void {
  if (ready.has(db)) return;
  migrate(db);
  ready.add(db);
}

const now = (): string => isoUtc();

const BudgetRow = z.object({
  job_id: z.string(),
  epsilon: z.number(),
  delta: z.number(),
  placement: z.enum(['central', 'distributed', 'local']),
  trusted_coordinator: z.number(),
  accountant: z.enum(['rdp', 'analytic_gaussian', 'pld']),
  conversion: z.enum(['improved', 'classic']),
  underfill_fraction: z.number(),
});

export function getJobBudget(db: Db, jobId: string): JobBudget | undefined {
  ensureSchema(db);
  const raw = db.prepare('SELECT * FROM ledger_job_budgets WHERE job_id = ?').get(jobId);
  if (raw === undefined) return undefined;
  const r = BudgetRow.parse(raw);
  return { jobId: r.job_id, epsilon: r.epsilon, delta: r.delta, placement: r.placement, trustedCoordinator: r.trusted_coordinator === 1, accountant: r.accountant, conversion: r.conversion, underfillFraction: r.underfill_fraction };
}

export function listJobBudgets(db: Db): JobBudget[] {
  ensureSchema(db);
  const ids = db.prepare('SELECT job_id FROM ledger_job_budgets ORDER BY created_at, job_id').pluck().all() as string[];
  return ids.map((id) => getJobBudget(db, id) as JobBudget);
}

/**
 * Creates or updates a job's budget. Once rounds are charged only ε may change (a privacy officer's decision):
 * δ, placement, trust, accountant and conversion are part of every recorded ε_after and cannot move under it.
 */
export function setJobBudget(db: Db, budget: JobBudget): void {
  ensureSchema(db);
  if (budget.placement === 'central' && !budget.trustedCoordinator) {
    throw new TesseraError('TESSERA_ERR_DP_CONFIG', `job ${budget.jobId}: central placement needs a trusted coordinator`);
  }
  db.transaction(() => {
    const existing = getJobBudget(db, budget.jobId);
    const charged = (db.prepare('SELECT COUNT(*) FROM ledger_rounds WHERE job_id = ?').pluck().get(budget.jobId) as number) > 0;
    if (existing && charged) {
      const full = { ...budget, underfillFraction: budget.underfillFraction ?? 0 };
      for (const k of ['delta', 'placement', 'trustedCoordinator', 'accountant', 'conversion', 'underfillFraction'] as const) {
        if (existing[k] !== full[k]) {
          throw new TesseraError('TESSERA_ERR_LEDGER', `job ${budget.jobId} already has charged rounds: its ${k} cannot change (${String(existing[k])} → ${String(budget[k])})`);
        }
      }
    }
    db.prepare(
      `INSERT INTO ledger_job_budgets (job_id, epsilon, delta, placement, trusted_coordinator, accountant, conversion, underfill_fraction, created_at, updated_at)
       VALUES (@jobId, @epsilon, @delta, @placement, @trusted, @accountant, @conversion, @underfill, @at, @at)
       ON CONFLICT (job_id) DO UPDATE SET epsilon = excluded.epsilon, delta = excluded.delta, placement = excluded.placement,
         trusted_coordinator = excluded.trusted_coordinator, accountant = excluded.accountant, conversion = excluded.conversion,
         underfill_fraction = excluded.underfill_fraction, updated_at = excluded.updated_at`,
    ).run({ jobId: budget.jobId, epsilon: budget.epsilon, delta: budget.delta, placement: budget.placement, accountant: budget.accountant, conversion: budget.conversion, underfill: budget.underfillFraction ?? 0, trusted: budget.trustedCoordinator ? 1 : 0, at: now() });
  })();
}

/** Sets an organisation's cap: the largest ε all jobs on this state together may spend on its data. */
export function setOrgCap(db: Db, { orgId, maxEpsilon }: { orgId: string; maxEpsilon: number }): void {
  ensureSchema(db);
  if (!(maxEpsilon > 0)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `an organisation cap must be > 0, got ${maxEpsilon}`);
  db.prepare(
    `INSERT INTO ledger_org_caps (org_id, max_epsilon, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (org_id) DO UPDATE SET max_epsilon = excluded.max_epsilon, updated_at = excluded.updated_at`,
  ).run(orgId, maxEpsilon, now());
}

export function getOrgCaps(db: Db): Map<string, number> {
  ensureSchema(db);
  const rows = db.prepare('SELECT org_id, max_epsilon FROM ledger_org_caps').all() as Array<{ org_id: string; max_epsilon: number }>;
  return new Map(rows.map((r) => [r.org_id, r.max_epsilon]));
}

export function chargedRounds(db: Db, jobId: string): ChargedRound[] {
  ensureSchema(db);
  const rows = db.prepare('SELECT * FROM ledger_rounds WHERE job_id = ? ORDER BY round').all(jobId) as Array<Record<string, unknown>>;
  return rows.map((r) => ({
    jobId: String(r.job_id),
    round: Number(r.round),
    samplingRate: Number(r.sampling_rate),
    noiseMultiplier: Number(r.noise_multiplier),
    clipNorm: Number(r.clip_norm),
    placement: String(r.placement) as DpPlacement,
    eligible: Number(r.eligible),
    participants: Number(r.participants),
    epsilonAfter: Number(r.epsilon_after),
    delta: Number(r.delta),
    privateNoise: Number(r.private_noise) === 1,
    underfill: Number(r.underfill),
    chargedAt: String(r.charged_at),
    ...(typeof r.ddgauss === 'string' ? { ddgauss: DdgaussJson.parse(JSON.parse(r.ddgauss)) } : {}),
  }));
}

const GroupsJson = z.array(z.object({ samplingRate: z.number(), noiseMultiplier: z.number(), steps: z.number().int().min(0), ddgauss: DdgaussJson.optional() }));

function orgGroups(db: Db, jobId: string): Map<string, RoundGroup[]> {
  const rows = db.prepare('SELECT org_id, groups FROM ledger_org_spend WHERE job_id = ?').all(jobId) as Array<{ org_id: string; groups: string }>;
  return new Map(rows.map((r) => [r.org_id, GroupsJson.parse(JSON.parse(r.groups))]));
}

export function requireBudget(db: Db, jobId: string): JobBudget {
  const b = getJobBudget(db, jobId);
  if (!b) throw new TesseraError('TESSERA_ERR_NOT_FOUND', `no privacy budget is set for job ${jobId}`);
  return b;
}

/**
 * The accountant converts at δ_acc = (1 − f)·δ: the rest of δ pays for under-filled rounds (privacy/dp/underfill.ts).
 * Exported for the per-organisation series (org-series.ts), which replays the charges with these same terms.
 */
export const termsOf = (b: JobBudget): BudgetTerms => ({ epsilon: b.epsilon, delta: accountedDelta(b.delta, b.underfillFraction ?? 0), accountant: b.accountant, conversion: b.conversion });

/** ε each organisation has been charged by every job other than `jobId` (the rest of its cumulative total). */
function otherJobsEpsilon(db: Db, jobId: string): Map<string, number> {
  const rows = db.prepare('SELECT org_id, SUM(epsilon) AS e FROM ledger_org_spend WHERE job_id <> ? GROUP BY org_id').all(jobId) as Array<{ org_id: string; e: number }>;
  return new Map(rows.map((r) => [r.org_id, r.e]));
}

export interface OrgTotal {
  orgId: string;
  /** Σ over jobs of the organisation's ε (sequential composition). */
  totalEpsilon: number;
  /** Σ over jobs of the δ at which those ε hold. */
  totalDelta: number;
}

export function orgTotal(db: Db, orgId: string): OrgTotal {
  ensureSchema(db);
  const r = db.prepare('SELECT COALESCE(SUM(epsilon), 0) AS e, COALESCE(SUM(delta), 0) AS d FROM ledger_org_spend WHERE org_id = ?').get(orgId) as { e: number; d: number };
  return { orgId, totalEpsilon: r.e, totalDelta: r.d };
}

/** Σ of the under-fill probabilities of the job's charged rounds. */
export function underfillSpent(db: Db, jobId: string): number {
  ensureSchema(db);
  return db.prepare('SELECT COALESCE(SUM(underfill), 0) FROM ledger_rounds WHERE job_id = ?').pluck().get(jobId) as number;
}

export interface RoundPlan extends RoundDecision, EligibleOrgs {
  jobId: string;
}

/** Before a round: may it run (job budget), and which of `orgIds` may be sampled (organisation caps)? */
export function planRound(db: Db, { jobId, next, orgIds }: { jobId: string; next: NextRound; orgIds: readonly string[] }): RoundPlan {
  ensureSchema(db);
  const budget = requireBudget(db, jobId);
  const charged = jobGroups(db, jobId);
  const decision = decideRound({ budget: termsOf(budget), charged, next });
  const caps = getOrgCaps(db);
  const history = orgGroups(db, jobId);
  const others = otherJobsEpsilon(db, jobId);
  const orgs = eligibleOrgs({
    orgs: orgIds.map((orgId) => {
      const cap = caps.get(orgId);
      return { orgId, charged: history.get(orgId) ?? [], otherJobsEpsilon: others.get(orgId) ?? 0, ...(cap === undefined ? {} : { cap }) };
    }),
    next,
    terms: termsOf(budget),
  });
  return { jobId, ...decision, ...orgs };
}

export interface RoundCharge {
  jobId: string;
  round: number;
  samplingRate: number;
  noiseMultiplier: number;
  clipNorm: number;
  /** Organisations the round's Poisson sample was drawn from (N = eligibleOrgIds.length). */
  eligibleOrgIds: readonly string[];
  /** Organisations whose contribution reached the released sum. */
  participants: number;
  /** Default true; pass rng.isPrivate so that seeded-noise results are marked NOT private. */
  privateNoise?: boolean;
  /** η of this round: the probability its sample had been short (default 0). */
  underfill?: number;
  chargedAt?: string;
  /** A distributed discrete Gaussian round, accounted with the survivors actually in its sum. */
  ddgauss?: DdgaussRdpParams;
}

/**
 * Records a round's charge. MUST run inside the caller's round-commit transaction (`db.transaction(...)`); it
 * refuses to run outside one. Throws TESSERA_ERR_BUDGET_EXCEEDED (job budget or an organisation cap) or
 * TESSERA_ERR_LEDGER (double charge, out-of-order round), which rolls the caller's transaction back.
 */
export function chargeRound(db: Db, charge: RoundCharge): ChargedRound {
  ensureSchema(db);
  if (!db.inTransaction) throw new TesseraError('TESSERA_ERR_LEDGER', 'chargeRound must run inside the round-commit transaction (db.transaction(...))');
  const budget = requireBudget(db, charge.jobId);
  const next: NextRound = { samplingRate: charge.samplingRate, noiseMultiplier: charge.noiseMultiplier, ...(charge.ddgauss === undefined ? {} : { ddgauss: charge.ddgauss }) };
  const decision = decideRound({ budget: termsOf(budget), charged: jobGroups(db, charge.jobId), next });
  if (!decision.allowed) throw new TesseraError('TESSERA_ERR_BUDGET_EXCEEDED', `job ${charge.jobId} round ${charge.round}: ${decision.reason}`, { details: { jobId: charge.jobId, round: charge.round, epsilonAfter: decision.epsilonAfter, budget: budget.epsilon } });
  const at = charge.chargedAt ?? now();
  const row: ChargedRound = {
    jobId: charge.jobId,
    round: charge.round,
    samplingRate: charge.samplingRate,
    noiseMultiplier: charge.noiseMultiplier,
    clipNorm: charge.clipNorm,
    placement: budget.placement,
    eligible: charge.eligibleOrgIds.length,
    participants: charge.participants,
    epsilonAfter: decision.epsilonAfter,
    delta: budget.delta,
    privateNoise: charge.privateNoise ?? true,
    underfill: charge.underfill ?? 0,
    chargedAt: at,
    ...(charge.ddgauss === undefined ? {} : { ddgauss: charge.ddgauss }),
  };
  try {
    db.prepare(
      `INSERT INTO ledger_rounds (job_id, round, sampling_rate, noise_multiplier, clip_norm, placement, eligible, participants, epsilon_after, delta, private_noise, underfill, charged_at, ddgauss)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(row.jobId, row.round, row.samplingRate, row.noiseMultiplier, row.clipNorm, row.placement, row.eligible, row.participants, row.epsilonAfter, row.delta, row.privateNoise ? 1 : 0, row.underfill, at, row.ddgauss === undefined ? null : JSON.stringify(row.ddgauss));
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_LEDGER', `job ${charge.jobId} round ${charge.round} cannot be charged: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  chargeOrgs(db, budget, charge, next, at);
  return row;
}

function chargeOrgs(db: Db, budget: JobBudget, charge: RoundCharge, next: NextRound, at: string): void {
  chargeOrgSpend(db, budget, { jobId: charge.jobId, round: charge.round, orgIds: charge.eligibleOrgIds, table: 'ledger_org_rounds' }, next, at);
}

/**
 * Adds one release to each organisation's spend on the job (cap-checked over all its jobs) and records which
 * organisations it covered: the eligible organisations of a training round (ledger_org_rounds), or those whose
 * vectors were in an evaluation sum (ledger_org_evaluations).
 */
export function chargeOrgSpend(db: Db, budget: JobBudget, charge: { jobId: string; round: number; orgIds: readonly string[]; table: 'ledger_org_rounds' | 'ledger_org_evaluations' }, next: NextRound, at: string): void {
  const caps = getOrgCaps(db);
  const history = orgGroups(db, charge.jobId);
  const others = otherJobsEpsilon(db, charge.jobId);
  const insertOrgRound = db.prepare(`INSERT INTO ${charge.table} (job_id, round, org_id) VALUES (?, ?, ?)`);
  const upsert = db.prepare(
    `INSERT INTO ledger_org_spend (job_id, org_id, rounds, epsilon, delta, groups, last_round, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (job_id, org_id) DO UPDATE SET rounds = excluded.rounds, epsilon = excluded.epsilon, delta = excluded.delta, groups = excluded.groups,
       last_round = excluded.last_round, updated_at = excluded.updated_at`,
  );
  const memo = new Map<string, number>();
  for (const orgId of charge.orgIds) {
    const groups = withRound(history.get(orgId) ?? [], next);
    const key = JSON.stringify(groups);
    let eps = memo.get(key);
    if (eps === undefined) {
      eps = epsilonOf(groups, termsOf(budget)).epsilon;
      memo.set(key, eps);
    }
    const cap = caps.get(orgId);
    const total = eps + (others.get(orgId) ?? 0);
    if (cap !== undefined && total > cap) {
      throw new TesseraError('TESSERA_ERR_BUDGET_EXCEEDED', `job ${charge.jobId} round ${charge.round}: organisation ${orgId} would reach epsilon ${total.toPrecision(6)} over all its jobs, above its cap ${cap}; it must not be sampled`, {
        details: { jobId: charge.jobId, round: charge.round, orgId, epsilonAfter: total, cap },
      });
    }
    insertOrgRound.run(charge.jobId, charge.round, orgId);
    upsert.run(charge.jobId, orgId, groups.reduce((s, g) => s + (g.steps ?? 1), 0), eps, budget.delta, key, charge.round, at);
  }
}

export interface OrgSpend {
  jobId: string;
  orgId: string;
  rounds: number;
  epsilon: number;
  lastRound: number;
}

export function orgSpend(db: Db, filter: { jobId?: string; orgId?: string } = {}): OrgSpend[] {
  ensureSchema(db);
  const where: string[] = [];
  const args: string[] = [];
  if (filter.jobId !== undefined) {
    where.push('job_id = ?');
    args.push(filter.jobId);
  }
  if (filter.orgId !== undefined) {
    where.push('org_id = ?');
    args.push(filter.orgId);
  }
  const sql = `SELECT job_id, org_id, rounds, epsilon, last_round FROM ledger_org_spend ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY job_id, org_id`;
  const rows = db.prepare(sql).all(...args) as Array<{ job_id: string; org_id: string; rounds: number; epsilon: number; last_round: number }>;
  return rows.map((r) => ({ jobId: r.job_id, orgId: r.org_id, rounds: r.rounds, epsilon: r.epsilon, lastRound: r.last_round }));
}
