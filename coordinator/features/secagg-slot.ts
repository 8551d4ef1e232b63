/**
 * The secure-aggregation feature's slots in the round record: `extra.secagg` (the training round's graph
 * (k, t), weighting, vector length, survivors and the coordinator's unmasking time) and `extra.secaggEvaluation`
 * (the same for the secure federated evaluation). Written by coordinator/features/secagg.ts.
 */
import { z } from 'zod';
import { defineSlot, type SlotValue } from './slot.ts';

const count = z.number().int().min(0);

export const SECAGG_SLOT = defineSlot(
  'secagg',
  'secagg',
  z.object({ clients: count, k: count, t: count, complete: z.boolean(), weighting: z.enum(['examples', 'uniform']), dim: count, survivors: count, serverUnmaskMs: z.number().min(0) }),
);

export const SECAGG_EVALUATION_SLOT = defineSlot('secaggEvaluation', 'secagg', z.object({ clients: count, k: count, t: count, dim: count, survivors: count }));

export type RoundSecAgg = SlotValue<typeof SECAGG_SLOT>;
export type RoundSecAggEvaluation = SlotValue<typeof SECAGG_EVALUATION_SLOT>;
