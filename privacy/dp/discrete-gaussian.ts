/**
 * Exact sampling of the discrete Gaussian N_Z(0, σ²) — P[X = x] ∝ exp(−x²/(2σ²)) on the integers — from uniform
 * integers of an injected RandomSource (a CSPRNG in production), with no floating point anywhere in the noise
 * path: every probability is a rational held in BigInts.
 *
 * Canonne, Kamath & Steinke, "The Discrete Gaussian for Differential Privacy", NeurIPS 2020, §5:
 *  - Algorithm 1: Bernoulli(exp(−γ)) for rational γ ≥ 0 (for γ ∈ [0, 1] a von Neumann-style series: draw
 *    A_K ~ Bernoulli(γ/K) for K = 1, 2, … until the first 0; the stopping K is odd with probability exp(−γ); for
 *    γ > 1, ⌊γ⌋ independent Bernoulli(exp(−1)) and one Bernoulli(exp(−(γ − ⌊γ⌋)))).
 *  - Algorithm 2: the discrete Laplace with scale t (P[Y = y] ∝ exp(−|y|/t)), from a uniform U ∈ {0, …, t−1}
 *    accepted with probability exp(−U/t) and a geometric V with ratio exp(−1): X = U + t·V, a random sign, and the
 *    negative zero rejected.
 *  - Algorithm 3: the discrete Gaussian by rejection from the discrete Laplace with t = ⌊σ⌋ + 1, accepting Y with
 *    probability exp(−(|Y| − σ²/t)²/(2σ²)).
 * σ² is a rational a/b; a float64 σ² is exactly a dyadic rational, so `discreteGaussian(σ², …)` with a number is
 * still exact in the mechanism it samples (the accountant is given the same float).
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { RandomSource } from '../random.ts';
import { uniformInt } from '../random.ts';

/** A non-negative rational n/d (d > 0). */
export interface Rational {
  readonly n: bigint;
  readonly d: bigint;
}

/** The exact value of a finite, non-negative float64 as a rational with a power-of-two denominator. */
export function rationalOf(x: number): Rational {
  if (!Number.isFinite(x) || x < 0) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `a discrete Gaussian variance must be a finite number ≥ 0, got ${x}`);
  let d = 1n;
  let v = x;
  // Doubling is exact in binary floating point; at most 1074 steps reach an integer.
  while (!Number.isInteger(v)) {
    v *= 2;
    d *= 2n;
  }
  return { n: BigInt(v), d };
}

/** A uniform integer in [0, bound) by rejection over whole 32-bit words (no modulo bias). */
export function uniformBigInt(rng: RandomSource, bound: bigint): bigint {
  if (bound <= 0n) throw new RangeError('uniformBigInt: bound must be positive');
  if (bound <= 0x1_0000_0000n) return BigInt(uniformInt(rng, Number(bound)));
  const bits = bound.toString(2).length;
  const words = Math.ceil(bits / 32);
  const mask = (1n << BigInt(bits)) - 1n;
  for (;;) {
    let v = 0n;
    for (let i = 0; i < words; i++) v = (v << 32n) | BigInt(rng.nextUint32());
    v &= mask;
    if (v < bound) return v;
  }
}

/** Bernoulli(n/d), n ≤ d. */
function bernoulli(rng: RandomSource, n: bigint, d: bigint): boolean {
  return uniformBigInt(rng, d) < n;
}

/** Bernoulli(exp(−n/d)): CKS 2020 Algorithm 1. */
export function bernoulliExpNeg(rng: RandomSource, n: bigint, d: bigint): boolean {
  if (n < 0n || d <= 0n) throw new RangeError('bernoulliExpNeg: γ must be a non-negative rational');
  if (n <= d) {
    // γ ∈ [0, 1]: the first K with A_K = 0; P[K odd] = exp(−γ) (CKS 2020, Algorithm 1, first case).
    let k = 1n;
    while (bernoulli(rng, n, d * k)) k += 1n;
    return k % 2n === 1n;
  }
  // γ > 1: exp(−γ) = exp(−1)^⌊γ⌋ · exp(−(γ − ⌊γ⌋)) (Algorithm 1, second case).
  const whole = n / d;
  for (let i = 0n; i < whole; i++) if (!bernoulliExpNeg(rng, 1n, 1n)) return false;
  return bernoulliExpNeg(rng, n % d, d);
}

