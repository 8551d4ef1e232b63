/**
 * The one rule both sides apply to turn a job spec into a round's SecAgg plan, so the coordinator's setup and
 * each client's own expectation agree without trusting each other (a client refuses a setup whose (k, t)
 * differ from what it computes). Under DP the job must ask for `secagg.weighting: 'uniform'` (the DP feature
 * refuses example weighting: it would rescale each clipped, noised update).
 */
import type { JobSpec } from '../../protocol/job/spec.ts';
import { dpPlanForJob } from '../dp/config.ts';
import { noiseStdPerClient } from '../dp/placement.ts';
import type { UpdateExtension } from './extension.ts';
import { planSecAggRound, type SecAggPlan } from './plan.ts';

/** With DP on, the quantiser keeps the noise (no clamping after noise; plan.ts) over a range both sides derive. */
/** `extensions`: the round's secure extensions (extensions-for-job.ts), appended to the update under the same plan. */
export function planForJob(job: JobSpec, clients: number, updateLength: number, extensions: readonly UpdateExtension[] = []): SecAggPlan {
  if (!job.dp.enabled || job.secagg.weighting !== 'uniform') return planSecAggRound({ section: job.secagg, clients, updateLength, extensions });
  const dp = dpPlanForJob(job);
  const clientNoiseStd = noiseStdPerClient({ placement: dp.placement, sigma: dp.updateNoiseMultiplier, clipNorm: dp.clipNorm, minSurvivors: dp.minSurvivors });
  return planSecAggRound({ section: job.secagg, clients, updateLength, dp: { clipNorm: dp.clipNorm, clientNoiseStd }, extensions });
}
