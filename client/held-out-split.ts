/**
 * The one definition of a client's held-out evaluation split: a share `fairness.heldOutFraction` of its rows,
 * stratified by label and the job's sensitive attributes, deterministic from the job seed and the client id
 * (so a rerun of the job evaluates on the same rows). The rows never leave the client.
 *
 * `tessera client` keeps this split by default. A node told to keep none (`--no-holdout`, every row trains) gets
 * `declineEvaluationMod`: it declines evaluation tasks with TESSERA_ERR_NO_HELD_OUT rather than evaluate on the
 * rows it trained on, because the coordinator sums every client's evaluation into the "held-out performance" the
 * registry records and the deployment gate checks — training accuracy mixed in would overstate it, silently.
 */
import { deriveSeed } from '../privacy/random.ts';
import type { JobSpec } from '../protocol/job/spec.ts';
import type { Examples } from '../datasets/types.ts';
import { holdoutSplit } from '../governance/fairness/holdout.ts';
import type { ClientMod } from './mods/mod.ts';

/** The code a node without held-out rows declines evaluation tasks with. */
export const NO_HELD_OUT = 'TESSERA_ERR_NO_HELD_OUT';

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

/**
 * For a node that keeps no held-out rows: declines every evaluation task (training tasks pass), so none of its
 * training rows is ever counted as held-out. The coordinator evaluates on the other clients' splits.
 */
export function declineEvaluationMod(): ClientMod {
  return {
    name: 'no-held-out',
    admit(ctx) {
      if (ctx.task.type !== 'evaluate') return { accept: true };
      return { accept: false, reason: { code: NO_HELD_OUT, message: 'this client keeps no held-out rows (--no-holdout): it trains on every row and does not evaluate on rows it trained on' } };
    },
  };
}
