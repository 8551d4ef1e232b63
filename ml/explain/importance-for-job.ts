/**
 * Federated permutation importance inside a job (issue 20 §6): the one definition, used by the client, the
 * coordinator and the registry, of WHEN a federated evaluation carries the importance counts, WHICH features are
 * shuffled and HOW each client seeds its shuffles.
 *
 * - When: only the job's final federated evaluation (round = spec.rounds) and only with
 *   `evaluation.featureImportance` — one extra pass over the held-out split per feature is not paid every round.
 * - Which: one feature per input column of the model, in the model's input order, so both sides know the
 *   vector's length, 2 + columns, from the spec alone. Names do not travel: the coordinator names each entry
 *   after the fact from the job's data contract (its transformed feature name, e.g. "workclass=Private", and the
 *   contract column it comes from, "workclass"), or x0, x1, … without one (MNIST).
 * - How: feature f's permutation on client c is drawn from seededRandom(deriveSeed(job seed, 'permutation-
 *   importance', c, f)). A shuffle is not a privacy mechanism (it never leaves the client; only counts do), so a
 *   seed is what makes the figure reproducible: a rerun of the job, or anyone holding the same rows, model and
 *   seed, recomputes the same counts (test/importance-job.test.ts pools them independently).
 */
import type * as tf from '@tensorflow/tfjs';
import type { Examples } from '../../datasets/types.ts';
import { deriveSeed, seededRandom } from '../../privacy/random.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import { inputShape } from '../model.ts';
import type { CompiledContract } from '../../governance/contract/compile.ts';
import { columnFeatures, permutationCounts, type FeatureColumns } from './permutation-importance.ts';

/** Whether the federated evaluation of `round` carries the importance counts. */
export function importanceWanted(job: Pick<JobSpec, 'evaluation' | 'rounds'>, round: number): boolean {
  return job.evaluation.featureImportance && round === job.rounds;
}

/**
 * The features a job's importance shuffles: one per input column of its model. With the data contract the
 * inputs were computed by, each is named as the contract names that input and carries its source column; a
 * contract with another number of inputs than the model does not describe them, and the names stay x0, x1, ….
 * The columns shuffled are the same either way, so naming never changes a count.
 */
export function importanceFeaturesForJob(job: Pick<JobSpec, 'model'>, contract?: Pick<CompiledContract, 'featureNames' | 'featureColumns'>): FeatureColumns[] {
  const inputs = inputShape(job.model).reduce((a, b) => a * b, 1);
  const plain = columnFeatures(inputs);
  if (contract === undefined || contract.featureNames.length !== inputs) return plain;
  return plain.map((f, i) => ({ ...f, name: contract.featureNames[i] ?? f.name, ...(contract.featureColumns[i] !== undefined ? { source: contract.featureColumns[i] } : {}) }));
}

/** Length of the importance counts in round `round`'s evaluation: 2 + features, or 0 when not wanted. */
export function importanceLength(job: Pick<JobSpec, 'evaluation' | 'rounds' | 'model'>, round: number): number {
  return importanceWanted(job, round) ? 2 + importanceFeaturesForJob(job).length : 0;
}

/** The seed of client `clientId`'s shuffle of feature `feature` (job seed, client, feature: reproducible). */
export function importanceShuffleSeed(jobSeed: string | number, clientId: string, feature: number): string {
  return deriveSeed(jobSeed, 'permutation-importance', clientId, feature);
}

/** A client's counts [n, correct, correct with column 0 shuffled, …] on its held-out split. */
export function clientImportanceCounts(model: tf.LayersModel, heldOut: Examples, job: Pick<JobSpec, 'model' | 'seed'>, clientId: string): Uint32Array {
  return permutationCounts(model, heldOut, importanceFeaturesForJob(job), (f) => seededRandom(importanceShuffleSeed(job.seed, clientId, f)));
}
