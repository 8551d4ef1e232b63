/** The privacy accountant: pure analysis, no I/O. */
export { DEFAULT_ORDERS, EXTENDED_ORDERS, computeRdp, rdpSubsampledGaussian } from './rdp.ts';
export type { ComputeRdpOptions } from './rdp.ts';
export { rdpToEpsilon } from './conversion.ts';
export type { Conversion, EpsilonAtOrder, RdpToEpsilonOptions } from './conversion.ts';
export { analyticGaussianDelta, analyticGaussianEpsilon, analyticGaussianLogDelta, composedGaussianSigma } from './analytic-gaussian.ts';
export type { AnalyticGaussianOptions } from './analytic-gaussian.ts';
export { epsilonFor, epsilonForRounds } from './epsilon.ts';
export type { Accountant, AccountingOptions, EpsilonForOptions, EpsilonResult, RoundGroup } from './epsilon.ts';
export { planNoiseMultiplier } from './calibrate.ts';
export type { NoisePlan, PlanOptions } from './calibrate.ts';
export { composePld, pldDelta, pldEpsilon, pldEpsilonForRounds, roundsPld, selfComposePld } from './pld.ts';
export type { PldOptions, PldRoundGroup } from './pld.ts';
export { subsampledGaussianHockeyStick, subsampledGaussianPld } from './pld-gaussian.ts';
export type { DiscretePld, PldDirection } from './pld-gaussian.ts';
