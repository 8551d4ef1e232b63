/**
 * The client's half of differential privacy: clip the update to L2 norm C, then add this client's share of
 * the Gaussian noise, before the update leaves the organisation. It must be the LAST update transform: a
 * transform after it could undo the clipping or scale the noise below what the ledger charged for
 * (`standardClientMods` keeps it last and checks that).
 *
 * The amounts come from the job spec the coordinator sent, through the same `resolveDpPlan` the coordinator
 * uses, so both sides agree on σ, C and m (= max(minClients, pinned secure-aggregation threshold)):
 *  - central: clip only (the trusted coordinator adds N(0, σ²C²) to the sum);
 *  - distributed: clip, add N(0, σ²C²/m) — any m or more survivors give the sum at least σ²C²
 *    (privacy/dp/placement.ts);
 *  - local: clip, add N(0, σ²C²).
 * A spec the plan refuses (central without a trusted coordinator, fixed-size sampling, adaptive clipping with a
 * clip norm outside the job's [minClipNorm, maxClipNorm]) throws
 * TESSERA_ERR_DP_CONFIG and the node declines the task: the client enforces the spec even if the coordinator
 * does not.
 *
 * Adaptive clipping (Andrew et al. 2021, Algorithm 1): the task's `dp.clipNorm` is the round's C_t; the update
 * gets σ_Δ ≥ σ (privacy/dp/adaptive-clipping.ts) and the client also reports b_i − 1/2 = ±1/2 (was its norm
 * ≤ C_t?) plus its share of the count noise σ_b, split by placement exactly like the update noise, as the
 * adaptiveClipping extension (in the clear on the plain path, inside the masked input under secure aggregation).
 *
 * Noise comes from a CSPRNG (`cryptoRandom()`) unless a simulation passes a seeded source, whose results are
 * then not private. The `clipped` bit it reports (was the norm above C?) is a fact the ε does not cover: the
 * node sends it only when its policy opts in to training diagnostics (client/node.ts, docs/client-policy.md).
 */
import { clipL2 } from '../../privacy/dp/clip.ts';
import { dpPlanForJob } from '../../privacy/dp/config.ts';
import { unclippedIndicator } from '../../privacy/dp/adaptive-clipping.ts';
import { addGaussianNoise, gaussianNoise } from '../../privacy/dp/gaussian.ts';
import { noiseStdPerClient, splitNoise } from '../../privacy/dp/placement.ts';
import { cryptoRandom, roundStream, type RandomSource } from '../../privacy/random.ts';
import type { ClientMod } from './mod.ts';

export const DP_MOD_NAME = 'dp';

/** The DP plan both sides derive from a job spec (the secure-aggregation threshold counts only when pinned). */
export { dpPlanForJob };

export interface DpModOptions {
  /** Noise source; default a CSPRNG. A seeded source is for reproducible simulations only (not private). */
  readonly rng?: RandomSource;
}

export function dpClientMod(options: DpModOptions = {}): ClientMod {
  const source = options.rng ?? cryptoRandom();
  return {
    name: DP_MOD_NAME,
    transformUpdate(update, ctx) {
      const job = ctx.task.job;
      if (!job.dp.enabled) return { update };
      const plan = dpPlanForJob(job);
      // A seeded (simulation) source draws round r's noise from its own stream, so a resumed run adds the same.
      const rng = roundStream(source, ctx.task.round, 'dp-noise');
      const { clipped, wasClipped, norm } = clipL2(update, plan.clipNorm);
      // DDGauss: the integer noise is added where the update becomes the secure-sum input (privacy/dp/ddgauss/codec.ts,
      // via privacy/secagg/plan.ts encodeForSecAgg), after rotation and rounding; here the update is only clipped.
      const std = plan.mechanism === 'ddgauss' ? 0 : noiseStdPerClient({ placement: plan.placement, sigma: plan.updateNoiseMultiplier, clipNorm: plan.clipNorm, minSurvivors: plan.minSurvivors });
      const out = std > 0 ? addGaussianNoise(clipped, std, rng) : clipped;
      const ac = plan.adaptiveClipping;
      if (ac) {
        const countStd = splitNoise({ placement: plan.placement, sumStd: ac.countNoiseStd, minSurvivors: plan.minSurvivors }).clientStd;
        const indicator = unclippedIndicator(norm, plan.clipNorm) + (countStd > 0 ? (gaussianNoise(1, countStd, rng)[0] as number) : 0);
        ctx.logger.debug({ placement: plan.placement, clipNorm: plan.clipNorm, wasClipped, norm, noiseStd: std, countNoiseStd: countStd, privateNoise: rng.isPrivate }, 'update clipped and noised (adaptive clipping)');
        // The indicator is a secure extension (privacy/dp/adaptive-extension.ts): inside the masked input under secure aggregation.
        return { update: out, features: { dp: { clipped: wasClipped } }, extensions: { adaptiveClipping: [indicator] } };
      }
      // The norm is a statistic of local data: it stays in the local debug log, never on the wire.
      ctx.logger.debug({ placement: plan.placement, wasClipped, norm, noiseStd: std, privateNoise: rng.isPrivate }, 'update clipped and noised');
      return { update: out, features: { dp: { clipped: wasClipped } } };
    },
  };
}
