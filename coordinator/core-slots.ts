/**
 * The round loop's own slots in the round record (coordinator/job-runner.ts writes them, not a feature):
 * `extra.clippedFraction` (the fraction of participants whose update was clipped, when clients report it) and
 * `extra.federatedEvaluation` (the pooled figures of a federated evaluation on the clients' held-out splits).
 */
import { z } from 'zod';
import { defineSlot, type SlotValue } from './features/slot.ts';

export const CLIPPING_SLOT = defineSlot('clippedFraction', 'round-loop', z.number().min(0).max(1));

export const FEDERATED_EVALUATION_SLOT = defineSlot(
  'federatedEvaluation',
  'round-loop',
  z.object({
    loss: z.number(),
    accuracy: z.number(),
    examples: z.number().int().min(0),
    clients: z.number().int().min(0),
    // The performance evidence's inputs (governance/registry/performance.ts); absent in records from before them.
    brier: z.number().min(0).optional(),
    labelCounts: z.array(z.number().int().min(0)).optional(),
    // The production version when the job started, evaluated on the same held-out splits (job-runner.ts).
    previousProduction: z.object({ version: z.string(), accuracy: z.number(), loss: z.number(), brier: z.number() }).optional(),
    // Σ of the clients' permutation-importance counts (final evaluation with evaluation.featureImportance): the registry's input.
    importanceCounts: z.array(z.number().int().min(0)).optional(),
    // With evaluation.noise: every figure above is a noisy estimate (discrete Gaussian noise of std `std` on each
    // summed count, clamped to its valid range after release); absent: exact sums.
    noise: z
      .object({ estimate: z.literal('noisy'), noiseMultiplier: z.number().positive(), std: z.number().min(0), l2Sensitivity: z.number().positive(), maxExamplesPerClient: z.number().int().positive() })
      .optional(),
  }),
);

export type RoundFederatedEvaluation = SlotValue<typeof FEDERATED_EVALUATION_SLOT>;
