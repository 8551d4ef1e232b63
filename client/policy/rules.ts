/**
 * Every rule of the client policy, checked against a job spec (and, for a training task, its round and the
 * node's participation record). Pure apart from reading the record: the policy mod declines with the first
 * violation; `tessera policy check` lists them all. Nothing here trusts a figure the coordinator computed:
 * ε is recomputed (./epsilon.ts), central trust needs the coordinator's PROVEN key, and the per-job round
 * limit is the declaration this node saw first.
 */
import type { ErrorCode } from '../../protocol/errors.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import { cumulativeEpsilon, recomputeJobEpsilon, type JobEpsilon } from './epsilon.ts';
import { jobHistory, type ParticipationRecord } from './participation.ts';
import type { ClientPolicy } from './schema.ts';

export interface PolicyViolation {
  /** The policy field (or record rule) that refuses, e.g. `dp.maxEpsilon`. */
  readonly rule: string;
  readonly code: ErrorCode;
  readonly message: string;
}

export interface PolicyEvaluation {
  readonly violations: readonly PolicyViolation[];
  /** ε of the job recomputed by this client (Infinity without DP). */
  readonly jobEpsilon: JobEpsilon;
  /** This node's cumulative ε if it contributes now (record + this contribution, each at q = 1). */
  readonly totalEpsilon: number | null;
  /** σ protecting this node's contribution against the coordinator; null without DP. */
  readonly effectiveNoiseMultiplier: number | null;
  readonly centralTrusted: boolean;
}

export interface PolicyCheckInput {
  readonly task: 'train' | 'evaluate';
  /** The task's round (absent for `tessera policy check`, which judges the job as a whole). */
  readonly round?: number;
  readonly jobId?: string;
  /** The coordinator's Ed25519 key as proven by the transport, if any (ClientTransport.coordinatorIdentity). */
  readonly coordinatorKey?: Uint8Array | undefined;
  readonly record?: ParticipationRecord;
}

const THREAT_RANK = { 'semi-honest': 0, 'semi-malicious': 1 } as const;

export function coordinatorTrusted(policy: ClientPolicy, key: Uint8Array | undefined): boolean {
  if (policy.researchTrustsAnyCoordinator) return true;
  if (key === undefined) return false;
  const b64 = Buffer.from(key).toString('base64');
  return policy.dp.trustedCoordinatorKeys.includes(b64);
}

