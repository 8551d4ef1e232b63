/**
 * The one definition of a client's held-out evaluation split: a share `fairness.heldOutFraction` of its rows,
 * stratified by label and the job's sensitive attributes, deterministic from the job seed and the client id
 * (so a rerun of the job evaluates on the same rows). The rows never leave the client.
 */
import { deriveSeed } from '../privacy/random.ts';
import type { JobSpec } from '../protocol/job/spec.ts';
import type { Examples } from '../datasets/types.ts';
import { holdoutSplit } from '../governance/fairness/holdout.ts';

export interface ClientData {
  readonly train: Examples;
  /** Held-out split for federated evaluation; the coordinator never sees it. */
  readonly heldOut?: Examples;
}

export function heldOutSplitForJob(examples: Examples, job: JobSpec, clientId: string): ClientData {
  const split = holdoutSplit(examples, {
    fraction: job.fairness.heldOutFraction,
    seed: deriveSeed(job.seed, 'holdout', clientId),
    strataAttributes: job.fairness.sensitive.filter((a) => a in examples.sensitive),
  });
  return { train: split.train, heldOut: split.heldOut };
}
