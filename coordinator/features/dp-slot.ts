/**
 * The DP feature's slot in the round record (`extra.privacy`): the cumulative ε after the round, how the noise
 * was placed and accounted, this round's clip norm (with adaptive clipping, what it released), and the
 * participation check of Poisson sampling. Written by coordinator/features/dp.ts `roundExtra`.
 */
import { z } from 'zod';
import { defineSlot, type SlotValue } from './slot.ts';

/** What one round released about the clip norm (Andrew et al. 2021, Algorithm 1; dp-adaptive.ts). */
export const AdaptiveClipReleaseSchema = z.object({
  /** C_t: the clip norm the round's clients were sent. */
  clipNorm: z.number().positive(),
  targetQuantile: z.number(),
  countNoiseStd: z.number().min(0),
  /** b̄, the noised fraction of unclipped updates; null when the count could not be released (C held). */
  unclippedFraction: z.number().nullable(),
  /** C_{t+1}. */
  nextClipNorm: z.number().positive(),
  /** Participants that reported an indicator. */
  reports: z.number().int().min(0),
});

export const PRIVACY_SLOT = defineSlot(
  'privacy',
  'dp',
  z.object({
    /** The job's cumulative ε after this round (what the ledger charged up to and including it). */
    epsilon: z.number().min(0),
    delta: z.number().min(0).lt(1),
    /** The job's ε budget (the lower of the spec's and the ledger's). */
    budget: z.number().min(0),
    placement: z.enum(['central', 'distributed', 'local']),
    /** σ the accountant charges (Andrew et al. 2021, Theorem 1: also with adaptive clipping). */
    noiseMultiplier: z.number().min(0),
    clipNorm: z.number().positive(),
    /** σ_Δ of the update noise (≥ σ with adaptive clipping). */
    updateNoiseMultiplier: z.number().min(0),
    adaptiveClipping: AdaptiveClipReleaseSchema.optional(),
    samplingRate: z.number().gt(0).max(1),
    minSurvivors: z.number().int().min(1),
    participation: z.object({ expected: z.number(), actual: z.number().int().min(0), population: z.number().int().min(0), zScore: z.number() }),
    clippedFraction: z.number().min(0).max(1).nullable(),
    /** Whether the coordinator's randomness was a CSPRNG (false in seeded simulations: not private). */
    privateNoise: z.boolean(),
    /** Whether the guarantee also holds against the coordinator (local, or distributed under secure aggregation). */
    againstCoordinator: z.boolean(),
  }),
);

export type RoundPrivacy = SlotValue<typeof PRIVACY_SLOT>;
