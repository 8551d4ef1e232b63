/**
 * Cross-section checks of a DP job and the numbers the round loop needs, in one place. Everything the
 * coordinator and clients do under DP derives from the `DpPlan` returned here; anything inconsistent is refused
 * with TESSERA_ERR_DP_CONFIG before a single update is computed.
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { Accountant, Conversion } from '../accountant/index.ts';
import type { DpPlacement, DpSection } from '../../protocol/job/dp.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import { adaptiveClipNoise } from './adaptive-clipping.ts';
import { minSurvivors } from './placement.ts';
import type { SamplingMode } from './sampling.ts';
import { samplingRateForDp } from './sampling.ts';

export interface DpPlanInput {
  dp: DpSection;
  sampling: SamplingMode;
  minClients: number;
  /** Secure-aggregation Shamir threshold, when secure aggregation is on. */
  secaggThreshold?: number;
  /** Number of eligible organisations (needed for the default count noise of adaptive clipping). */
  population?: number;
}

export interface AdaptiveClippingPlan {
  targetQuantile: number;
  learningRate: number;
  /** σ_b on the sum of shifted indicators (see adaptive-clipping.ts). */
  countNoiseStd: number;
  minClipNorm: number;
  maxClipNorm: number;
}

/** The distributed discrete Gaussian's numbers (privacy/dp/ddgauss/codec.ts), the same on every side. */
export interface DdgaussPlan {
  bits: number;
  granularity: number;
  beta: number;
  /** Each client's discrete Gaussian std in model units: σ·C/√m, the distributed split of placement.ts. */
  localStd: number;
}

export interface DpPlan {
  placement: DpPlacement;
  /** gaussian: continuous noise (gaussian.ts); ddgauss: the distributed discrete Gaussian, `ddgauss` set. */
  mechanism: 'gaussian' | 'ddgauss';
  ddgauss: DdgaussPlan | null;
  trustedCoordinator: boolean;
  samplingRate: number;
  /** σ charged to the ledger each round. */
  accountedNoiseMultiplier: number;
  /** σ applied to the update sum (σ_Δ ≥ σ with adaptive clipping, else σ). */
  updateNoiseMultiplier: number;
  /** Initial clip norm C. */
  clipNorm: number;
  /** m = max(minClients, secagg threshold). */
  minSurvivors: number;
  epsilon: number;
  delta: number;
  accountant: Accountant;
  conversion: Conversion;
  adaptiveClipping: AdaptiveClippingPlan | null;
  /** f: fraction of δ paid for under-filled rounds (privacy/dp/underfill.ts); the accountant converts at (1 − f)·δ. */
  underfillDeltaFraction: number;
}

/** Default share of δ reserved for under-filled rounds. */
export const DEFAULT_UNDERFILL_DELTA_FRACTION = 0.1;

