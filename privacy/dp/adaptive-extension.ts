/**
 * Adaptive clipping's secure extension (privacy/secagg/extension.ts): the one coordinate each client adds to
 * its update, its shifted indicator b_i − 1/2 plus its share of the count noise (Andrew, Thakkar, McMahan &
 * Ramaswamy 2021, "Differentially Private Learning with Adaptive Clipping", Algorithm 1; adaptive-clipping.ts).
 * On the plain path the coordinator adds the reals; under secure aggregation the coordinate is quantised like a
 * DP update — modular, never clamped, so the client's noise share survives (quantize.ts) — over the range
 * 1/2 + k·σ_b,client (k = DP_RANGE_SIGMAS), so the n-fold sum wraps only with negligible probability, and the
 * coordinator learns only Σ(b_i − 1/2) + noise: exactly the release the accountant's Theorem 1 covers.
 */
import type { JobSpec } from '../../protocol/job/spec.ts';
import type { UpdateExtension } from '../secagg/extension.ts';
import { DP_RANGE_SIGMAS } from '../secagg/quantize.ts';
import { dpPlanForJob } from './config.ts';
import { splitNoise } from './placement.ts';

/** The extension of a round whose spec turns adaptive clipping on (the spec carries C_t and σ_b), else null. */
export function adaptiveClipExtension(job: JobSpec): UpdateExtension | null {
  if (!job.dp.enabled || job.dp.adaptiveClipping?.enabled !== true) return null;
  const plan = dpPlanForJob(job);
  const ac = plan.adaptiveClipping;
  if (ac === null) return null;
  const clientStd = splitNoise({ placement: plan.placement, sumStd: ac.countNoiseStd, minSurvivors: plan.minSurvivors }).clientStd;
  return { key: 'adaptiveClipping', segments: [{ name: 'unclippedIndicator', kind: 'real', length: 1, range: 0.5 + DP_RANGE_SIGMAS * clientStd, mode: 'modular' }] };
}