export function evaluatePolicy(policy: ClientPolicy, job: JobSpec, input: PolicyCheckInput): PolicyEvaluation {
  const v: PolicyViolation[] = [];
  const add = (rule: string, code: ErrorCode, message: string): void => void v.push({ rule, code, message: `policy rule ${rule}: ${message}` });
  const s = policy.secagg;
  if (s.required && !job.secagg.enabled) add('secagg.required', 'TESSERA_ERR_POLICY_SECAGG_REQUIRED', 'this organisation takes part only with secure aggregation; the job has secagg.enabled = false');
  if (job.secagg.enabled) {
    if (THREAT_RANK[job.secagg.threatModel] < THREAT_RANK[s.minThreatModel]) add('secagg.minThreatModel', 'TESSERA_ERR_POLICY_SECAGG_WEAK', `the job plans secure aggregation for a ${job.secagg.threatModel} coordinator; this organisation requires at least ${s.minThreatModel}`);
    if (s.requireConsistencyCheck && !job.secagg.consistencyCheck) add('secagg.requireConsistencyCheck', 'TESSERA_ERR_POLICY_SECAGG_WEAK', 'the job turns the consistency check off (secagg.consistencyCheck = false); this organisation requires it');
  }
  const centralTrusted = coordinatorTrusted(policy, input.coordinatorKey);
  const eps = recomputeJobEpsilon(job, { centralTrusted });
  let totalEpsilon: number | null = null;
  let effective: number | null = null;
  // With evaluation noise the job plans its whole spend, evaluations included: a spec whose recomputed ε exceeds
  // the ε it declares (e.g. an evaluation task announcing less noise than the job planned) is refused — named first,
  // being the most specific reason.
  if (job.dp.enabled && job.evaluation.noise !== undefined && !eps.configError && job.dp.epsilon !== undefined && eps.epsilon > job.dp.epsilon * (1 + 1e-9)) {
    add('evaluation.noise', 'TESSERA_ERR_POLICY_EVALUATION_NOISE', `ε recomputed by this client with ${eps.evaluationReleases} evaluation release(s) at z = ${job.evaluation.noise.noiseMultiplier} is ${fmt(eps.epsilon)}, above the ε = ${job.dp.epsilon} the job declares (noise below plan): ${eps.basis}`);
  }
  if (input.task === 'train') {
    const p = policy.dp;
    if (p.required && !job.dp.enabled) add('dp.required', 'TESSERA_ERR_POLICY_DP_REQUIRED', 'this organisation takes part only in jobs with differential privacy; the job has dp.enabled = false');
    if (job.dp.enabled) {
      effective = eps.effectiveNoiseMultiplier;
      if (eps.configError) add('dp', 'TESSERA_ERR_DP_CONFIG', eps.configError.message);
      if (!p.allowedPlacements.includes(job.dp.placement)) add('dp.allowedPlacements', 'TESSERA_ERR_POLICY_DP_PLACEMENT', `placement ${job.dp.placement} is not among the allowed placements (${p.allowedPlacements.join(', ')})`);
      else if (job.dp.placement === 'central' && !centralTrusted) {
        const why = input.coordinatorKey === undefined ? 'the coordinator proved no key on this connection' : `the coordinator's proven key ${Buffer.from(input.coordinatorKey).toString('base64')} is not among dp.trustedCoordinatorKeys`;
        add('dp.trustedCoordinatorKeys', 'TESSERA_ERR_POLICY_DP_PLACEMENT', `central placement sends the clipped update without noise; ${why} (the job's trustedCoordinator flag is not trust)`);
      }
      if (!eps.configError && !(eps.epsilon <= p.maxEpsilon)) {
        const declared = job.dp.epsilon === undefined ? '' : ` (the job declares ε = ${job.dp.epsilon})`;
        add('dp.maxEpsilon', 'TESSERA_ERR_POLICY_EPSILON', `ε recomputed by this client is ${fmt(eps.epsilon)}${declared}, above the cap ${p.maxEpsilon}: ${eps.basis}`);
      }
      if (job.dp.noiseMultiplier < p.minNoiseMultiplier) add('dp.minNoiseMultiplier', 'TESSERA_ERR_POLICY_DP_NOISE', `noise multiplier σ = ${job.dp.noiseMultiplier} is below this organisation's minimum ${p.minNoiseMultiplier}`);
      if (job.dp.delta > p.maxDelta) add('dp.maxDelta', 'TESSERA_ERR_POLICY_DP_DELTA', `δ = ${job.dp.delta} is above this organisation's maximum ${p.maxDelta}`);
    }
    if (input.record && input.jobId !== undefined) {
      const h = jobHistory(input.record, input.jobId);
      const limit = Math.min(job.rounds, h.declaredRounds ?? job.rounds);
      if (input.round !== undefined && input.round > limit) add('record.rounds', 'TESSERA_ERR_POLICY_ROUNDS_EXCEEDED', `round ${input.round} is beyond the ${limit} round(s) the job declared`);
      if (input.round !== undefined && h.rounds.has(input.round)) add('record.oncePerRound', 'TESSERA_ERR_POLICY_REPEATED_ROUND', `this node already contributed to round ${input.round} of job ${input.jobId}`);
      else if (h.contributed >= limit) add('record.rounds', 'TESSERA_ERR_POLICY_ROUNDS_EXCEEDED', `this node already contributed ${h.contributed} time(s) to job ${input.jobId}, which declared ${limit} round(s)`);
      if (job.dp.enabled) {
        const past = input.record.contributions().flatMap((c) => (c.effectiveNoiseMultiplier === null ? [] : [{ effectiveNoiseMultiplier: c.effectiveNoiseMultiplier }]));
        totalEpsilon = cumulativeEpsilon([...past, { effectiveNoiseMultiplier: eps.effectiveNoiseMultiplier }], p.maxDelta);
        if (!(totalEpsilon <= p.maxTotalEpsilon)) add('dp.maxTotalEpsilon', 'TESSERA_ERR_POLICY_TOTAL_EPSILON', `contributing would take this node's cumulative ε to ${fmt(totalEpsilon)} (${past.length} earlier DP contribution(s) and this one, each at q = 1, δ = ${p.maxDelta}), above the cap ${p.maxTotalEpsilon}`);
      }
    } else if (input.round !== undefined && input.round > job.rounds) add('record.rounds', 'TESSERA_ERR_POLICY_ROUNDS_EXCEEDED', `round ${input.round} is beyond the ${job.rounds} round(s) the job declared`);
  } else {
    const r = evaluationRules(policy, job, input, eps);
    for (const x of r.violations) add(x.rule, x.code, x.message);
    totalEpsilon = r.totalEpsilon;
    effective = r.effective;
  }
  return { violations: v, jobEpsilon: eps, totalEpsilon, effectiveNoiseMultiplier: effective, centralTrusted };
}