export function resolveDpPlan({ dp, sampling, minClients, secaggThreshold, population }: DpPlanInput): DpPlan {
  if (!dp.enabled) throw new TesseraError('TESSERA_ERR_DP_CONFIG', 'resolveDpPlan called for a job with dp.enabled = false');
  if (dp.epsilon === undefined) throw new TesseraError('TESSERA_ERR_DP_CONFIG', 'a DP job needs dp.epsilon (its budget)');
  if (!(dp.noiseMultiplier > 0)) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `a DP job needs dp.noiseMultiplier > 0, got ${dp.noiseMultiplier}`);
  if (dp.placement === 'central' && !dp.trustedCoordinator) {
    throw new TesseraError('TESSERA_ERR_DP_CONFIG', 'central placement lets the coordinator see the un-noised sum: it is refused unless dp.trustedCoordinator is true');
  }
  const samplingRate = samplingRateForDp(sampling);
  const accountant: Accountant = dp.accountant ?? 'rdp';
  const conversion: Conversion = dp.conversion ?? 'improved';
  if (accountant === 'analytic_gaussian' && samplingRate !== 1) {
    throw new TesseraError('TESSERA_ERR_DP_CONFIG', `the analytic Gaussian accountant is exact only without subsampling (q = 1), got q = ${samplingRate}; use accountant "rdp"`);
  }
  const m = minSurvivors({ minClients, ...(secaggThreshold === undefined ? {} : { secaggThreshold }) });
  const mechanism = dp.mechanism ?? 'gaussian';
  let ddgauss: DdgaussPlan | null = null;
  if (mechanism === 'ddgauss') {
    const d = dp.ddgauss;
    if (d === undefined) throw new TesseraError('TESSERA_ERR_DP_CONFIG', 'mechanism "ddgauss" needs dp.ddgauss { bits, granularity, beta }; plan them with `tessera privacy plan --mechanism ddgauss`');
    if (dp.placement !== 'distributed') throw new TesseraError('TESSERA_ERR_DP_CONFIG', `mechanism "ddgauss" is a distributed placement, got "${dp.placement}"`);
    if (accountant !== 'rdp') throw new TesseraError('TESSERA_ERR_DP_CONFIG', `mechanism "ddgauss" is accounted in RDP (Kairouz et al. 2021, Prop. 14), not with the ${accountant} accountant`);
    if (dp.adaptiveClipping?.enabled === true) throw new TesseraError('TESSERA_ERR_DP_CONFIG', 'adaptive clipping is not available with mechanism "ddgauss"');
    // The same split as continuous distributed noise: any ≥ m survivors carry at least σ·C on the sum.
    ddgauss = { bits: d.bits, granularity: d.granularity, beta: d.beta, localStd: (dp.noiseMultiplier * dp.clipNorm) / Math.sqrt(m) };
  }
  let updateNoiseMultiplier = dp.noiseMultiplier;
  let adaptive: AdaptiveClippingPlan | null = null;
  const ac = dp.adaptiveClipping;
  if (ac?.enabled === true) {
    if (ac.countNoiseStd === undefined && population === undefined) {
      throw new TesseraError('TESSERA_ERR_DP_CONFIG', 'adaptive clipping needs dp.adaptiveClipping.countNoiseStd or the population size to derive it');
    }
    const noise = adaptiveClipNoise({
      noiseMultiplier: dp.noiseMultiplier,
      expectedParticipants: samplingRate * (population ?? 0),
      ...(ac.countNoiseStd === undefined ? {} : { countNoiseStd: ac.countNoiseStd }),
    });
    updateNoiseMultiplier = noise.updateNoiseMultiplier;
    // The clip norm of each round (C_t, sent by the coordinator) must stay within the job's public bounds: a
    // client refuses a task whose C lies outside, so a coordinator cannot push C arbitrarily.
    if (!(dp.clipNorm >= ac.minClipNorm && dp.clipNorm <= ac.maxClipNorm)) {
      throw new TesseraError('TESSERA_ERR_DP_CONFIG', `clip norm ${dp.clipNorm} is outside the job's adaptive-clipping bounds [${ac.minClipNorm}, ${ac.maxClipNorm}]`, {
        details: { clipNorm: dp.clipNorm, minClipNorm: ac.minClipNorm, maxClipNorm: ac.maxClipNorm },
      });
    }
    adaptive = { targetQuantile: ac.targetQuantile, learningRate: ac.learningRate, countNoiseStd: noise.countNoiseStd, minClipNorm: ac.minClipNorm, maxClipNorm: ac.maxClipNorm };
  }
  return {
    placement: dp.placement,
    mechanism,
    ddgauss,
    trustedCoordinator: dp.trustedCoordinator,
    samplingRate,
    accountedNoiseMultiplier: dp.noiseMultiplier,
    updateNoiseMultiplier,
    clipNorm: dp.clipNorm,
    minSurvivors: m,
    epsilon: dp.epsilon,
    delta: dp.delta,
    accountant,
    conversion,
    adaptiveClipping: adaptive,
    underfillDeltaFraction: dp.underfillDeltaFraction ?? DEFAULT_UNDERFILL_DELTA_FRACTION,
  };
}

/**
 * The DP plan of a whole job, the one derivation both sides use (the client mod for its noise share, the
 * coordinator feature for the ledger and estimator): m = max(minClients, secagg threshold), counting the
 * threshold only when the job pins it. Refuses example weighting under secure aggregation, which would rescale
 * each clipped, noised update by its example count. Adaptive clipping works on both paths: the noised indicator
 * is a secure extension (adaptive-extension.ts), inside the secure sum under secure aggregation.
 *
 * With adaptive clipping the spec a client receives is the coordinator's per-round spec (coordinator/features/
 * dp.ts `taskSpec`): `dp.clipNorm` is that round's C_t and `dp.adaptiveClipping.countNoiseStd` is set, so both
 * sides derive the same σ_Δ without knowing the population; `population` is only needed when it is not set.
 */
export function dpPlanForJob(job: JobSpec, population?: number): DpPlan {
  if (job.secagg.enabled && job.secagg.weighting === 'examples') {
    throw new TesseraError('TESSERA_ERR_DP_CONFIG', 'with DP on, secure aggregation must use secagg.weighting = "uniform": example weighting would rescale each clipped, noised update (and its noise) by its example count');
  }
  if (job.dp.mechanism === 'ddgauss' && !(job.secagg.enabled && job.secagg.weighting === 'uniform')) {
    throw new TesseraError('TESSERA_ERR_DP_CONFIG', 'mechanism "ddgauss" adds its noise to the integers of the secure sum: it needs secagg.enabled with weighting "uniform"');
  }
  const threshold = job.secagg.enabled ? job.secagg.threshold : undefined;
  return resolveDpPlan({
    dp: job.dp,
    sampling: job.sampling,
    minClients: job.minClients,
    ...(threshold === undefined ? {} : { secaggThreshold: threshold }),
    ...(population === undefined ? {} : { population }),
  });
}
