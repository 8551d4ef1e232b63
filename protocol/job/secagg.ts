/** The `secagg` section of the job spec (secure aggregation, SecAgg+). */
import { z } from 'zod';

export const SecAggSection = z.object({
  enabled: z.boolean().default(false),
  /** Expected fraction of sampled clients that drop out during a round (for the parameter finder). */
  dropoutRate: z.number().min(0).lt(1).default(0.1),
  /** Assumed fraction of clients colluding with the coordinator (for the parameter finder). */
  corruptRate: z.number().min(0).lt(1).default(0.05),
  /** Absolute bound on each update coordinate before quantisation. */
  clipRange: z.number().positive().default(1),
  /** Quantisation levels per unit. */
  bitsPerCoordinate: z.number().int().min(8).max(32).default(32),
  consistencyCheck: z.boolean().default(false),
});
