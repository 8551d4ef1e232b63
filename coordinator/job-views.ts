/**
 * A hosted job's life as a transition table (house rule 7; issue 15 §1). The states and the view the job API
 * answers with are wire payloads, defined once in protocol/api.ts (HostedJobState, HostedJobView).
 */
import type { HostedJobState } from '../protocol/api.ts';

/**
 * running → queued: interrupted by the service's shutdown, taken up again at the next start. An ended job goes
 * back to queued only when the same spec is submitted again (it then resumes after its last committed round).
 */
export const HOSTED_JOB_TRANSITIONS: Readonly<Record<HostedJobState, readonly HostedJobState[]>> = {
  queued: ['running', 'failed', 'cancelled'],
  running: ['completed', 'failed', 'cancelled', 'queued'],
  completed: ['queued'],
  failed: ['queued'],
  cancelled: ['queued'],
};
