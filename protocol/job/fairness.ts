/** The `fairness` section of the job spec. */
import { z } from 'zod';

export const FairnessSection = z.object({
  enabled: z.boolean().default(false),
  /** Sensitive attributes to evaluate per group (column names of the data contract). */
  sensitive: z.array(z.string()).default([]),
  minGroupSize: z.number().int().min(1).default(20),
  reweighing: z.boolean().default(false),
});
