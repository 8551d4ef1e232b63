/**
 * Gaussian noise from an injected RandomSource (cryptoRandom() by default; a seeded source makes the result
 * NOT private, and `rng.isPrivate` says so).
 *
 * Method: the Box–Muller transform (G. E. P. Box and M. E. Muller, "A Note on the Generation of Random
 * Normal Deviates", Ann. Math. Statist. 29(2):610–611, 1958): for independent U1 ∈ (0, 1], U2 ∈ [0, 1),
 * R = √(−2 ln U1) and Θ = 2πU2 give two independent N(0, 1) deviates R cos Θ and R sin Θ. The uniforms carry
 * 53 random bits each (RandomSource.nextFloat) and everything is float64, so the tails are exact out to
 * √(−2 ln 2^−53) ≈ 8.57 standard deviations.
 *
 * Known limitation: every floating-point Gaussian sampler leaks a little through the low-order bits of its
 * outputs (Mironov 2012, "On Significance of the Least Significant Bits for Differential Privacy", CCS, for
 * Laplace; Jin et al. 2022, "Are We There Yet? Timing and Floating-Point Attacks on Differential Privacy
 * Systems", IEEE S&P, for Gaussian samplers). Here noise is added to float32 updates that are then quantised
 * for secure aggregation, which coarsens those bits; a discrete Gaussian (Canonne, Kamath & Steinke 2020) is
 * the principled fix and is not implemented yet.
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { RandomSource } from '../random.ts';
import { cryptoRandom } from '../random.ts';

/** Two independent standard normal deviates. */
export function standardNormalPair(rng: RandomSource): [number, number] {
  const u1 = 1 - rng.nextFloat(); // (0, 1]: ln never sees 0
  const u2 = rng.nextFloat();
  const r = Math.sqrt(-2 * Math.log(u1));
  const theta = 2 * Math.PI * u2;
  return [r * Math.cos(theta), r * Math.sin(theta)];
}

function checkStd(std: number): void {
  if (!(std >= 0) || !Number.isFinite(std)) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `noise standard deviation must be a finite number ≥ 0, got ${std}`);
}

/** `length` independent N(0, std²) deviates in float64. */
export function gaussianNoise(length: number, std: number, rng: RandomSource = cryptoRandom()): Float64Array {
  checkStd(std);
  const out = new Float64Array(length);
  if (std === 0) return out;
  for (let i = 0; i < length; i += 2) {
    const [a, b] = standardNormalPair(rng);
    out[i] = a * std;
    if (i + 1 < length) out[i + 1] = b * std;
  }
  return out;
}

/** A new Float32Array: vec + N(0, std²) per coordinate (the sum taken in float64, then rounded once). */
export function addGaussianNoise(vec: Float32Array, std: number, rng: RandomSource = cryptoRandom()): Float32Array {
  const noise = gaussianNoise(vec.length, std, rng);
  const out = new Float32Array(vec.length);
  for (let i = 0; i < vec.length; i++) out[i] = (vec[i] as number) + (noise[i] as number);
  return out;
}
