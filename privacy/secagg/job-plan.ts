/**
 * The one rule both sides apply to turn a job spec into a round's SecAgg plan, so the coordinator's setup and
 * each client's own expectation agree without trusting each other (a client refuses a setup whose (k, t)
 * differ from what it computes). Under DP the job must ask for `secagg.weighting: 'uniform'` (the DP feature
 * refuses example weighting: it would rescale each clipped, noised update).
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import { ddgaussCodec } from '../dp/ddgauss/codec.ts';
import { dpPlanForJob } from '../dp/config.ts';
import { noiseStdPerClient } from '../dp/placement.ts';
import type { UpdateExtension } from './extension.ts';
import { planSecAggRound, type SecAggPlan } from './plan.ts';

/** With DP on, the quantiser keeps the noise (no clamping after noise; plan.ts) over a range both sides derive. */
/** `extensions`: the round's secure extensions (extensions-for-job.ts), appended to the update under the same plan. */
/**
 * `at`: the job id and round, which seed the public rotation of the distributed discrete Gaussian (required when the
 * job's dp.mechanism is "ddgauss"; privacy/dp/ddgauss/rotation.ts).
 */
export function planForJob(job: JobSpec, clients: number, updateLength: number, extensions: readonly UpdateExtension[] = [], at?: { jobId: string; round: number }): SecAggPlan {
  if (!job.dp.enabled || job.secagg.weighting !== 'uniform') return planSecAggRound({ section: job.secagg, clients, updateLength, extensions });
  const dp = dpPlanForJob(job);
  if (dp.ddgauss !== null) {
    if (at === undefined) throw new TesseraError('TESSERA_ERR_INTERNAL', 'a DDGauss secure round needs the job id and round that seed its rotation');
    const ddgauss = ddgaussCodec({ ...dp.ddgauss, clipNorm: dp.clipNorm }, { ...at, dimension: updateLength });
    return planSecAggRound({ section: job.secagg, clients, updateLength, dp: { clipNorm: dp.clipNorm, clientNoiseStd: dp.ddgauss.localStd }, extensions, ddgauss });
  }
  const clientNoiseStd = noiseStdPerClient({ placement: dp.placement, sigma: dp.updateNoiseMultiplier, clipNorm: dp.clipNorm, minSurvivors: dp.minSurvivors });
  return planSecAggRound({ section: job.secagg, clients, updateLength, dp: { clipNorm: dp.clipNorm, clientNoiseStd }, extensions });
}
