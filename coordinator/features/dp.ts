/**
 * Differential privacy in the round loop (issue 4). When the job spec has `dp.enabled`:
 *  - at job start: `resolveDpPlan` (refuses central placement without a trusted coordinator, fixed-size
 *    sampling, a missing budget …) and `setJobBudget` in the ledger;
 *  - eligibility: one client per organisation (the unit of privacy is the organisation's whole
 *    contribution, so it may put at most one clipped update into a sum), and no organisation whose cap the
 *    next round would exceed (`planRound`);
 *  - before the round: refuse it when ε after it would exceed the job budget → status 'budget-exhausted';
 *  - aggregation: uniform weighting, the fixed-denominator estimator, the coordinator's noise under central
 *    placement (dp-strategy.ts);
 *  - release: `chargeRound` in its own transaction at the first moment the round's aggregate can be computed
 *    (`beforeRelease`: before the unmask request, before plain updates are summed), so no aggregate, model or
 *    evaluation request ever exists for an uncharged round; the round row and audit entry follow at commit;
 *  - sampling: each round's draw is recorded in the ledger before any task leaves (`drawSample`), and a restarted
 *    coordinator reuses it instead of drawing the round again (governance/ledger/draws.ts);
 *  - short rounds: never re-sampled (`shortRound` ends the job); the probability of a short round is paid from
 *    the δ reserve (privacy/dp/underfill.ts), and a job that would be short too often is refused;
 *  - adaptive clipping (dp-adaptive.ts): each round's tasks carry C_t (`taskSpec`), the clients' noised
 *    indicators give C_{t+1}; the ledger still charges σ (Andrew et al. 2021, Theorem 1).
 * A DP job needs durable state (the ledger must outlive the process, or caps and budgets reset on restart).
 * Only a simulation that says it is not private (a seeded random source, `rng.isPrivate === false`) may keep
 * its ledger in an in-memory SQLite database, with the same migrations and triggers; its round records say so.
 */
import Database from 'better-sqlite3';
import { chargeEvaluation, chargeRound, chargedRounds, getJobBudget, planRound, setJobBudget, underfillSpent } from '../../governance/ledger/index.ts';
import { evaluationReleaseParams, plannedEvaluationGroups } from '../../privacy/dp/evaluation-noise.ts';
import { evaluationLayoutOf } from '../../privacy/secagg/evaluation-input.ts';
import { importanceLength } from '../../ml/explain/importance-for-job.ts';
import { fairnessLayoutForJob } from './fairness.ts';
import { migrate, type Db } from '../../governance/state/database.ts';
import { epsilonForRounds } from '../../privacy/accountant/index.ts';
import { roundForPlan } from '../../privacy/dp/ddgauss/accounting.ts';
import { countParameters } from '../../ml/model-shapes.ts';
import { dpPlanForJob, type DpPlan } from '../../privacy/dp/config.ts';
import { expectedParticipants } from '../../privacy/dp/estimator.ts';
import { noiseStdServer } from '../../privacy/dp/placement.ts';
import { participationReport } from '../../privacy/dp/sampling.ts';
import { accountedDelta, underfillAllowance, underfillProbability } from '../../privacy/dp/underfill.ts';
import { TesseraError } from '../../protocol/errors.ts';
import { roundStream } from '../../privacy/random.ts';
import { z } from 'zod';
import type { ConnectedClient } from '../federation.ts';
import type { ExcludedClient } from '../round-records.ts';
import type { FeatureFactory } from './assemble.ts';
import { AdaptiveClipTracker, type AdaptiveClipRelease } from './dp-adaptive.ts';
import { drawOrReuse, recordedPopulation } from './dp-draws.ts';
import { dpStrategy } from './dp-strategy.ts';
import { RoundScope } from './round-scope.ts';

/** Exclusion codes the DP feature gives (ExcludedClient.code). */
export const DP_EXCLUSION = { orgCap: 'TESSERA_ERR_BUDGET_EXCEEDED', duplicateOrg: 'DP_DUPLICATE_ORG' } as const;

/**
 * The job's DP plan, with the checks that only the round loop needs. The client derives the same plan
 * (client/mods/dp.ts): m counts the secure-aggregation threshold only when the job pins it, so m never
 * exceeds the number of survivors a round is guaranteed to have.
 */
