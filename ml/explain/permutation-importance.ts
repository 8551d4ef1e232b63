/**
 * Global feature importance computed federatedly (issue 20 §6): permutation importance (Breiman, "Random
 * Forests", Machine Learning 45, 2001, §10; model-agnostic form in Fisher, Rudin and Dominici, JMLR 20(177),
 * 2019, "model reliance") on each client's held-out split, combined from sums only.
 *
 * Each client shuffles one feature (a group of input columns, e.g. a one-hot block) at a time across ITS OWN
 * held-out rows and counts correct predictions. Its report is an integer vector
 *   [n, correct, correct with feature 1 shuffled, …, correct with feature F shuffled],
 * every entry in [0, n], so the vectors can be added inside secure aggregation as counts (privacy/secagg:
 * integer-sum.ts, extension.ts `count` segments — exact as long as clients · bound < 2^32). The coordinator
 * learns only the sum, from which
 *   accuracy = Σ correct / Σ n,   importance_f = (Σ correct − Σ correct_f) / Σ n,
 * which is exactly the pooled permutation importance over the union of the clients' rows under the same
 * within-client shuffles (a sum of counts is a count over the union). Shuffling within clients, not across, is
 * what federated data allows; with non-IID clients it measures reliance on a feature within each site.
 *
 * Randomness is a parameter (house rule 5): the client passes its CSPRNG; a seeded source only in simulations.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Examples } from '../../datasets/types.ts';
import { featureSize } from '../../datasets/types.ts';
import { shuffleInPlace, type RandomSource } from '../../privacy/random.ts';
import { TesseraError } from '../../protocol/errors.ts';
import { evaluate } from '../train.ts';

/** A feature as the model sees it: a name and the input columns it occupies. */
export interface FeatureColumns {
  readonly name: string;
  readonly columns: readonly number[];
  /** The data-contract column the feature is computed from (e.g. "workclass" for "workclass=Private"), when known. */
  readonly source?: string;
}

/** One feature per input column, named `x0`, `x1`, … (when the caller has no names). */
export function columnFeatures(inputs: number): FeatureColumns[] {
  return Array.from({ length: inputs }, (_, i) => ({ name: `x${i}`, columns: [i] }));
}

/** The rows of `e` with the given columns permuted by `order` (row i takes row order[i]'s values there). */
export function withColumnsPermuted(e: Examples, columns: readonly number[], order: readonly number[]): Examples {
  const d = featureSize(e);
  const x = Float32Array.from(e.x);
  for (let i = 0; i < e.n; i++) {
    const from = order[i] as number;
    for (const c of columns) x[i * d + c] = e.x[from * d + c] as number;
  }
  return { ...e, x };
}

/**
 * A client's report: [n, correct, correct_1, …, correct_F]. Feature i's permutation is drawn from `rngFor(i)`
 * (one stream for all features: `() => rng`; a job derives one seed per feature: importance-for-job.ts).
 */
export function permutationCounts(model: tf.LayersModel, heldOut: Examples, features: readonly FeatureColumns[], rngFor: (feature: number) => RandomSource): Uint32Array {
  const d = featureSize(heldOut);
  for (const f of features) {
    if (f.columns.length === 0 || f.columns.some((c) => !Number.isInteger(c) || c < 0 || c >= d)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `feature ${f.name} names columns outside 0…${d - 1}`);
  }
  const correct = (e: Examples): number => Math.round(evaluate(model, e).accuracy * e.n);
  const out = new Uint32Array(2 + features.length);
  out[0] = heldOut.n;
  if (heldOut.n === 0) return out;
  out[1] = correct(heldOut);
  features.forEach((f, i) => {
    const order = shuffleInPlace(rngFor(i), Array.from({ length: heldOut.n }, (_, r) => r));
    out[2 + i] = correct(withColumnsPermuted(heldOut, f.columns, order));
  });
  return out;
}

/** Refuses a layout whose summed counts could wrap modulo 2^32 (the secure sum's integer range). */
export function checkCountBound(clients: number, maxRowsPerClient: number): void {
  if (!Number.isInteger(maxRowsPerClient) || maxRowsPerClient < 0 || clients * maxRowsPerClient > 2 ** 32 - 1) {
    throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `${clients} clients × ${maxRowsPerClient} held-out rows can wrap the secure sum modulo 2^32`);
  }
}

export interface ImportanceFromSums {
  readonly examples: number;
  readonly baselineAccuracy: number;
  /** Per feature, in the order given; `column` is the feature's source column when the feature names one. */
  readonly features: Array<{ feature: string; column?: string; permutedAccuracy: number; importance: number }>;
}

/** Importance from the summed vector (the only thing the coordinator sees). */
export function importanceFromSum(sum: ArrayLike<number>, features: readonly FeatureColumns[]): ImportanceFromSums {
  if (sum.length !== 2 + features.length) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `the summed vector has ${sum.length} entries; ${2 + features.length} expected`);
  const n = sum[0] as number;
  if (n === 0) throw new TesseraError('TESSERA_ERR_DATA_EMPTY', 'no held-out rows in the summed reports');
  const base = (sum[1] as number) / n;
  return {
    examples: n,
    baselineAccuracy: base,
    features: features.map((f, i) => {
      const permutedAccuracy = (sum[2 + i] as number) / n;
      return { feature: f.name, ...(f.source !== undefined ? { column: f.source } : {}), permutedAccuracy, importance: base - permutedAccuracy };
    }),
  };
}
