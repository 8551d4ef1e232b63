/**
 * The one rule both sides apply to turn a job spec into a round's SecAgg plan, so the coordinator's setup and
 * each client's own expectation agree without trusting each other (a client refuses a setup whose (k, t)
 * differ from what it computes). Under DP the job must ask for `secagg.weighting: 'uniform'` (the DP feature
 * refuses example weighting: it would rescale each clipped, noised update).
 */
import type { JobSpec } from '../../protocol/job/spec.ts';
import { planSecAggRound, type SecAggPlan } from './plan.ts';

export function planForJob(job: JobSpec, clients: number, updateLength: number): SecAggPlan {
  return planSecAggRound({ section: job.secagg, clients, updateLength });
}
