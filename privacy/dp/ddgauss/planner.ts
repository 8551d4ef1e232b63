/**
 * The DDGauss planner: from (ε, δ, q, rounds, C, d, m, n, bits) to the job spec's `dp.noiseMultiplier` and
 * `dp.ddgauss` (granularity γ, β), following the authors' procedure (Kairouz, Liu & Steinke, ICML 2021, §4.4 and
 * Eq. 61; google-research/federated distributed_dp/accounting_utils.py `ddgauss_params`):
 *  - for a grid step γ, the local std σ_local is the smallest whose ε after the job's rounds (RDP, Proposition 14,
 *    m survivors — the fewest a released sum may hold; privacy/accountant/ddgauss.ts) meets the target;
 *  - γ is the finest step at which the summed integers stay inside the modulus except with the target probability:
 *    each rotated coordinate of the sum is subgaussian with variance proxy ρ·(nC)²/D + n·(γ²/4 + σ_local²) (ρ = 1
 *    for the randomised Hadamard rotation, Lemma 29; nC bounds the norm of n clipped updates, γ²/4 the rounding
 *    error, σ_local² the noise), so it leaves [−2^(b−1), 2^(b−1)) with probability ≤ 2·exp(−k²/2) when
 *    2^b ≥ 2k·√(…)/γ; a union bound over the D coordinates sets k = √(2 ln(2D/p)) for a per-round bound p;
 *  - β ∈ {0, e^−2, e^−1, e^−1/2} is taken where σ comes out smallest (β only moves the sensitivity bound).
 * A wrap is post-processing (it costs accuracy, never privacy), so p is a utility target.
 */
import { TesseraError } from '../../../protocol/errors.ts';
import { DDGAUSS_ORDERS, ddgaussRdp, ddgaussRoundParams } from '../../accountant/ddgauss.ts';
import { rdpToEpsilon, type Conversion } from '../../accountant/conversion.ts';
import { paddedDimension } from './rotation.ts';

export interface DdgaussPlanInput {
  readonly epsilon: number;
  /** δ at which ε is converted (the accounted δ, after the short-round reserve). */
  readonly delta: number;
  readonly samplingRate: number;
  readonly rounds: number;
  readonly clipNorm: number;
  /** d: the model's parameter count (padded to D = 2^⌈log2 d⌉). */
  readonly dimension: number;
  /** m: the fewest clients whose noise is in a released sum (the noise split and the accounting). */
  readonly minSurvivors: number;
  /** n: the most clients in one sum (the modulus must hold their sum); default m. */
  readonly clients?: number;
  /** b (default 32, the secure-aggregation word). */
  readonly bits?: number;
  /** Per-round probability that any coordinate of the sum wraps (default 1e-6). */
  readonly overflowProbability?: number;
  /** Fix β instead of choosing it. */
  readonly beta?: number;
  readonly conversion?: Conversion;
}

export interface DdgaussPlan {
  readonly bits: number;
  readonly granularity: number;
  readonly beta: number;
  /** σ_local in model units, and σ = σ_local·√m/C, the spec's dp.noiseMultiplier. */
  readonly localStd: number;
  readonly noiseMultiplier: number;
  readonly epsilon: number;
  readonly order: number | null;
  readonly paddedDimension: number;
  /** k of the modular range and the overflow bound it gives. */
  readonly kStddevs: number;
  readonly overflowProbability: number;
  /** Δ₂ after rounding over C: how much conditional rounding inflated the sensitivity. */
  readonly sensitivityInflation: number;
  readonly tau: number;
}

/** ε of a whole DDGauss job (all rounds with `survivors` clients' noise). */
export function ddgaussJobEpsilon(o: { samplingRate: number; rounds: number; delta: number; clipNorm: number; granularity: number; beta: number; localStd: number; survivors: number; dimension: number; conversion?: Conversion }): { epsilon: number; order: number } {
  const p = ddgaussRoundParams({ clipNorm: o.clipNorm, granularity: o.granularity, beta: o.beta, localStd: o.localStd, survivors: o.survivors, dim: paddedDimension(o.dimension) });
  const one = ddgaussRdp(o.samplingRate, p, DDGAUSS_ORDERS);
  const total = one.map((v) => v * o.rounds);
  return rdpToEpsilon({ orders: DDGAUSS_ORDERS, rdp: total, delta: o.delta, conversion: o.conversion ?? 'improved' });
}

