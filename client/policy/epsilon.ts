/**
 * ε as the CLIENT computes it, with its own accountant (privacy/accountant), from the spec's (q, σ, rounds, δ,
 * placement) — never the declared `dp.epsilon`, which a coordinator can set to anything (issue 10 §1).
 *
 * The noise that protects THIS client's update against the coordinator depends on the placement:
 *  - local: the client adds N(0, σ²C²) itself, so its update alone carries σ.
 *  - distributed: the client adds N(0, σ²C²/m) and relies on the secure sum holding ≥ m noised updates
 *    (privacy/dp/placement.ts). Under secure aggregation (whose (k, t) floors the client enforces from its
 *    own policy) the sum carries σ. Without it the coordinator sees this update alone with σ/√m.
 *  - central: the client adds nothing; σ holds only if the coordinator is trusted (by its proven key),
 *    otherwise the coordinator sees the clipped update exactly: ε = ∞.
 * The distributed discrete Gaussian (dp.mechanism "ddgauss") is accounted with its own RDP bound (Kairouz et al.
 * 2021, Prop. 14, at m survivors): the granularity γ, the rounding bias β and the model's dimension move ε as much
 * as σ does — a coarser grid inflates the rounded update's sensitivity — so the client recomputes from all of them,
 * never from σ alone. Its effective σ (for the cumulative record, composed in RDP at q = 1) is the Gaussian whose RDP
 * curve bounds Proposition 14's last two terms: 1/min(√(Δ₂² + 2τΔ₁ + τ²D), Δ₂ + τ√D) in units of the summed noise.
 * Adaptive clipping is accounted at the spec's σ: σ_Δ ≥ σ for the update and σ_b for the count compose to
 * σ (Andrew et al. 2021, Thm. 1; privacy/dp/adaptive-clipping.ts), the figure the coordinator's ledger charges.
 */
import { epsilonFor, epsilonForRounds, type RoundGroup } from '../../privacy/accountant/index.ts';
import { dpPlanForJob, type DpPlan } from '../../privacy/dp/config.ts';
import type { DdgaussRdpParams } from '../../privacy/accountant/ddgauss.ts';
import { roundForPlan } from '../../privacy/dp/ddgauss/accounting.ts';
import { countParameters } from '../../ml/model-shapes.ts';
import { accountedDelta } from '../../privacy/dp/underfill.ts';
import { isTesseraError, type TesseraError } from '../../protocol/errors.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import { evaluationNoisePlan, plannedEvaluationGroups, evaluationReleaseParams } from '../../privacy/dp/evaluation-noise.ts';
import { evaluationLayoutOf } from '../../privacy/secagg/evaluation-input.ts';
import { layoutForJob } from '../../governance/fairness/layout.ts';
import { importanceLength } from '../../ml/explain/importance-for-job.ts';

export interface JobEpsilon {
  /** ε of the whole job as this client computes it (Infinity without DP, or when nothing protects the update). */
  readonly epsilon: number;
  readonly delta: number;
  readonly samplingRate: number;
  /** σ of the spec (the accounted noise multiplier). */
  readonly noiseMultiplier: number;
  /** σ that protects this client's update against the coordinator (see the header). */
  readonly effectiveNoiseMultiplier: number;
  readonly rounds: number;
  /** Why ε is what it is, in a sentence (for declines and `tessera policy check`). */
  readonly basis: string;
  /** The spec's DP settings are inconsistent (resolveDpPlan refused them). */
  readonly configError?: TesseraError;
  /** Evaluation releases the job plans with noise (evaluation.noise; 0 without), included in `epsilon`. */
  readonly evaluationReleases: number;
  /**
   * σ protecting one noised evaluation release against the coordinator (the Gaussian bounding Prop. 14 at m
   * survivors, as for DDGauss training rounds), for the participation record; null without evaluation noise.
   */
  readonly evaluationEffectiveNoiseMultiplier: number | null;
}

export interface EffectiveNoiseOptions {
  /** Central placement: the coordinator is trusted (its proven key is in the policy). */
  readonly centralTrusted: boolean;
}

const NONE = { delta: 0, samplingRate: 1, noiseMultiplier: 0, effectiveNoiseMultiplier: 0, evaluationReleases: 0, evaluationEffectiveNoiseMultiplier: null };

