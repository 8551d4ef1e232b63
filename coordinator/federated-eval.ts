/**
 * Federated evaluation: each client evaluates the global model on its own held-out split and returns sums
 * (loss sum, number correct, examples), so the coordinator forms exact example-weighted means without
 * seeing any example. Clients that miss the deadline are left out of that evaluation.
 */
import { randomUUID } from 'node:crypto';
import type { JobSpec } from '../protocol/job/spec.ts';
import { encodeFloat32 } from '../protocol/tensor.ts';
import type { ConnectedClient, Federation } from './federation.ts';

export interface FederatedEvaluation {
  readonly loss: number;
  readonly accuracy: number;
  readonly examples: number;
  readonly clients: number;
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
  for (const r of replies) {
    if (r.status !== 'fulfilled' || r.value.type !== 'evaluate-result') continue;
    lossSum += r.value.lossSum;
    correct += r.value.correct;
    examples += r.value.examples;
    clients++;
  }
  return examples > 0 ? { loss: lossSum / examples, accuracy: correct / examples, examples, clients } : null;
}
