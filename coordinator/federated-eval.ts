/**
 * Federated evaluation: each client evaluates the global model on its own held-out split and returns sums
 * (loss sum, number correct, examples), so the coordinator forms exact example-weighted means without
 * seeing any example. Clients that miss the deadline are left out of that evaluation. Fairness counts (integer
 * vectors of one fixed layout, governance/fairness/layout.ts) are summed element-wise the same way; a sum is
 * only formed when every answering client sent a vector of the same length (else `fairnessError` says why).
 */
import { randomUUID } from 'node:crypto';
import type { JobSpec } from '../protocol/job/spec.ts';
import { decodeUint32, encodeFloat32 } from '../protocol/tensor.ts';
import { sumCounts } from '../governance/fairness/counts.ts';
import { TesseraError } from '../protocol/errors.ts';
import type { ConnectedClient, Federation } from './federation.ts';

export interface FederatedEvaluation {
  readonly loss: number;
  readonly accuracy: number;
  readonly examples: number;
  readonly clients: number;
  /**
   * Element-wise sum of the clients' fairness count vectors (when the job asks for fairness). SECURE-AGGREGATION
   * SEAM: when secure aggregation carries the counts, the secure evaluation protocol fills this with the
   * unmasked sum instead (its modulus must exceed maxCellValue(layout, examples), governance/fairness/counts.ts).
   */
  readonly fairnessCounts?: Uint32Array;
  /** Why no sum was formed although some client sent counts (missing or mismatched vectors). */
  readonly fairnessError?: string;
}

export async function federatedEvaluate(options: {
  federation: Federation;
  clients: readonly ConnectedClient[];
  jobId: string;
  spec: JobSpec;
  round: number;
  weights: Float32Array;
}): Promise<FederatedEvaluation | null> {
  const { federation, spec } = options;
  const weights = encodeFloat32(options.weights);
  const replies = await Promise.allSettled(
    options.clients.map((c) =>
      federation.request(c.clientId, { type: 'evaluate', jobId: options.jobId, round: options.round, taskId: randomUUID(), job: spec, weights, deadlineMs: spec.roundDeadlineMs }, spec.roundDeadlineMs),
    ),
  );
  let lossSum = 0;
  let correct = 0;
  let examples = 0;
  let clients = 0;
  const counts: Uint32Array[] = [];
  for (const r of replies) {
    if (r.status !== 'fulfilled' || r.value.type !== 'evaluate-result') continue;
    lossSum += r.value.lossSum;
    correct += r.value.correct;
    examples += r.value.examples;
    clients++;
    if (r.value.fairnessCounts) counts.push(decodeUint32(r.value.fairnessCounts));
  }
  if (examples === 0) return null;
  return { loss: lossSum / examples, accuracy: correct / examples, examples, clients, ...summedCounts(counts, clients) };
}

/**
 * The sum of the count vectors, refused (with the reason) when only some clients sent one or their lengths
 * differ — a partial or misaligned sum would be a report about a population nobody asked for.
 */
function summedCounts(counts: readonly Uint32Array[], clients: number): { fairnessCounts?: Uint32Array; fairnessError?: string } {
  if (counts.length === 0) return {};
  if (counts.length !== clients) return { fairnessError: `${clients - counts.length} of ${clients} evaluating clients sent no fairness counts` };
  try {
    return { fairnessCounts: sumCounts(counts) };
  } catch (e) {
    if (e instanceof TesseraError) return { fairnessError: e.message };
    throw e;
  }
}
