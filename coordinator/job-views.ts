/**
 * What the job service says about a hosted job (issue 15 §1), as zod schemas: the HTTP API's responses
 * (job-routes.ts) and the CLI's reading of them (cli/jobs.ts) share this one definition (house rule 1).
 * Timestamps are ISO 8601 UTC strings.
 */
import { z } from 'zod';

export const HOSTED_JOB_STATES = ['queued', 'running', 'completed', 'failed', 'cancelled'] as const;
export const HostedJobState = z.enum(HOSTED_JOB_STATES);
export type HostedJobState = z.infer<typeof HostedJobState>;

/**
 * The job's life as a transition table (house rule 7). running → queued: interrupted by the service's shutdown,
 * taken up again at the next start. An ended job goes back to queued only when the same spec is submitted again
 * (it then resumes after its last committed round).
 */
export const HOSTED_JOB_TRANSITIONS: Readonly<Record<HostedJobState, readonly HostedJobState[]>> = {
  queued: ['running', 'failed', 'cancelled'],
  running: ['completed', 'failed', 'cancelled', 'queued'],
  completed: ['queued'],
  failed: ['queued'],
  cancelled: ['queued'],
};

export const PreflightFinding = z.object({
  level: z.enum(['error', 'warning']),
  code: z.string(),
  where: z.string(),
  message: z.string(),
  fix: z.string(),
});

export const HostedJobView = z.object({
  jobId: z.string(),
  name: z.string(),
  state: HostedJobState,
  /** Why the job is in its state; `code` is the stable TESSERA_ERR_… code of a failure. */
  reason: z.object({ code: z.string().nullable(), message: z.string() }),
  /** The round loop's own end status (completed, budget-exhausted, failed, stopped) once the job ran. */
  outcome: z.enum(['completed', 'failed', 'stopped', 'budget-exhausted']).nullable(),
  submittedAt: z.string(),
  startedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  roundsCompleted: z.number().int().min(0),
  registered: z.object({ name: z.string(), version: z.string() }).nullable(),
  /** The preflight's findings at submission (errors fail the job at once; warnings stay for the record). */
  findings: z.array(PreflightFinding),
});
export type HostedJobView = z.infer<typeof HostedJobView>;
