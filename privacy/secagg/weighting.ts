/**
 * Weighted FedAvg under secure aggregation. Choice: the example count travels securely as one extra
 * coordinate, and the update is scaled by the client's weight before masking. Client u with n_u examples
 * (capped at a public maximum W) sends [ω_u·clip(Δ_u), min(n_u, W)] with ω_u = min(n_u, W)/W ≤ 1, so the
 * coordinator learns only Σ ω_u Δ_u and Σ min(n_u, W) — never a single count — and forms the weighted mean
 * Σ n_u Δ_u / Σ n_u = W · Σ ω_u Δ_u / Σ min(n_u, W) exactly (McMahan et al. 2017, FedAvg eq. on line 9).
 * Scaling by ω ≤ 1 keeps each contribution inside [−r, r], so neither the clip nor a DP sensitivity grows.
 * The count coordinate is an exact integer: n·W ≤ 2^31 − 1 keeps its sum from wrapping.
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { RandomSource } from '../random.ts';
import { dequantizeSum, quantize, quantizationParams, type QuantizationParams } from './quantize.ts';

const INT32_MAX = 2 ** 31 - 1;

export interface WeightedParams {
  readonly quant: QuantizationParams;
  /** Public cap W on the examples a client may count. */
  readonly maxExamples: number;
}

export function weightedParams(options: { clipRange: number; clients: number; bits?: number | undefined; maxExamples: number }): WeightedParams {
  const { clients, maxExamples } = options;
  if (!Number.isInteger(maxExamples) || maxExamples < 1) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `maxExamples must be a positive integer, got ${maxExamples}`);
  if (clients * maxExamples > INT32_MAX) {
    throw new TesseraError(
      'TESSERA_ERR_SECAGG_PARAMS',
      `the example-count coordinate can wrap: ${clients} clients × maxExamples ${maxExamples} > 2^31 − 1; use maxExamples ≤ ${Math.floor(INT32_MAX / clients)}`,
    );
  }
  return { quant: quantizationParams(options), maxExamples };
}

/** The vector a client feeds to secure aggregation: d weighted, quantised coordinates then its capped count. */
export function encodeWeightedUpdate(options: { update: ArrayLike<number>; examples: number; params: WeightedParams; rng: RandomSource }): Uint32Array {
  const { update, examples, params, rng } = options;
  if (!Number.isInteger(examples) || examples < 0) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `examples must be a non-negative integer, got ${examples}`);
  const capped = Math.min(examples, params.maxExamples);
  const out = new Uint32Array(update.length + 1);
  quantize(update, params.quant, rng, { out, weight: capped / params.maxExamples });
  out[update.length] = capped;
  return out;
}

/** The weighted mean update and the total (capped) example count, from the unmasked sum of `summands` clients. */
export function decodeWeightedMean(sum: Uint32Array, params: WeightedParams, summands: number): { mean: Float64Array; totalExamples: number } {
  if (sum.length < 1) throw new RangeError('decodeWeightedMean: empty sum');
  const d = sum.length - 1;
  const totalExamples = (sum[d] as number) | 0;
  const weighted = dequantizeSum(sum.subarray(0, d), params.quant, summands);
  if (totalExamples <= 0) return { mean: new Float64Array(d), totalExamples: 0 };
  const factor = params.maxExamples / totalExamples;
  for (let i = 0; i < d; i++) weighted[i] = (weighted[i] as number) * factor;
  return { mean: weighted, totalExamples };
}
