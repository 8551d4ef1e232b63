/**
 * Quantisation for secure aggregation: clip each coordinate to [−r, r], scale to integer levels
 * [−L, L], round stochastically (unbiased: E[q] = x·L/r; the stochastic k-level quantisation of Suresh et al.,
 * ICML 2017 §3), and embed in Z_(2^32) as two's complement. The sum of n such values lies in [−nL, nL]; choosing
 * n·L ≤ 2^31 − 1 guarantees it cannot wrap, so reading the sum back as an int32 is exact — the only rounding
 * is the per-client stochastic one, and dequantising the sum is one exact integer times r/L.
 *
 * Under differential privacy (issue 11 §2) the values arrive clipped AND noised, and clamping them here would cut
 * the noise the accountant charged for (C = r = 1, σ = 1, m = 4: the released coordinate's noise std was 0.88,
 * not 1, and under add/remove no finite ε existed at δ = 1e-5). So DP plans use `mode: 'modular'`: nothing is
 * clamped; each value is scaled, rounded stochastically and reduced mod 2^32. The clip already bounds the update
 * (|x_i| ≤ C per coordinate), and the scale is chosen for a range r ≥ C + k·σ_client (`dpQuantizationRange`) so
 * that the true integer sum leaves [−2^31, 2^31) only with negligible probability. A wrap is a deterministic
 * function of the integer sum (reduction mod 2^32), i.e. post-processing (Dwork & Roth 2014, Prop. 2.1): it can
 * cost accuracy, never privacy, so no δ term is needed for it; the range only keeps it rare for utility.
 *
 * What remains un-accounted is the stochastic rounding itself: each client's rounding error is < 1 level
 * (r/L ≈ r·n/2^31 of a coordinate, ~1e-8 of the noise std in practice) and depends on its own noised value;
 * the principled fix is the distributed discrete Gaussian (Kairouz, Liu & Steinke 2021), not implemented.
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
  /** The most clients whose sum is guaranteed not to wrap modulo 2^32 (for values within [−r, r]). */
  readonly maxClients: number;
  /**
   * 'clamp' (default): values are clipped to [−r, r] first, so sums of ≤ maxClients never wrap. 'modular': no
   * clamping (DP: the noise must survive); values outside [−r, r] are reduced mod 2^32 like the sum itself.
   */
  readonly mode?: 'clamp' | 'modular';
}

/** k in r ≥ C + k·σ_client: 2Φ̄(10) ≈ 1.5e-23 per coordinate and round (see `dpQuantizationRange`). */
export const DP_RANGE_SIGMAS = 10;

/**
 * The quantisation range for DP inputs: the job's r, widened to C + k·σ_client when that is larger. The sum of n
 * inputs wraps only if |Σ_i x_i| ≥ n·r (the scale is L/r with L = ⌊(2^31 − 1)/n⌋); with |clipped coordinate| ≤ C
 * and independent client noise, that needs the noise sum N(0, n·σ_client²) to exceed n(r − C) ≥ n·k·σ_client,
 * probability ≤ 2Φ̄(√n·k) ≤ 2Φ̄(k) per coordinate (Gaussian tail). Both sides derive the same r from the job.
 */
export function dpQuantizationRange(o: { clipRange: number; clipNorm: number; clientNoiseStd: number }): number {
  return Math.max(o.clipRange, o.clipNorm + DP_RANGE_SIGMAS * o.clientNoiseStd);
}

/**
 * Chooses the integer scale for `clients` summands. With `bits` given, each client's value uses that many
 * signed bits (maxLevel = 2^(bits−1) − 1) and the call refuses widths whose n-fold sum could wrap; without it,
 * the finest scale that cannot wrap is used (maxLevel = ⌊(2^31 − 1)/n⌋).
 */
export function quantizationParams(options: { clipRange: number; clients: number; bits?: number | undefined; mode?: 'clamp' | 'modular' }): QuantizationParams {
  const { clipRange, clients, bits } = options;
  const mode = options.mode ?? 'clamp';
  if (!(clipRange > 0) || !Number.isFinite(clipRange)) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `clipRange must be a positive number, got ${clipRange}`);
  if (!Number.isInteger(clients) || clients < 1) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `clients must be a positive integer, got ${clients}`);
  const largest = Math.floor(INT32_MAX / clients);
  if (bits === undefined) {
    if (largest < 1) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `${clients} clients cannot share a 2^32 modulus`);
    return { clipRange, maxLevel: largest, maxClients: clients, mode };
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
  return { clipRange, maxLevel, maxClients: Math.floor(INT32_MAX / maxLevel), mode };
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
  const clamp = params.mode !== 'modular';
  const scale = (maxLevel / r) * weight;
  for (let i = 0; i < values.length; i++) {
    const x = values[i] as number;
    if (!Number.isFinite(x)) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `quantize: coordinate ${i} is ${x}`);
    const s = (clamp ? (x > r ? r : x < -r ? -r : x) : x) * scale;
    // Beyond 2^52 a float64 no longer holds the fractional part the stochastic rounding needs.
    if (!clamp && Math.abs(s) >= 2 ** 52) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `quantize: coordinate ${i} (${x}) is far outside the range ${r}`);
    const fl = Math.floor(s);
    // Round up with probability equal to the fractional part, so the expectation is exact.
    const q = fl + (rng.nextFloat() < s - fl ? 1 : 0);
    out[i] = q; // a Uint32Array store reduces any integer modulo 2^32 (ToUint32): negative q becomes its two's complement
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
