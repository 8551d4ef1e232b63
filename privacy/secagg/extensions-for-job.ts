/**
 * The secure extensions of a round (extension.ts), derived from the round's job spec by both sides: the
 * coordinator (with the drift layout of the contract the spec names) and each client (whose own contract gives
 * the same layout; it reads the number of drift keys off its own vector). A setup whose vector length differs
 * from the client's is refused like any other layout mismatch.
 */
import type { JobSpec } from '../../protocol/job/spec.ts';
import { dataContractExtension } from '../../governance/contract/drift-extension.ts';
import { adaptiveClipExtension } from '../dp/adaptive-extension.ts';
import { orderExtensions, type UpdateExtension } from './extension.ts';

/**
 * `driftKeys`: the number of (column, statistic) pairs of the named contract's drift layout; undefined when the
 * job names no contract (or, on the plain path, when the coordinator does not hold it).
 */
export function updateExtensionsForJob(job: JobSpec, driftKeys: number | undefined): UpdateExtension[] {
  const out: UpdateExtension[] = [];
  if (job.data.contractHash !== undefined && driftKeys !== undefined) out.push(dataContractExtension(job, driftKeys));
  const ac = adaptiveClipExtension(job);
  if (ac !== null) out.push(ac);
  return orderExtensions(out);
}
