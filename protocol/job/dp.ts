/** The `dp` section of the job spec (differential privacy). */
import { z } from 'zod';

export const DpSection = z.object({
  enabled: z.boolean().default(false),
  placement: z.enum(['central', 'distributed', 'local']).default('distributed'),
  /** L2 clipping norm C of each client's update. */
  clipNorm: z.number().positive().default(1),
  /** Noise multiplier σ: the noise standard deviation on the sum is σ·C. */
  noiseMultiplier: z.number().min(0).default(1),
  /** Budget for the whole job. */
  epsilon: z.number().positive().optional(),
  delta: z.number().gt(0).lt(1).default(1e-5),
  /** Central placement is refused unless the job declares the coordinator trusted. */
  trustedCoordinator: z.boolean().default(false),
});
