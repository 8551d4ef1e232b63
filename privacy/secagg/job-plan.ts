/**
 * The one rule both sides apply to turn a job spec into a round's SecAgg plan, so the coordinator's setup and
 * each client's own expectation agree without trusting each other: under differential privacy the sum must be
 * the UNWEIGHTED sum of clipped, noised updates (the DP estimator's sensitivity analysis assumes weight 1 per
 * client, coordinator/features/dp-strategy.ts), so example weighting is switched off when `dp.enabled`.
 */
import type { JobSpec } from '../../protocol/job/spec.ts';
import type { SecAggSection } from '../../protocol/job/secagg.ts';
import { planSecAggRound, type SecAggPlan } from './plan.ts';

export function effectiveSecAggSection(job: JobSpec): SecAggSection {
  return job.dp.enabled && job.secagg.weighting === 'examples' ? { ...job.secagg, weighting: 'uniform' } : job.secagg;
}

export function planForJob(job: JobSpec, clients: number, updateLength: number): SecAggPlan {
  return planSecAggRound({ section: effectiveSecAggSection(job), clients, updateLength });
}
