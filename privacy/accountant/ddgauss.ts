/**
 * Rényi-DP of the distributed discrete Gaussian (DDGauss): n′ surviving clients each add N_Z(0, σ_i²) to their
 * scaled, rotated and conditionally rounded update before the modular secure sum (Kairouz, Liu & Steinke, "The
 * Distributed Discrete Gaussian Mechanism for Federated Learning with Secure Aggregation", ICML 2021). Pure maths;
 * checked against the authors' accounting (google-research/federated, distributed_dp/accounting_utils.py) in
 * privacy/accountant/ddgauss.test.ts.
 *
 *  - Sensitivity after conditional randomised rounding (their Theorem 1 / Proposition 22, the bound the rounding
 *    loop enforces): a vector of norm ≤ c (in integer units) is rounded to one of squared norm at most
 *    c² + D/4 + √(2 ln(1/β))·(c + √D/2), and never above (c + √D)²; Δ₁ ≤ Δ₂·min(√D, Δ₂) since the coordinates are
 *    integers.
 *  - The sum of n′ independent N_Z(0, σ²) is close to N_Z(0, n′σ²) (their Theorem 1), with
 *    τ = 10·Σ_{k=1}^{n′−1} exp(−2π²σ²·k/(k + 1)).
 *  - Proposition 14 (Eq. 17): the mechanism is (α, ε(α))-RDP with
 *    ε(α) = min{ α·Δ₂²/(2n′σ²) + τD,  α/2·(Δ₂²/(n′σ²) + 2τΔ₁/(√n′σ) + τ²D),  α/2·(Δ₂/(√n′σ) + τ√D)² }.
 *  - Poisson subsampling at rate q: the general upper bound of Zhu & Wang, "Poisson Subsampled Rényi Differential
 *    Privacy", ICML 2019 (their Theorem 5, the general upper bound with the factor 3; integer α ≥ 2), taken with the
 *    unamplified ε(α) as a cap, exactly as the authors' code does (`upper_bound=True`). Their tighter Theorem 6 holds
 *    only for mechanisms meeting a condition shown for the Gaussian, not for the sum of discrete Gaussians, so
 *    DDGauss pays a looser subsampling bound than the continuous Gaussian's exact one (Mironov et al. 2019): at
 *    q = 0.1 about 1.28× the σ for the same ε (docs/privacy-accounting.md). Non-integer orders use ε(⌈α⌉): Rényi divergence is non-decreasing in its order (van Erven &
 *    Harremoës 2014, Theorem 3).
 */
import { TesseraError } from '../../protocol/errors.ts';

/** The per-round quantities Proposition 14 needs (all in the scaled, integer domain or as ratios to the noise). */
export interface DdgaussRdpParams {
  /** Δ₂/(√n′·σ): L2 sensitivity over the std of the summed noise. */
  readonly l2Scale: number;
  /** Δ₁/(√n′·σ). */
  readonly l1Scale: number;
  /** τ of Theorem 1 for n′ summed discrete Gaussians. */
  readonly tau: number;
  /** D: the padded dimension of the rotated vector. */
  readonly dim: number;
}

/** Conditional randomised rounding's L2 bound for a vector of norm ≤ c (integer units), dimension D, bias β ∈ [0, 1). */
export function roundedL2NormBound(c: number, beta: number, dim: number): number {
  if (!(c > 0) || !Number.isInteger(dim) || dim < 1 || !(beta >= 0 && beta < 1)) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `rounded norm bound needs c > 0, an integer dimension ≥ 1 and β ∈ [0, 1), got c = ${c}, D = ${dim}, β = ${beta}`);
  const always = c + Math.sqrt(dim);
  if (beta === 0) return always;
  const sq = c * c + 0.25 * dim + Math.sqrt(2 * Math.log(1 / beta)) * (c + 0.5 * Math.sqrt(dim));
  return Math.min(always, Math.sqrt(sq));
}

/** Δ₁ of an integer vector with L2 norm ≤ Δ₂ in dimension D. */
export function roundedL1NormBound(l2: number, dim: number): number {
  return l2 * Math.min(Math.sqrt(dim), l2);
}

/** τ of Kairouz et al. 2021 Theorem 1 for `survivors` summed N_Z(0, σ²), σ in integer units. */
export function ddgaussTau(survivors: number, sigmaInt: number): number {
  let tau = 0;
  for (let k = 1; k < survivors; k++) tau += Math.exp(-2 * (Math.PI * sigmaInt) ** 2 * (k / (k + 1)));
  return 10 * tau;
}

/** Proposition 14 (Eq. 17): the unamplified RDP at order α. */
export function ddgaussRdpAt(alpha: number, p: DdgaussRdpParams): number {
  const { l2Scale: l2, l1Scale: l1, tau, dim } = p;
  const t1 = (alpha / 2) * l2 * l2 + tau * dim;
  const t2 = (alpha / 2) * (l2 * l2 + 2 * l1 * tau + tau * tau * dim);
  const t3 = (alpha / 2) * (l2 + Math.sqrt(dim) * tau) ** 2;
  return Math.min(t1, t2, t3);
}