/** The discrete Laplace with integer scale t ≥ 1: P[Y = y] ∝ exp(−|y|/t) (CKS 2020 Algorithm 2, s = 1). */
export function discreteLaplace(rng: RandomSource, t: number): number {
  if (!Number.isInteger(t) || t < 1 || t > 2 ** 32) throw new RangeError(`discreteLaplace: scale must be an integer in [1, 2^32], got ${t}`);
  const tb = BigInt(t);
  for (;;) {
    const u = uniformInt(rng, t);
    if (!bernoulliExpNeg(rng, BigInt(u), tb)) continue;
    let v = 0;
    while (bernoulliExpNeg(rng, 1n, 1n)) v++;
    const x = u + t * v;
    const negative = bernoulli(rng, 1n, 2n);
    if (negative && x === 0) continue;
    return negative ? -x : x;
  }
}

/** ⌊√x⌋ for a non-negative BigInt (Newton's method on integers). */
export function isqrt(x: bigint): bigint {
  if (x < 0n) throw new RangeError('isqrt of a negative number');
  if (x < 2n) return x;
  let r = BigInt(Math.floor(Math.sqrt(Number(x))));
  // Correct the float estimate to the exact floor.
  while (r * r > x) r -= 1n;
  while ((r + 1n) * (r + 1n) <= x) r += 1n;
  return r;
}

/** A prepared sampler for N_Z(0, σ²), σ² = a/b. */
export interface DiscreteGaussianSampler {
  readonly variance: Rational;
  /** t = ⌊σ⌋ + 1, the discrete Laplace scale of the rejection step. */
  readonly laplaceScale: number;
  sample(rng: RandomSource): number;
}

export function discreteGaussianSampler(variance: number | Rational): DiscreteGaussianSampler {
  const { n: a, d: b } = typeof variance === 'number' ? rationalOf(variance) : variance;
  if (a <= 0n || b <= 0n) throw new TesseraError('TESSERA_ERR_DP_CONFIG', 'a discrete Gaussian needs a variance > 0');
  // t = ⌊σ⌋ + 1 with ⌊σ⌋ = ⌊√⌊a/b⌋⌋ (exact: ⌊√x⌋ = ⌊√⌊x⌋⌋ for x ≥ 0).
  const t = isqrt(a / b) + 1n;
  if (t > 2n ** 32n) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `discrete Gaussian σ ≥ 2^32 is not supported (σ² = ${a}/${b})`);
  const laplaceScale = Number(t);
  // Acceptance γ = (|Y| − σ²/t)²/(2σ²) = (|Y|·t·b − a)² / (2·a·b·t²) (CKS 2020 Algorithm 3, step 4).
  const denom = 2n * a * b * t * t;
  return {
    variance: { n: a, d: b },
    laplaceScale,
    sample(rng) {
      for (;;) {
        const y = discreteLaplace(rng, laplaceScale);
        const abs = BigInt(y < 0 ? -y : y);
        const diff = abs * t * b - a;
        if (bernoulliExpNeg(rng, diff * diff, denom)) return y;
      }
    },
  };
}

/** `length` independent N_Z(0, σ²) samples. */
export function discreteGaussianNoise(length: number, variance: number | Rational, rng: RandomSource): Float64Array {
  const sampler = discreteGaussianSampler(variance);
  const out = new Float64Array(length);
  for (let i = 0; i < length; i++) out[i] = sampler.sample(rng);
  return out;
}

/**
 * The exact pmf of N_Z(0, σ²) on [lo, hi] (for tests and the noise statistics): exp(−x²/(2σ²)) / Σ_z exp(−z²/(2σ²)),
 * the normaliser summed over |z| ≤ σ·40 (the rest is below 1e-300 of it).
 */
export function discreteGaussianPmf(sigma2: number, lo: number, hi: number): Float64Array {
  const reach = Math.ceil(40 * Math.sqrt(sigma2)) + 1;
  let norm = 0;
  for (let z = -reach; z <= reach; z++) norm += Math.exp(-(z * z) / (2 * sigma2));
  const out = new Float64Array(hi - lo + 1);
  for (let x = lo; x <= hi; x++) out[x - lo] = Math.exp(-(x * x) / (2 * sigma2)) / norm;
  return out;
}
