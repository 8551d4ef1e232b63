/**
 * The randomised Hadamard rotation of the distributed discrete Gaussian (Kairouz, Liu & Steinke, "The Distributed
 * Discrete Gaussian Mechanism for Federated Learning with Secure Aggregation", ICML 2021, §4.2: "flattening"):
 * x ↦ H·D·x/√D, D = diag of random signs, H the D × D Walsh–Hadamard matrix (D = the padded power of two). H/√D
 * is orthogonal, so the rotation keeps the L2 norm (the sensitivity) and spreads a spiky vector over all
 * coordinates, so that few coordinates come near the modulus (their Lemma 29: the rotated coordinates are
 * subgaussian with flatness ρ = 1 for this construction, the value the planner uses).
 *
 * The signs come from a PUBLIC seed (job id and round): the coordinator must invert the rotation on the sum, and the
 * privacy analysis holds for any fixed rotation (it only needs the norm kept). A coordinator that could choose the
 * seed could make one client's rotated vector spiky and cause a wrap — a loss of accuracy, never of privacy — so the
 * seed is derived from values it does not pick: SHA-256 of (label, job id, round) keys an AES-256-CTR stream.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { TesseraError } from '../../../protocol/errors.ts';

/** The smallest power of two ≥ n (the padded dimension D). */
export function paddedDimension(n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `a rotation needs a positive dimension, got ${n}`);
  let d = 1;
  while (d < n) d *= 2;
  return d;
}

/** In-place fast Walsh–Hadamard transform (unnormalised: applying it twice multiplies by the length). */
export function walshHadamard(v: Float64Array): void {
  const n = v.length;
  if ((n & (n - 1)) !== 0) throw new RangeError(`walshHadamard: length ${n} is not a power of two`);
  for (let h = 1; h < n; h *= 2) {
    for (let i = 0; i < n; i += 2 * h) {
      for (let j = i; j < i + h; j++) {
        const a = v[j] as number;
        const b = v[j + h] as number;
        v[j] = a + b;
        v[j + h] = a - b;
      }
    }
  }
}

/** The public rotation of one round: D random signs from the seed's AES-256-CTR stream. */
export interface Rotation {
  readonly dimension: number;
  readonly padded: number;
  /** ±1 per padded coordinate. */
  readonly signs: Int8Array;
}

export function roundRotation(o: { jobId: string; round: number; dimension: number }): Rotation {
  const padded = paddedDimension(o.dimension);
  const key = createHash('sha256').update(`tessera/ddgauss-rotation/v1\u0000${o.jobId}\u0000${o.round}`).digest();
  const stream = createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(Math.ceil(padded / 8)));
  const signs = new Int8Array(padded);
  for (let i = 0; i < padded; i++) signs[i] = ((stream[i >> 3] as number) >> (i & 7)) & 1 ? -1 : 1;
  return { dimension: o.dimension, padded, signs };
}

/** y = H·D·x/√D, x zero-padded to D coordinates. */
export function rotate(x: ArrayLike<number>, r: Rotation): Float64Array {
  if (x.length !== r.dimension) throw new RangeError(`rotate: ${x.length} coordinates, the rotation expects ${r.dimension}`);
  const y = new Float64Array(r.padded);
  for (let i = 0; i < x.length; i++) y[i] = (x[i] as number) * (r.signs[i] as number);
  walshHadamard(y);
  const s = 1 / Math.sqrt(r.padded);
  for (let i = 0; i < y.length; i++) y[i] = (y[i] as number) * s;
  return y;
}

/** x = D·H·y/√D (H and D are symmetric and self-inverse up to the factor D), truncated to the original dimension. */
export function unrotate(y: ArrayLike<number>, r: Rotation): Float64Array {
  if (y.length !== r.padded) throw new RangeError(`unrotate: ${y.length} coordinates, the rotation expects ${r.padded}`);
  const v = Float64Array.from(y);
  walshHadamard(v);
  const s = 1 / Math.sqrt(r.padded);
  const out = new Float64Array(r.dimension);
  for (let i = 0; i < r.dimension; i++) out[i] = (v[i] as number) * s * (r.signs[i] as number);
  return out;
}