/** The coordinator's DP plan: the same derivation as the clients' (privacy/dp/config.ts). */
export const coordinatorDpPlan = dpPlanForJob;

/** A private, throw-away ledger database for runs without a state directory (same schema and triggers). */
function memoryLedger(): Db {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  migrate(db);
  return db;
}

/** What the round's plan fixed in `beforeRound`, for aggregation and commit. */
interface PlannedRound {
  readonly eligibleOrgIds: readonly string[];
  readonly epsilonAfter: number;
  /** The plan of this round (with adaptive clipping: its C_t and σ_Δ). */
  readonly plan: DpPlan;
  /** η_t: probability that this round's sample had been short (bounded with N − 1 others; privacy/dp/underfill.ts). */
  readonly underfill: number;
  charged: boolean;
  adaptive?: AdaptiveClipRelease;
}

/** The DP feature's per-round object (round-scope.ts): what its hooks share within one round attempt. */
interface DpRound {
  readonly round: number;
  /** The job's ε after this round's noised evaluation release, when one was charged. */
  evaluationEpsilonAfter?: number;
  /** Organisations the caps kept out at this attempt's eligibility pass. */
  capExcluded: number;
  planned?: PlannedRound;
}

export const dpFeature: FeatureFactory = (ctx) => {
  const { spec, jobId, logger } = ctx;
  if (!spec.dp.enabled) return null;
  const adaptive = spec.dp.adaptiveClipping?.enabled === true ? new AdaptiveClipTracker(spec) : null;
  // A resumed job continues from the clip norm its last committed round set (dp-adaptive.ts restore).
  const resumedClip = ctx.db && adaptive ? lastCommittedClip(ctx.db, jobId) : null;
  if (adaptive && resumedClip) adaptive.restore(resumedClip);
  // With adaptive clipping and no explicit σ_b, σ_b (and so σ_Δ) is known from the first round's population;
  // the job-level plan then checks everything else, and each round's plan is derived in `beforeRound`.
  const plan = coordinatorDpPlan(adaptive && spec.dp.adaptiveClipping?.countNoiseStd === undefined ? { ...spec, dp: { ...spec.dp, adaptiveClipping: undefined } } : spec);
  if (ctx.db === undefined && ctx.rng.isPrivate) {
    throw new TesseraError(
      'TESSERA_ERR_DP_CONFIG',
      'a differentially private job needs durable state (--state DIR): an in-memory ledger would forget every charge, budget and organisation cap when the process ends; only a simulation that is not private (seeded randomness) may run without one',
    );
  }
  const db = ctx.db ?? memoryLedger();
  const ownsDb = ctx.db === undefined;
  const ledgerKind = ownsDb ? 'in-memory (simulation, not private)' : 'durable';
  // The job id is stable for a spec (name + spec hash), so a restart or a re-run finds the budget it left: the
  // ledger's budget then applies as it stands — once spent, only a privacy officer's audited
  // `tessera ledger budget change` lets the job run again. δ, placement, accountant and the δ reserve never change.
  const existing = getJobBudget(db, jobId);
  const budget = existing?.epsilon ?? plan.epsilon;
  if (existing && existing.epsilon !== plan.epsilon) logger.warn({ spec: plan.epsilon, ledger: existing.epsilon }, 'the ledger holds a different epsilon budget for this job than its spec; the ledger budget applies');
  const underfillFraction = existing?.underfillFraction ?? plan.underfillDeltaFraction;
  setJobBudget(db, { jobId, epsilon: budget, delta: plan.delta, placement: plan.placement, trustedCoordinator: plan.trustedCoordinator, accountant: plan.accountant, conversion: plan.conversion, underfillFraction });
  // Σ η_t may not exceed f·δ/(1 + e^ε) at the ε reached (privacy/dp/underfill.ts). Checked each round at that
  // round's ε_after; at the first round of a run also for the whole job, at the ε all its rounds would reach.
  const allowanceAt = (epsilon: number): number => underfillAllowance({ delta: plan.delta, fraction: underfillFraction, epsilonBudget: Math.min(budget, epsilon) });
  // A DDGauss round's ε depends on the model's dimension and on how many clients' noise is in the sum: planned at
  // m (the fewest a released sum may hold), charged at the survivors actually present (beforeRelease).
  const dimension = countParameters(spec.model);
  const roundAt = (survivors: number): ReturnType<typeof roundForPlan> => roundForPlan(plan, dimension, survivors);
  // Noised evaluation releases (evaluation.noise) are planned with the training rounds: a job whose planned
  // releases would overspend its budget is refused now, with its reason, instead of failing at a later round.
  const evaluationGroups = plannedEvaluationGroups(spec, (round) => evaluationLayoutOf(spec, importanceLength(spec, round), spec.fairness.enabled ? fairnessLayoutForJob(spec).length : 0));
  const jobEpsilon = epsilonForRounds([{ ...roundAt(plan.minSurvivors), steps: spec.rounds }, ...evaluationGroups], { delta: accountedDelta(plan.delta, underfillFraction), accountant: plan.accountant, conversion: plan.conversion }).epsilon;
  if (evaluationGroups.length > 0 && jobEpsilon > budget) {
    throw new TesseraError(
      'TESSERA_ERR_DP_CONFIG',
      `the job would overspend its privacy budget: ${spec.rounds} training round(s) and ${evaluationGroups.length} noised evaluation release(s) (evaluation.noise z = ${spec.evaluation.noise?.noiseMultiplier}, W = ${spec.evaluation.noise?.maxExamplesPerClient}, every ${spec.evaluation.everyRounds} round(s) and the last) reach ε = ${jobEpsilon.toPrecision(4)} at m = ${plan.minSurvivors} survivors, above the budget ${budget}. Evaluate less often (evaluation.everyRounds: 0 evaluates only at the end), raise evaluation.noise.noiseMultiplier or dp.noiseMultiplier, or raise dp.epsilon`,
    );
  }
  let firstRoundOfRun = true;
  /**
   * The fewest eligible organisations the round loop waits for before a round starts, so that a federation whose
   * nodes are still connecting (or reconnecting: `tessera simulate --churn`) is not refused for being momentarily
   * small, and early rounds run at a small population cannot use up the δ reserve for short samples that later
   * rounds need. It plans for every remaining round at that population; when the reserve left cannot cover them
   * all, for this round alone (beforeRound then decides, and refuses with the reason when even that fails).
   * η(N) falls with N, so a binary search finds the smallest N ≤ 10^6.
   */
  const wantedPopulation = (round: number): number => {
    const room = allowanceAt(jobEpsilon) - underfillSpent(db, jobId);
    const smallestFor = (rounds: number): number | null => {
      const fits = (n: number): boolean => rounds * underfillProbability({ population: n, samplingRate: plan.samplingRate, minParticipants: spec.minClients }) <= room;
      let lo = spec.minClients;
      let hi = 1_000_000;
      if (!fits(hi)) return null;
      while (lo < hi) {
        const mid = Math.floor((lo + hi) / 2);
        if (fits(mid)) hi = mid;
        else lo = mid + 1;
      }
      return lo;
    };
    return smallestFor(spec.rounds - round + 1) ?? smallestFor(1) ?? spec.minClients;
  };
  const next = roundAt(plan.minSurvivors);
  const serverNoiseStd = (p: DpPlan): number => noiseStdServer({ placement: p.placement, sigma: p.updateNoiseMultiplier, clipNorm: p.clipNorm, minSurvivors: p.minSurvivors });
  // The coordinator's randomness: Poisson sampling always, the noise too under central placement.
  const privateNoise = ctx.rng.isPrivate;
  // Against the coordinator itself: local noise always; distributed noise when every sum it learns holds at
  // least m noise shares — under secure aggregation the coordinator's round (coordinator/secagg-round.ts)
  // refuses to unmask fewer than minClients masked inputs, and m = max(minClients, pinned t); central never.
  const againstCoordinator = plan.placement === 'local' || (plan.placement === 'distributed' && spec.secagg.enabled);
  if (plan.placement === 'distributed' && !againstCoordinator) {
    logger.warn(
      { minSurvivors: plan.minSurvivors },
      'distributed DP without secure aggregation: the guarantee covers the released models; the coordinator itself sees each noised update',
    );
  }
  if (plan.placement === 'distributed' && plan.minSurvivors === 1) {
    // Sound but costly: with m = 1 each client's share is the whole noise, as with local placement.
    logger.warn({ minSurvivors: 1 }, 'distributed DP with minClients = 1: every client adds the full noise σ²C² (as local placement would); set minClients to the fewest participants a round may have to split the noise');
  }
  logger.info({ placement: plan.placement, samplingRate: plan.samplingRate, noiseMultiplier: plan.accountedNoiseMultiplier, clipNorm: plan.clipNorm, minSurvivors: plan.minSurvivors, epsilon: budget, delta: plan.delta, privateNoise }, 'differential privacy on');
  const rounds = new RoundScope<DpRound>((round) => ({ round, capExcluded: 0 }));
  const planned = (): PlannedRound => {
    const p = rounds.now().planned;
    if (!p) throw new TesseraError('TESSERA_ERR_INTERNAL', 'DP aggregation before the round was planned');
    return p;
  };

  return {
    name: 'dp',
    weighting: 'uniform',
    wrapStrategy: (inner) =>
      dpStrategy(inner, {
        placement: plan.placement,
        samplingRate: plan.samplingRate,
        population: () => planned().eligibleOrgIds.length,
        serverNoiseStd: () => serverNoiseStd(planned().plan),
        minSurvivors: plan.minSurvivors,
        ...(spec.dp.expectedParticipants === undefined ? {} : { expectedParticipants: spec.dp.expectedParticipants }),
        rng: () => roundStream(ctx.rng, rounds.now().round, 'central-noise'),
      }),
    provides: ['privacy-eligibility', 'privacy-charge'],
    // Caps apply to the clients consent leaves; the charge goes with the round row when there is a state database.
    after: ['consent-eligibility'],
    needs: ctx.db ? ['job-rows'] : [],
    hooks: {
      // A round drawn before a restart waits for as many eligible organisations as it was drawn from (dp-draws.ts).
      eligibleWanted: (round) => Math.max(wantedPopulation(round), recordedPopulation(db, jobId, round)),
      beforeEvaluationRelease(round, participants, noise) {
        // Exact sums (no evaluation.noise) carry no ε to charge: clients whose policy requires noise declined them.
        if (noise === null) return;
        const charge = (): number =>
          chargeEvaluation(db, { jobId, round, orgIds: participants.map((c) => c.orgId), ddgauss: evaluationReleaseParams(noise, participants.length), privateNoise }).epsilonAfter;
        const after = db.inTransaction ? charge() : db.transaction(charge).immediate();
        rounds.of(round).evaluationEpsilonAfter = after;
        logger.info({ round, participants: participants.length, epsilon: after }, 'noised evaluation release charged');
        ctx.metrics?.set('tessera_dp_epsilon_spent', 'Epsilon spent by the job after its last charged round', { job: jobId }, after);
      },
      ...rounds.hooks({
      eligible(clients, _round, state) {
        const excluded: ExcludedClient[] = [];
        const seen = new Set<string>();
        const unique: ConnectedClient[] = [];
        for (const c of clients) {
          if (seen.has(c.orgId)) {
            excluded.push({ clientId: c.clientId, orgId: c.orgId, code: DP_EXCLUSION.duplicateOrg, reason: `organisation ${c.orgId} already takes part through another client; under DP each organisation contributes at most one clipped update per round` });
            continue;
          }
          seen.add(c.orgId);
          unique.push(c);
        }
        const orgs = planRound(db, { jobId, next, orgIds: unique.map((c) => c.orgId) });
        const over = new Map(orgs.excluded.map((o) => [o.orgId, o]));
        state.capExcluded = over.size;
        for (const c of unique) {
          const o = over.get(c.orgId);
          if (o) excluded.push({ clientId: c.clientId, orgId: c.orgId, code: DP_EXCLUSION.orgCap, reason: `organisation ${c.orgId} would reach epsilon ${o.epsilonAfter.toPrecision(4)} in this job, above its cap ${String(o.cap)}; it is not sampled` });
        }
        return { eligible: unique.filter((c) => !over.has(c.orgId)), excluded };
      },
      beforeRound(round, eligible, state) {
        const decision = planRound(db, { jobId, next, orgIds: [] });
        if (!decision.allowed) {
          return { proceed: false, status: 'budget-exhausted', message: `Privacy budget exhausted: round ${round} refused, ${decision.reason} (job ${jobId}, ${round - 1} round(s) charged)` };
        }
        if (eligible.length < spec.minClients && state.capExcluded > 0) {
          return { proceed: false, status: 'budget-exhausted', message: `Privacy budget exhausted: round ${round} refused, only ${eligible.length} organisation(s) remain under their caps (${state.capExcluded} reached theirs) and the job needs ${spec.minClients}` };
        }
        const underfill = underfillProbability({ population: eligible.length, samplingRate: plan.samplingRate, minParticipants: spec.minClients });
        const spent = underfillSpent(db, jobId);
        // At the first round of a run: refuse the whole job when the remaining rounds, at today's population, would
        // be short too often for the δ reserve; every later round re-checks with its own population.
        const remaining = firstRoundOfRun ? spec.rounds - round + 1 : 1;
        const allowance = allowanceAt(firstRoundOfRun ? Math.max(jobEpsilon, decision.epsilonAfter) : decision.epsilonAfter);
        firstRoundOfRun = false;
        if (spent + remaining * underfill > allowance) {
          return {
            proceed: false,
            status: 'failed',
            message: `Round ${round} refused (TESSERA_ERR_DP_CONFIG): with ${eligible.length} eligible organisation(s), q = ${plan.samplingRate} and minClients = ${spec.minClients} a round's sample is short with probability ${underfill.toExponential(3)}; over ${remaining} round(s) that exceeds the δ reserve for short rounds (${(underfillFraction * plan.delta).toExponential(2)}, i.e. Σ η ≤ ${allowance.toExponential(3)} at the ε reached). Raise the sampling rate, lower minClients, add organisations, or raise dp.underfillDeltaFraction.`,
          };
        }
        let roundPlan = plan;
        if (adaptive) {
          try {
            adaptive.resolveCountNoise(plan.samplingRate, eligible.length);
            roundPlan = coordinatorDpPlan(adaptive.specForRound(spec));
          } catch (e) {
            const err = e instanceof TesseraError ? e : new TesseraError('TESSERA_ERR_DP_CONFIG', String(e));
            return { proceed: false, status: 'failed', message: `Adaptive clipping cannot run round ${round} (${err.code}): ${err.message}` };
          }
        }
        state.planned = { eligibleOrgIds: eligible.map((c) => c.orgId), epsilonAfter: decision.epsilonAfter, plan: roundPlan, underfill, charged: false };
        return { proceed: true };
      },
      drawSample(round, attempt, eligible, draw, state) {
        const current = state.planned;
        if (!current) throw new TesseraError('TESSERA_ERR_INTERNAL', `DP: round ${round} drawn before it was planned`);
        const { selection, reused } = drawOrReuse({ db, jobId, round, attempt, eligible, draw, eligibleOrgIds: current.eligibleOrgIds, samplingRate: plan.samplingRate, minClients: spec.minClients });
        if (reused) {
          state.planned = { ...current, eligibleOrgIds: reused.eligibleOrgIds, underfill: underfillProbability({ population: reused.eligibleOrgIds.length, samplingRate: plan.samplingRate, minParticipants: spec.minClients }) };
          logger.info({ round, attempt: reused.attempt, drawn: reused.drawn, present: selection.selected.length }, 'round sample reused');
        }
        return selection;
      },
      beforeRelease(round, participants, state) {
        const planned = state.planned;
        if (!planned) throw new TesseraError('TESSERA_ERR_INTERNAL', `DP: round ${round} released without a plan`);
        if (planned.charged) return;
        const charge = (): void => {
          const ddgauss = plan.mechanism === 'ddgauss' ? roundAt(participants.length).ddgauss : undefined;
          chargeRound(db, { jobId, round, samplingRate: next.samplingRate, noiseMultiplier: next.noiseMultiplier, clipNorm: planned.plan.clipNorm, eligibleOrgIds: planned.eligibleOrgIds, participants: participants.length, privateNoise, underfill: planned.underfill, ...(ddgauss === undefined ? {} : { ddgauss }) });
        };
        // composeFeatures opens the release transaction when the coordinator has a state database.
        if (db.inTransaction) charge();
        else db.transaction(charge).immediate();
        planned.charged = true;
        ctx.metrics?.set('tessera_dp_epsilon_spent', 'Epsilon spent by the job after its last charged round', { job: jobId }, planned.epsilonAfter);
      },
      shortRound(round, got) {
        return {
          proceed: false,
          status: 'failed',
          message: `Round ${round} had ${got} participant(s), fewer than minClients = ${spec.minClients} (TESSERA_ERR_TOO_FEW_CLIENTS). A differentially private job never re-samples a round: drawing again until enough organisations are in would raise each organisation's inclusion probability above q, which the accountant does not charge. The chance of a short sample is paid from the δ reserve; the job ends here and can be resumed (same spec) when more organisations are connected.`,
        };
      },
      taskSpec(_round, roundSpec, state) {
        // The clients derive their clip norm and noise from the spec they are sent (client/mods/dp.ts).
        return adaptive && state.planned ? adaptive.specForRound(roundSpec) : roundSpec;
      },
      roundExtra(round, outcome, state) {
        const current = state.planned;
        if (!current) return {};
        const participation = participationReport({ population: current.eligibleOrgIds.length, samplingRate: plan.samplingRate, actual: outcome.participants.length });
        if (adaptive) {
          current.adaptive = adaptive.release({
            round,
            outcome,
            expectedParticipants: spec.dp.expectedParticipants ?? expectedParticipants(plan.samplingRate, current.eligibleOrgIds.length),
            placement: plan.placement,
            minSurvivors: plan.minSurvivors,
            rng: roundStream(ctx.rng, round, 'clip-count-noise'),
            logger,
          });
        }
        return {
          privacy: {
            // With a noised evaluation release this round, the ε after it (the ledger composed both).
            epsilon: Math.max(current.epsilonAfter, state.evaluationEpsilonAfter ?? 0),
            delta: plan.delta,
            budget,
            placement: plan.placement,
            noiseMultiplier: plan.accountedNoiseMultiplier,
            clipNorm: current.plan.clipNorm,
            updateNoiseMultiplier: current.plan.updateNoiseMultiplier,
            ...(current.adaptive ? { adaptiveClipping: current.adaptive } : {}),
            samplingRate: plan.samplingRate,
            minSurvivors: plan.minSurvivors,
            participation: { expected: participation.expected, actual: participation.actual, population: participation.population, zScore: participation.zScore },
            clippedFraction: outcome.clippedFraction,
            privateNoise,
            againstCoordinator,
            underfill: current.underfill,
            ledger: ledgerKind,
          },
        };
      },
      commitRound(record, _weights, round) {
        const state = round.planned;
        if (!state) throw new TesseraError('TESSERA_ERR_INTERNAL', `DP: round ${record.round} committed without a plan`);
        // The charge was committed before the release; a round row without it would be a released, uncharged round.
        if (!state.charged || chargedRounds(db, jobId).at(-1)?.round !== record.round) throw new TesseraError('TESSERA_ERR_INTERNAL', `DP: round ${record.round} reached its commit uncharged`);
        adaptive?.commit(record.round);
      },
      onJobEnd(result) {
        logger.info({ status: result.status, epsilon: result.rounds.at(-1)?.extra.privacy?.epsilon ?? 0, budget, rounds: result.rounds.length }, 'privacy spent');
        if (ownsDb) db.close();
      },
    }) },
  };
};

/** The part of a stored round record adaptive clipping resumes from (read directly: job-store imports this file). */
const StoredClip = z.looseObject({
  extra: z.looseObject({ privacy: z.looseObject({ adaptiveClipping: z.looseObject({ nextClipNorm: z.number().positive(), countNoiseStd: z.number().min(0) }).optional() }).optional() }).optional(),
});

function lastCommittedClip(db: Db, jobId: string): { nextClipNorm: number; countNoiseStd: number } | null {
  const json = db.prepare('SELECT record_json FROM job_rounds WHERE job_id = ? ORDER BY round DESC LIMIT 1').pluck().get(jobId) as string | undefined;
  if (json === undefined) return null;
  return StoredClip.parse(JSON.parse(json)).extra?.privacy?.adaptiveClipping ?? null;
}
