/** The governance sections of the job spec: purpose (for consent), model card text and deployment policy. */
import { z } from 'zod';

export const ModelCardSection = z.object({
  intendedUse: z.string().default(''),
  limitations: z.array(z.string()).default([]),
  outOfScope: z.array(z.string()).default([]),
});

export const DeploymentSection = z.object({
  requiredRoles: z.array(z.string()).default([]),
});