function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

/** log k! for k ≤ 1024 (the largest order), summed once: a table of a pure function, not state. */
const LOG_FACTORIAL = ((): Float64Array => {
  const t = new Float64Array(1025);
  for (let k = 1; k < t.length; k++) t[k] = (t[k - 1] as number) + Math.log(k);
  return t;
})();

function logComb(n: number, k: number): number {
  if (n >= LOG_FACTORIAL.length) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `RDP order ${n} is beyond the DDGauss accountant's range (≤ 1024)`);
  return (LOG_FACTORIAL[n] as number) - (LOG_FACTORIAL[k] as number) - (LOG_FACTORIAL[n - k] as number);
}

/**
 * Zhu & Wang 2019 Theorem 5 (general upper bound, Poisson subsampling at rate q, integer α ≥ 2):
 * ε_q(α) ≤ 1/(α−1)·log( (1−q)^{α−1}(αq − q + 1) + C(α,2)q²(1−q)^{α−2}e^{ε(2)} + 3·Σ_{l=3}^{α} C(α,l)(1−q)^{α−l}q^l e^{(l−1)ε(l)} ).
 */
export function subsampledRdp(alpha: number, q: number, eps: (order: number) => number): number {
  if (!Number.isInteger(alpha) || alpha < 2) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `the subsampled DDGauss bound needs an integer order ≥ 2, got ${alpha}`);
  if (!(q > 0 && q <= 1)) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `sampling rate must be in (0, 1], got ${q}`);
  if (q === 1) return eps(alpha);
  const lq = Math.log(q);
  const l1q = Math.log1p(-q);
  let acc = (alpha - 1) * l1q + Math.log(alpha * q - q + 1);
  acc = logAddExp(acc, logComb(alpha, 2) + 2 * lq + (alpha - 2) * l1q + eps(2));
  for (let l = 3; l <= alpha; l++) acc = logAddExp(acc, Math.log(3) + logComb(alpha, l) + (alpha - l) * l1q + l * lq + (l - 1) * eps(l));
  return Math.min(acc / (alpha - 1), eps(alpha));
}

/** One round's RDP at each order (q = 1: Proposition 14 itself). */
export function ddgaussRdp(q: number, p: DdgaussRdpParams, orders: readonly number[]): Float64Array {
  if (!(p.l2Scale >= 0 && p.l1Scale >= 0 && p.tau >= 0) || !Number.isInteger(p.dim) || p.dim < 1) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `invalid DDGauss parameters ${JSON.stringify(p)}`);
  const memo = new Map<number, number>();
  const eps = (a: number): number => {
    let v = memo.get(a);
    if (v === undefined) {
      v = ddgaussRdpAt(a, p);
      memo.set(a, v);
    }
    return v;
  };
  const out = new Float64Array(orders.length);
  for (let i = 0; i < orders.length; i++) {
    const a = Math.max(2, Math.ceil(orders[i] as number));
    out[i] = q === 1 ? eps(orders[i] as number) : subsampledRdp(a, q, eps);
  }
  return out;
}

export interface DdgaussRoundOptions {
  /** L2 clip norm C of an update (model units). */
  readonly clipNorm: number;
  /** γ: one integer step of the scaled vector, in model units. */
  readonly granularity: number;
  /** β of conditional randomised rounding. */
  readonly beta: number;
  /** Each client's discrete Gaussian std, in model units (σ_int = localStd/γ). */
  readonly localStd: number;
  /** n′: how many clients' noise is in the released sum. */
  readonly survivors: number;
  /** The padded dimension D. */
  readonly dim: number;
}

/** The RDP parameters of one round with n′ survivors (Δ from the rounding bound, τ from Theorem 1). */
export function ddgaussRoundParams(o: DdgaussRoundOptions): DdgaussRdpParams {
  if (!Number.isInteger(o.survivors) || o.survivors < 1) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `survivors must be an integer ≥ 1, got ${o.survivors}`);
  if (!(o.localStd > 0) || !(o.granularity > 0)) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', 'DDGauss needs a noise std > 0 and a granularity > 0');
  const scale = 1 / o.granularity;
  const l2Int = roundedL2NormBound(o.clipNorm * scale, o.beta, o.dim);
  const l1Int = roundedL1NormBound(l2Int, o.dim);
  const sigmaInt = o.localStd * scale;
  const central = Math.sqrt(o.survivors) * sigmaInt;
  return { l2Scale: l2Int / central, l1Scale: l1Int / central, tau: ddgaussTau(o.survivors, sigmaInt), dim: o.dim };
}

/** The integer orders the authors' accounting uses (2, …, 128 and 256): Zhu & Wang's bound needs integers. */
export const DDGAUSS_ORDERS: readonly number[] = Object.freeze([...Array.from({ length: 127 }, (_, k) => k + 2), 256]);