/** Smallest σ_local (to 1e-6 relative, from above) with ε ≤ target at grid step γ. */
function localStdFor(input: DdgaussPlanInput, granularity: number, beta: number): number {
  const eps = (s: number): number => ddgaussJobEpsilon({ ...input, granularity, beta, localStd: s, survivors: input.minSurvivors }).epsilon;
  let hi = input.clipNorm;
  while (eps(hi) > input.epsilon) {
    hi *= 2;
    if (hi > 1e6 * input.clipNorm) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `no DDGauss noise reaches ε = ${input.epsilon} at γ = ${granularity}: the rounding inflates the sensitivity too much (use more bits)`);
  }
  let lo = hi / 2;
  while (lo > 1e-9 * input.clipNorm && eps(lo) <= input.epsilon) lo /= 2;
  while ((hi - lo) / hi > 1e-6) {
    const mid = (lo + hi) / 2;
    if (eps(mid) <= input.epsilon) hi = mid;
    else lo = mid;
  }
  return hi;
}

export function planDdgauss(input: DdgaussPlanInput): DdgaussPlan {
  const bits = input.bits ?? 32;
  const p = input.overflowProbability ?? 1e-6;
  const n = input.clients ?? input.minSurvivors;
  const { clipNorm: c, minSurvivors: m } = input;
  if (!Number.isInteger(bits) || bits < 2 || bits > 32) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `bits must be an integer in [2, 32], got ${bits}`);
  if (!(p > 0 && p < 1)) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `overflow probability must be in (0, 1), got ${p}`);
  if (!Number.isInteger(m) || m < 1 || !Number.isInteger(n) || n < m) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `need integers 1 ≤ minSurvivors ≤ clients, got m = ${m}, n = ${n}`);
  const dim = paddedDimension(input.dimension);
  const k = Math.sqrt(2 * Math.log((2 * dim) / p));
  const betas = input.beta === undefined ? [Math.exp(-0.5), Math.exp(-1), Math.exp(-2), 0] : [input.beta];
  let best: DdgaussPlan | undefined;
  for (const beta of betas) {
    // The k-std range of the summed coordinate, in integer units, must fit in 2^b: fits(γ) is monotone in γ
    // (coarser steps shrink the integers), so bisection on log γ finds the finest step that fits.
    const fits = (g: number): { ok: boolean; s: number } => {
      const s = localStdFor(input, g, beta);
      const range = (2 * k * Math.sqrt((c * c * n * n) / dim + n * (g * g / 4 + s * s))) / g;
      return { ok: range <= 2 ** bits, s };
    };
    let hi = c;
    while (!fits(hi).ok) {
      hi *= 2;
      if (hi > 1e3 * c) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `${bits} bits cannot hold the sum of ${n} clients at k = ${k.toFixed(2)} standard deviations; use more bits`);
    }
    let lo = hi;
    while (fits(lo).ok && lo > 1e-12 * c) lo /= 2;
    for (let i = 0; i < 40 && (hi - lo) / hi > 1e-4; i++) {
      const mid = Math.sqrt(lo * hi);
      if (fits(mid).ok) hi = mid;
      else lo = mid;
    }
    const granularity = Number(hi.toPrecision(6)) > hi ? Number(hi.toPrecision(6)) : Number((hi * (1 + 1e-5)).toPrecision(6));
    const localStd0 = localStdFor(input, granularity, beta);
    // σ rounded UP to 6 digits for the spec; the spec's σ gives back at least σ_local (the job's ε is re-evaluated below).
    const noiseMultiplier = ceilDigits((localStd0 * Math.sqrt(m)) / c, 6);
    const localStd = (noiseMultiplier * c) / Math.sqrt(m);
    const e = ddgaussJobEpsilon({ ...input, granularity, beta, localStd, survivors: m });
    const rp = ddgaussRoundParams({ clipNorm: c, granularity, beta, localStd, survivors: m, dim });
    const range = (2 * k * Math.sqrt((c * c * n * n) / dim + n * (granularity ** 2 / 4 + localStd ** 2))) / granularity;
    const kAt = (k * 2 ** bits) / range;
    const plan: DdgaussPlan = {
      bits,
      granularity,
      beta,
      localStd,
      noiseMultiplier,
      epsilon: e.epsilon,
      order: e.order,
      paddedDimension: dim,
      kStddevs: kAt,
      overflowProbability: Math.min(1, 2 * dim * Math.exp(-(kAt * kAt) / 2)),
      sensitivityInflation: (rp.l2Scale * Math.sqrt(m) * localStd) / c,
      tau: rp.tau,
    };
    if (best === undefined || plan.noiseMultiplier < best.noiseMultiplier) best = plan;
  }
  if (best === undefined) throw new TesseraError('TESSERA_ERR_INTERNAL', 'DDGauss planner found no plan');
  return best;
}

function ceilDigits(x: number, digits: number): number {
  const r = Number(x.toPrecision(digits));
  return r >= x ? r : Number((x * (1 + 10 ** -(digits - 1))).toPrecision(digits));
}