/**
 * The rules for an evaluation task: noise required with DP (dp.requireEvaluationNoise), its multiplier and the job's
 * recomputed ε under this organisation's caps, and at most one evaluation per (job, round) in the record. Without the
 * last, a coordinator unmasks two evaluation sums of one round over rosters with and without this organisation and
 * subtracts them (test/review-evaluation-differencing.test.ts).
 */
function evaluationRules(policy: ClientPolicy, job: JobSpec, input: PolicyCheckInput, eps: JobEpsilon): { violations: PolicyViolation[]; totalEpsilon: number | null; effective: number | null } {
  const v: PolicyViolation[] = [];
  const add = (rule: string, code: ErrorCode, message: string): void => void v.push({ rule, code, message });
  const p = policy.dp;
  const noise = job.evaluation.noise;
  let totalEpsilon: number | null = null;
  if (job.dp.enabled && noise === undefined && p.requireEvaluationNoise) {
    add('dp.requireEvaluationNoise', 'TESSERA_ERR_POLICY_EVALUATION_NOISE', 'the job trains with differential privacy but its evaluation sums carry no noise (evaluation.noise is absent): exact sums of rosters that differ by this organisation would disclose its exact counts');
  }
  if (noise !== undefined) {
    if (eps.configError) add('evaluation.noise', 'TESSERA_ERR_DP_CONFIG', eps.configError.message);
    if (noise.noiseMultiplier < p.minNoiseMultiplier) add('dp.minNoiseMultiplier', 'TESSERA_ERR_POLICY_DP_NOISE', `evaluation noise multiplier z = ${noise.noiseMultiplier} is below this organisation's minimum ${p.minNoiseMultiplier}`);
    if (!eps.configError && !(eps.epsilon <= p.maxEpsilon)) add('dp.maxEpsilon', 'TESSERA_ERR_POLICY_EPSILON', `ε recomputed by this client, evaluation releases included, is ${fmt(eps.epsilon)}, above the cap ${p.maxEpsilon}: ${eps.basis}`);
    if (job.dp.delta > p.maxDelta) add('dp.maxDelta', 'TESSERA_ERR_POLICY_DP_DELTA', `δ = ${job.dp.delta} is above this organisation's maximum ${p.maxDelta}`);
  }
  if (input.record && input.jobId !== undefined && input.round !== undefined) {
    const h = jobHistory(input.record, input.jobId);
    const limit = Math.min(job.rounds, h.declaredRounds ?? job.rounds);
    if (input.round > limit) add('record.rounds', 'TESSERA_ERR_POLICY_ROUNDS_EXCEEDED', `evaluation of round ${input.round} is beyond the ${limit} round(s) the job declared`);
    if (h.evaluatedRounds.has(input.round)) add('record.evaluationOncePerRound', 'TESSERA_ERR_POLICY_REPEATED_EVALUATION', `this node already released an evaluation for round ${input.round} of job ${input.jobId}: a second one would let the coordinator difference two sums of one round`);
    const e = eps.evaluationEffectiveNoiseMultiplier;
    if (e !== null && !eps.configError) {
      const past = input.record.contributions().flatMap((c) => (c.effectiveNoiseMultiplier === null ? [] : [{ effectiveNoiseMultiplier: c.effectiveNoiseMultiplier }]));
      totalEpsilon = cumulativeEpsilon([...past, { effectiveNoiseMultiplier: e }], p.maxDelta);
      if (!(totalEpsilon <= p.maxTotalEpsilon)) add('dp.maxTotalEpsilon', 'TESSERA_ERR_POLICY_TOTAL_EPSILON', `releasing this evaluation would take this node's cumulative ε to ${fmt(totalEpsilon)}, above the cap ${p.maxTotalEpsilon}`);
    }
  }
  return { violations: v, totalEpsilon, effective: noise === undefined ? null : eps.evaluationEffectiveNoiseMultiplier };
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toPrecision(4) : '∞';
}
