/**
 * The distributed discrete Gaussian on the wire (Kairouz, Liu & Steinke, ICML 2021, Algorithm 1 "client
 * procedure" and "server procedure"): each client clips its update to L2 norm C, rotates it (rotation.ts), scales
 * it by 1/γ, rounds it conditionally (rounding.ts), adds N_Z(0, σ_int²) from the exact sampler
 * (discrete-gaussian.ts) and reduces it modulo 2^b — these integers ARE its secure-aggregation input. The
 * coordinator reduces the unmasked sum (taken modulo 2^32, of which 2^b is a divisor, so the sum mod 2^b is exact)
 * to (−2^(b−1), 2^(b−1)], multiplies by γ and undoes the rotation. A wrap (the true integer sum leaving that range)
 * is post-processing of the private sum: it costs accuracy, never privacy; the planner keeps it rare (planner.ts).
 */
import { TesseraError } from '../../../protocol/errors.ts';
import { roundedL2NormBound } from '../../accountant/ddgauss.ts';
import type { RandomSource } from '../../random.ts';
import { l2Norm } from '../clip.ts';
import { discreteGaussianSampler, type DiscreteGaussianSampler } from '../discrete-gaussian.ts';
import { conditionalRound } from './rounding.ts';
import { roundRotation, rotate, unrotate, type Rotation } from './rotation.ts';

/** The mechanism's parameters, as the DP plan derives them from the job spec (both sides alike). */
export interface DdgaussParams {
  /** L2 clip norm C (model units). */
  readonly clipNorm: number;
  /** γ: one integer step in model units. */
  readonly granularity: number;
  /** β of conditional randomised rounding. */
  readonly beta: number;
  /** b: the sum lives modulo 2^b (b ≤ 32 divides the secure-aggregation modulus 2^32). */
  readonly bits: number;
  /** Each client's discrete Gaussian std in model units (σ_int = localStd/γ). */
  readonly localStd: number;
}

export interface DdgaussCodec {
  readonly params: DdgaussParams;
  readonly rotation: Rotation;
  /** σ_int² = (localStd/γ)²: the variance parameter of each client's discrete Gaussian, an exact dyadic rational. */
  readonly sigmaIntSquared: number;
  /** The rounded vector's L2 bound (integer units), the sensitivity the accountant charges. */
  readonly normBound: number;
}

export function ddgaussCodec(params: DdgaussParams, at: { jobId: string; round: number; dimension: number }): DdgaussCodec {
  const { clipNorm: c, granularity: g, beta, bits, localStd } = params;
  if (!(c > 0 && g > 0 && localStd > 0) || !(beta >= 0 && beta < 1)) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `invalid DDGauss parameters: C = ${c}, γ = ${g}, σ = ${localStd}, β = ${beta}`);
  if (!Number.isInteger(bits) || bits < 2 || bits > 32) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `dp.ddgauss.bits must be an integer in [2, 32], got ${bits}`);
  const rotation = roundRotation(at);
  return { params, rotation, sigmaIntSquared: (localStd / g) ** 2, normBound: roundedL2NormBound(c / g, beta, rotation.padded) };
}

/** The client's secure-aggregation input: D = padded dimension integers in [0, 2^b). */
export function encodeDdgauss(codec: DdgaussCodec, update: ArrayLike<number>, rng: RandomSource, sampler: DiscreteGaussianSampler = discreteGaussianSampler(codec.sigmaIntSquared)): Uint32Array {
  const { clipNorm: c, granularity: g, bits } = codec.params;
  for (let i = 0; i < update.length; i++) if (!Number.isFinite(update[i] as number)) throw new TesseraError('TESSERA_ERR_UPDATE_NONFINITE', `the update holds a non-finite value at coordinate ${i}`);
  const y = rotate(update, codec.rotation);
  // Clip (again) after the rotation, in float64: the rounding bound assumes ‖y/γ‖ ≤ C/γ; the DP mod clipped already,
  // so this only absorbs float32 and transform rounding (a factor 1 − 1e-12 keeps the product below the bound).
  const norm = l2Norm(y);
  const shrink = norm > c ? (c / norm) * (1 - 1e-12) : 1;
  for (let i = 0; i < y.length; i++) y[i] = ((y[i] as number) * shrink) / g;
  const { rounded } = conditionalRound(y, codec.normBound, rng);
  const m = 2 ** bits;
  const out = new Uint32Array(y.length);
  for (let i = 0; i < rounded.length; i++) {
    const v = (rounded[i] as number) + sampler.sample(rng);
    // Exact for |v| < 2^53: reduce into [0, 2^b).
    out[i] = ((v % m) + m) % m;
  }
  return out;
}

/** The centred residue of each coordinate of an unmasked sum modulo 2^b, in (−2^(b−1), 2^(b−1)]. */
export function centredResidues(sum: Uint32Array, bits: number): Float64Array {
  const m = 2 ** bits;
  const half = m / 2;
  const out = new Float64Array(sum.length);
  for (let i = 0; i < sum.length; i++) {
    const r = (sum[i] as number) % m;
    out[i] = r > half ? r - m : r;
  }
  return out;
}

/** The coordinator's view: the noised sum of the survivors' updates, in model units (length = the update length). */
export function decodeDdgaussSum(codec: DdgaussCodec, sum: Uint32Array): Float64Array {
  if (sum.length !== codec.rotation.padded) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `a DDGauss sum has ${codec.rotation.padded} coordinates, got ${sum.length}`);
  const y = centredResidues(sum, codec.params.bits);
  for (let i = 0; i < y.length; i++) y[i] = (y[i] as number) * codec.params.granularity;
  return unrotate(y, codec.rotation);
}
