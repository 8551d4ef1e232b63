/**
 * The one job spec (DESIGN.md "Shared spine"): every feature adds its own section here rather than inventing
 * its own config file. Parsed with zod at every boundary; `JobSpec` is the parsed type with defaults filled in.
 */
import { z } from 'zod';
import { TesseraError, describeZodIssues } from '../errors.ts';
import { ModelSpec } from './model.ts';
import { DataSection, EvaluationSection, SamplingSection, StrategySection, TrainingSection } from './sections.ts';
import { DpSection } from './dp.ts';
import { SecAggSection } from './secagg.ts';
import { FairnessSection } from './fairness.ts';
import { ConsentSection, DeploymentSection, ModelCardSection } from './governance.ts';

export const JobSpec = z.object({
  name: z.string().min(1).default('job'),
  /** What the model is for; organisations' consent must cover it. */
  purpose: z.string().min(1).default('research'),
  /** Seed for everything a job derives deterministically (held-out splits, seeded simulations). */
  seed: z.union([z.string(), z.number()]).default(42),
  model: ModelSpec,
  data: DataSection,
  rounds: z.number().int().positive(),
  sampling: SamplingSection,
  minClients: z.number().int().positive().default(1),
  roundDeadlineMs: z.number().int().positive().default(60_000),
  /** How many times a round that fell below `minClients` is retried before the job fails. */
  maxRoundRetries: z.number().int().min(0).default(2),
  training: TrainingSection.prefault({}),
  strategy: StrategySection.prefault({}),
  evaluation: EvaluationSection.prefault({}),
  dp: DpSection.prefault({}),
  secagg: SecAggSection.prefault({}),
  fairness: FairnessSection.prefault({}),
  deployment: DeploymentSection.prefault({}),
  modelCard: ModelCardSection.prefault({}),
  /** Whether the coordinator samples only organisations whose consent covers the job (governance.ts). */
  consent: ConsentSection.prefault({}),
});

export type JobSpec = z.infer<typeof JobSpec>;
export type JobSpecInput = z.input<typeof JobSpec>;

/** Parses an untrusted job spec, naming every failing field. */
export function parseJobSpec(input: unknown): JobSpec {
  const r = JobSpec.safeParse(input);
  if (!r.success) throw new TesseraError('TESSERA_ERR_INVALID_JOB_SPEC', `Invalid job spec: ${describeZodIssues(r.error.issues)}`);
  return r.data;
}
