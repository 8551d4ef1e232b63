/**
 * Quantisation for secure aggregation: clip each coordinate to [−r, r], scale to integer levels
 * [−L, L], round stochastically (unbiased: E[q] = x·L/r; the stochastic k-level quantisation of Suresh et al.,
 * ICML 2017 §3), and embed in Z_(2^32) as two's complement. The sum of n such values lies in [−nL, nL]; choosing
 * n·L ≤ 2^31 − 1 guarantees it cannot wrap, so reading the sum back as an int32 is exact — the only rounding
 * is the per-client stochastic one, and dequantising the sum is one exact integer times r/L.
 *
 * DP composes by adding noise before `quantize` (the noise is then clipped with the update, which is why the
 * DP layer must clip to a range that leaves room for its noise).
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { RandomSource } from '../random.ts';

export const MODULUS_BITS = 32;
const INT32_MAX = 2 ** 31 - 1;

export interface QuantizationParams {
  /** Clipping bound r: coordinates are clipped to [−r, r]. */
  readonly clipRange: number;
  /** Integer level of r: a coordinate in [−r, r] becomes an integer in [−maxLevel, maxLevel]. */
  readonly maxLevel: number;
  /** The most clients whose sum is guaranteed not to wrap modulo 2^32. */
  readonly maxClients: number;
}

/**
 * Chooses the integer scale for `clients` summands. With `bits` given, each client's value uses that many
 * signed bits (maxLevel = 2^(bits−1) − 1) and the call refuses widths whose n-fold sum could wrap; without it,
 * the finest scale that cannot wrap is used (maxLevel = ⌊(2^31 − 1)/n⌋).
 */
export function quantizationParams(options: { clipRange: number; clients: number; bits?: number | undefined }): QuantizationParams {
  const { clipRange, clients, bits } = options;
  if (!(clipRange > 0) || !Number.isFinite(clipRange)) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `clipRange must be a positive number, got ${clipRange}`);
  if (!Number.isInteger(clients) || clients < 1) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `clients must be a positive integer, got ${clients}`);
  const largest = Math.floor(INT32_MAX / clients);
  if (bits === undefined) {
    if (largest < 1) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `${clients} clients cannot share a 2^32 modulus`);
    return { clipRange, maxLevel: largest, maxClients: clients };
  }
  if (!Number.isInteger(bits) || bits < 2 || bits > MODULUS_BITS) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `bits must be an integer in [2, 32], got ${bits}`);
  const maxLevel = 2 ** (bits - 1) - 1;
  if (maxLevel > largest) {
    const fits = Math.floor(Math.log2(largest + 1)) + 1;
    throw new TesseraError(
      'TESSERA_ERR_SECAGG_PARAMS',
      `${bits}-bit values from ${clients} clients can wrap modulo 2^32 (${clients}·${maxLevel} > 2^31 − 1); use at most ${fits} bits for ${clients} clients, or omit bitsPerCoordinate`,
      { details: { bits, clients, maxBits: fits } },
    );
  }
  return { clipRange, maxLevel, maxClients: Math.floor(INT32_MAX / maxLevel) };
}

/**
 * Quantises `values` into Z_(2^32) (two's complement), clipping to [−r, r] and rounding stochastically.
 * `weight` ∈ [0, 1] multiplies each clipped coordinate first (weighted FedAvg, see weighting.ts).
 */
export function quantize(
  values: ArrayLike<number>,
  params: QuantizationParams,
  rng: RandomSource,
  options: { out?: Uint32Array; weight?: number } = {},
): Uint32Array {
  const out = options.out ?? new Uint32Array(values.length);
  const weight = options.weight ?? 1;
  if (out.length < values.length) throw new RangeError('quantize: output shorter than input');
  if (!(weight >= 0 && weight <= 1)) throw new RangeError(`quantize: weight must be in [0, 1], got ${weight}`);
  const { clipRange: r, maxLevel } = params;
  const scale = (maxLevel / r) * weight;
  for (let i = 0; i < values.length; i++) {
    const x = values[i] as number;
    if (Number.isNaN(x)) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `quantize: coordinate ${i} is NaN`);
    const s = (x > r ? r : x < -r ? -r : x) * scale;
    const fl = Math.floor(s);
    // Round up with probability equal to the fractional part, so the expectation is exact.
    const q = fl + (rng.nextFloat() < s - fl ? 1 : 0);
    out[i] = q; // a Uint32Array store reduces modulo 2^32: negative q becomes its two's complement
  }
  return out;
}

/**
 * Reads a sum of at most `params.maxClients` quantised vectors back into real numbers. Exact: the int32
 * reading of a non-wrapping sum is the integer sum itself, and that integer times r/L is one rounding.
 */
export function dequantizeSum(sum: Uint32Array, params: QuantizationParams, summands: number): Float64Array {
  if (!Number.isInteger(summands) || summands < 0 || summands > params.maxClients) {
    throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `dequantizeSum: ${summands} summands exceed the ${params.maxClients} this scale can hold without wrapping`);
  }
  const step = params.clipRange / params.maxLevel;
  const out = new Float64Array(sum.length);
  for (let i = 0; i < sum.length; i++) out[i] = ((sum[i] as number) | 0) * step;
  return out;
}

/** Signed integer levels of a quantised (or summed) vector. */
export function levels(v: Uint32Array): Int32Array {
  return new Int32Array(v.buffer, v.byteOffset, v.length);
}