/**
 * The accountant's groups of the job's planned evaluation releases, from the spec alone (privacy/dp/evaluation-
 * noise.ts; at m survivors, q = 1), and the effective σ of one release. The fairness layout must be fixed by the
 * spec (fairness.groupValues): the coordinator sends it so (withContractGroupValues). Throws what the plan refuses.
 */
export function evaluationEpsilonTerms(job: JobSpec): { groups: RoundGroup[]; effective: number | null } {
  if (job.evaluation.noise === undefined) return { groups: [], effective: null };
  const cells = job.fairness.enabled ? layoutForJob(job.fairness, {}).length : 0;
  const layoutOf = (round: number) => evaluationLayoutOf(job, importanceLength(job, round), cells);
  const groups = plannedEvaluationGroups(job, layoutOf);
  const one = evaluationNoisePlan(job, layoutOf(1));
  return { groups, effective: one === null ? null : ddgaussEffectiveNoiseMultiplier(evaluationReleaseParams(one, one.minSurvivors)) };
}

/** The ε a job's spec implies, recomputed (RDP accountant; Mironov 2017, Prop. 1 for composition over rounds). */
export function recomputeJobEpsilon(job: JobSpec, options: EffectiveNoiseOptions): JobEpsilon {
  if (!job.dp.enabled) return { ...NONE, epsilon: Number.POSITIVE_INFINITY, rounds: job.rounds, basis: 'the job has no differential privacy' };
  let plan;
  try {
    plan = dpPlanForJob(job);
  } catch (e) {
    if (!isTesseraError(e)) throw e;
    return { ...NONE, epsilon: Number.POSITIVE_INFINITY, rounds: job.rounds, basis: `the DP settings are refused: ${e.message}`, configError: e };
  }
  let evaluation: { groups: RoundGroup[]; effective: number | null };
  try {
    evaluation = evaluationEpsilonTerms(job);
  } catch (e) {
    if (!isTesseraError(e)) throw e;
    return { ...NONE, epsilon: Number.POSITIVE_INFINITY, rounds: job.rounds, basis: `the evaluation noise settings are refused: ${e.message}`, configError: e };
  }
  const evalTerms = { evaluationReleases: evaluation.groups.length, evaluationEffectiveNoiseMultiplier: evaluation.effective };
  const evalBasis = evaluation.groups.length === 0 ? '' : `; plus ${evaluation.groups.length} noised evaluation release(s) at q = 1 (z = ${job.evaluation.noise?.noiseMultiplier}, W = ${job.evaluation.noise?.maxExamplesPerClient}, Kairouz et al. 2021 Prop. 14)`;
  const sigma = plan.accountedNoiseMultiplier;
  if (plan.ddgauss !== null) {
    const d = ddgaussJobEpsilon(job, plan, evaluation.groups);
    return { ...d, ...evalTerms, basis: d.basis + evalBasis };
  }
  const eff = effectiveNoiseMultiplier({ placement: plan.placement, sigma, minSurvivors: plan.minSurvivors, secureAggregation: job.secagg.enabled, centralTrusted: options.centralTrusted });
  const base = { delta: plan.delta, samplingRate: plan.samplingRate, noiseMultiplier: sigma, effectiveNoiseMultiplier: eff.sigma, rounds: job.rounds, ...evalTerms };
  if (!(eff.sigma > 0)) return { ...base, epsilon: Number.POSITIVE_INFINITY, basis: eff.basis };
  // The ledger converts RDP at δ_acc = (1 − f)·δ: the rest of δ pays for short rounds (privacy/dp/underfill.ts,
  // coupling lemma), and f is the coordinator's choice. Converting at the full δ would understate ε by as much
  // as f allows (f → 1 pushes δ_acc → 0), so the client converts where the ledger does.
  const deltaAccounted = accountedDelta(plan.delta, plan.underfillDeltaFraction);
  const r =
    evaluation.groups.length === 0
      ? epsilonFor({ samplingRate: plan.samplingRate, noiseMultiplier: eff.sigma, steps: job.rounds, delta: deltaAccounted, accountant: plan.accountant, conversion: plan.conversion })
      : epsilonForRounds([{ samplingRate: plan.samplingRate, noiseMultiplier: eff.sigma, steps: job.rounds }, ...evaluation.groups], { delta: deltaAccounted, accountant: plan.accountant, conversion: plan.conversion });
  return { ...base, epsilon: r.epsilon, basis: `${eff.basis}; q = ${plan.samplingRate}, ${job.rounds} round(s), δ = ${plan.delta} of which ${plan.delta * plan.underfillDeltaFraction} reserved for short rounds (${plan.accountant} accountant)${evalBasis}` };
}

