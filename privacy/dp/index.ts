/** DP mechanisms: clipping, Gaussian noise, noise placement, sampling, estimator, adaptive clipping. No I/O. */
export { clipL2, clippingReport, l2Norm } from './clip.ts';
export type { ClipResult, ClippingReport } from './clip.ts';
export { addGaussianNoise, gaussianNoise, standardNormalPair } from './gaussian.ts';
export { minSurvivors, noiseStdPerClient, noiseStdServer, splitNoise } from './placement.ts';
export type { MinSurvivorsOptions, NoiseSplit, NoiseStdOptions, SplitNoiseOptions } from './placement.ts';
export { expectedParticipants, fixedDenominatorEstimate } from './estimator.ts';
export type { FixedDenominatorOptions } from './estimator.ts';
export { participationReport, poissonSample, samplingRateForDp } from './sampling.ts';
export type { ParticipationReport, SamplingMode } from './sampling.ts';
export { adaptiveClipNoise, combinedNoiseMultiplier, nextClipNorm, unclippedIndicator } from './adaptive-clipping.ts';
export type { AdaptiveClipNoise, AdaptiveClipNoiseOptions, NextClipNorm, NextClipNormOptions } from './adaptive-clipping.ts';
export { resolveDpPlan } from './config.ts';
export type { AdaptiveClippingPlan, DpPlan, DpPlanInput } from './config.ts';
