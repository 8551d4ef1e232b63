/**
 * Exact integer sums under secure aggregation: vectors of non-negative integers (counts) need no
 * quantisation. Each coordinate has a public per-client bound b_i; a client's value x_i ∈ [0, b_i] is fed to
 * the masking as is, and the unmasked sum mod 2^32 IS the integer sum as long as it cannot wrap:
 * n · b_i ≤ 2^32 − 1 for every coordinate (the modulus exceeds the largest possible sum). Parameters that
 * could wrap are refused at planning — on the coordinator and on every client, which derive them alike.
 */
import { TesseraError } from '../../protocol/errors.ts';

const UINT32_MAX = 2 ** 32 - 1;

/** A run of coordinates sharing one public per-client bound. */
export interface IntegerSegment {
  readonly name: string;
  readonly length: number;
  /** The largest value one client may put in each coordinate of this segment. */
  readonly bound: number;
}

export interface IntegerSumParams {
  readonly segments: readonly IntegerSegment[];
  readonly clients: number;
  readonly dim: number;
}

export function integerSumParams(options: { clients: number; segments: readonly IntegerSegment[] }): IntegerSumParams {
  const { clients, segments } = options;
  if (!Number.isInteger(clients) || clients < 1) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `clients must be a positive integer, got ${clients}`);
  let dim = 0;
  for (const s of segments) {
    if (!Number.isInteger(s.length) || s.length < 0) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `segment ${s.name}: length must be a non-negative integer, got ${s.length}`);
    if (!Number.isInteger(s.bound) || s.bound < 0) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `segment ${s.name}: bound must be a non-negative integer, got ${s.bound}`);
    if (s.length > 0 && clients * s.bound > UINT32_MAX) {
      throw new TesseraError(
        'TESSERA_ERR_SECAGG_PARAMS',
        `the ${s.name} sum can wrap modulo 2^32: ${clients} clients × per-client bound ${s.bound} > 2^32 − 1; at most ${Math.floor(UINT32_MAX / s.bound)} clients fit (lower secagg.maxExamplesPerClient to raise it)`,
        { details: { segment: s.name, clients, bound: s.bound } },
      );
    }
    dim += s.length;
  }
  if (dim < 1) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', 'an integer sum needs at least one coordinate');
  return { segments, clients, dim };
}

/** A client's input: checked to be integers within the public bounds (so the sum cannot wrap), unchanged. */
export function encodeIntegerInput(values: ArrayLike<number>, params: IntegerSumParams): Uint32Array {
  if (values.length !== params.dim) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `integer input has ${values.length} coordinates, the plan expects ${params.dim}`);
  const out = new Uint32Array(params.dim);
  let i = 0;
  for (const s of params.segments) {
    for (let j = 0; j < s.length; j++, i++) {
      const v = values[i] as number;
      if (!Number.isInteger(v) || v < 0 || v > s.bound) {
        throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `${s.name}[${j}] is ${v}, outside the public per-client range [0, ${s.bound}]`, { details: { segment: s.name, bound: s.bound } });
      }
      out[i] = v;
    }
  }
  return out;
}

/**
 * The integer sum of `summands` inputs from the unmasked vector: exact, since n·b_i ≤ 2^32 − 1 means the
 * sum never reached the modulus. Refuses more summands than the plan was made for.
 */
export function decodeIntegerSum(sum: Uint32Array, params: IntegerSumParams, summands: number): Uint32Array {
  if (sum.length !== params.dim) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `sum has ${sum.length} coordinates, the plan expects ${params.dim}`);
  if (!Number.isInteger(summands) || summands < 0 || summands > params.clients) {
    throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `${summands} summands exceed the ${params.clients} the plan's bounds were checked for`);
  }
  return Uint32Array.from(sum);
}