/** ε of a DDGauss job as this client computes it (secure aggregation is required by the plan itself). */
function ddgaussJobEpsilon(job: JobSpec, plan: DpPlan, evaluation: readonly RoundGroup[]): Omit<JobEpsilon, 'evaluationReleases' | 'evaluationEffectiveNoiseMultiplier'> {
  const round = roundForPlan(plan, countParameters(job.model), plan.minSurvivors);
  const p = round.ddgauss as DdgaussRdpParams;
  const eff = ddgaussEffectiveNoiseMultiplier(p);
  const deltaAccounted = accountedDelta(plan.delta, plan.underfillDeltaFraction);
  const r = epsilonForRounds([{ ...round, steps: job.rounds }, ...evaluation], { delta: deltaAccounted, accountant: plan.accountant, conversion: plan.conversion });
  const d = plan.ddgauss;
  return {
    delta: plan.delta,
    samplingRate: plan.samplingRate,
    noiseMultiplier: plan.accountedNoiseMultiplier,
    effectiveNoiseMultiplier: eff,
    rounds: job.rounds,
    epsilon: r.epsilon,
    basis: `distributed discrete Gaussian under secure aggregation: σ = ${plan.accountedNoiseMultiplier}, granularity ${d?.granularity}, β = ${d?.beta}, D = ${p.dim}, m = ${plan.minSurvivors} survivors (Δ₂/σ_sum = ${p.l2Scale.toPrecision(4)}, τ = ${p.tau.toPrecision(3)}); q = ${plan.samplingRate}, ${job.rounds} round(s), δ = ${plan.delta} (rdp accountant)`,
  };
}

/** The Gaussian σ whose RDP α/(2σ²) bounds Proposition 14's second and third terms at every order. */
export function ddgaussEffectiveNoiseMultiplier(p: DdgaussRdpParams): number {
  const a = Math.sqrt(p.l2Scale ** 2 + 2 * p.l1Scale * p.tau + p.tau ** 2 * p.dim);
  const b = p.l2Scale + Math.sqrt(p.dim) * p.tau;
  return 1 / Math.min(a, b);
}

export function effectiveNoiseMultiplier(o: { placement: JobSpec['dp']['placement']; sigma: number; minSurvivors: number; secureAggregation: boolean; centralTrusted: boolean }): { sigma: number; basis: string } {
  switch (o.placement) {
    case 'local':
      return { sigma: o.sigma, basis: `local noise σ = ${o.sigma}` };
    case 'distributed':
      return o.secureAggregation
        ? { sigma: o.sigma, basis: `distributed noise under secure aggregation: σ = ${o.sigma} on the sum` }
        : { sigma: o.sigma / Math.sqrt(o.minSurvivors), basis: `distributed noise WITHOUT secure aggregation: the coordinator sees this update with σ/√m = ${o.sigma}/√${o.minSurvivors}` };
    case 'central':
      return o.centralTrusted ? { sigma: o.sigma, basis: `central noise σ = ${o.sigma} added by a coordinator trusted by its key` } : { sigma: 0, basis: 'central placement with an untrusted coordinator: it sees the clipped update without noise' };
  }
}

/** One contribution in the participation record, as the accountant needs it. */
export interface Contribution {
  readonly effectiveNoiseMultiplier: number;
}

/**
 * Cumulative ε of this client's data over all its DP contributions (sequential composition across jobs).
 * Each contribution is a Gaussian mechanism at q = 1: the coordinator chose and knows when this client took
 * part, so amplification by subsampling (which needs the participation to be secret) does not hold against
 * it. RDP adds over contributions (Mironov 2017, Prop. 1) and is converted once, at the policy's δ.
 */
export function cumulativeEpsilon(contributions: readonly Contribution[], delta: number): number {
  const bySigma = new Map<number, number>();
  for (const c of contributions) {
    if (!(c.effectiveNoiseMultiplier > 0)) return Number.POSITIVE_INFINITY;
    bySigma.set(c.effectiveNoiseMultiplier, (bySigma.get(c.effectiveNoiseMultiplier) ?? 0) + 1);
  }
  if (bySigma.size === 0) return 0;
  const groups: RoundGroup[] = [...bySigma].map(([noiseMultiplier, steps]) => ({ samplingRate: 1, noiseMultiplier, steps }));
  return epsilonForRounds(groups, { delta }).epsilon;
}
