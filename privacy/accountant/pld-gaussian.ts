/**
 * One round of the Poisson-subsampled Gaussian mechanism as a discrete, pessimistic privacy-loss distribution.
 *
 * Under add/remove-one neighbours with sensitivity 1 and noise multiplier σ, the worst-case pair of output
 * distributions of one round is M = (1 − q)·N(0, σ²) + q·N(1, σ²) against N(0, σ²) (Mironov, Talwar & Zhang
 * 2019, §3; Zhu, Dong & Wang 2022, "Optimal Accounting of Differential Privacy via Characteristic Function",
 * AISTATS, Prop. 6). The two directions are not symmetric when q < 1, so both are accounted:
 *   - 'remove': P = M, Q = N(0, σ²);    - 'add': P = N(0, σ²), Q = M;
 * and the ε reported is the larger of the two (as dp_accounting's PLD accountant does).
 *
 * Discretisation is "connect the dots" (Doroshenko, Ghazi, Kamath, Kumar & Manurangsi 2022, "Connect the Dots:
 * Tighter Discrete Approximations of Privacy Loss Distributions", PoPETs, Alg. 1 and Thm. 3.4): the hockey-stick
 * curve δ(ε) = E_P[(1 − e^{ε−L})₊] is evaluated exactly at grid points ℓ_i = i·h; as a function of x = e^ε it is
 * convex, so the piecewise-linear interpolation through the exact points lies above it, and the discrete PLD
 * whose curve IS that interpolation (masses μ_i = x_i·(s_i − s_{i−1}), s_i the slopes) dominates the true pair.
 * Below the first grid point the discrete curve is the chord to (0, 1), again above the convex true curve; above
 * the last it is the constant δ(ℓ_K), put as mass at +∞. Domination is preserved by composition (Dong, Roth &
 * Su 2022, "Gaussian Differential Privacy", JRSS-B, Lemma on trade-off functions), so the composed ε is never
 * below the true ε of the mechanism.
 */
import { TesseraError } from '../../protocol/errors.ts';
import { logAddExp, logNormalCdf } from './special.ts';

/** One round's grid may hold at most this many points (σ ≳ 0.08 at h = 1e-4); compositions stay within memory. */
export const MAX_GRID_POINTS = 2 ** 21;

export type PldDirection = 'remove' | 'add';

/** Φ(t), the standard normal CDF, accurate in both tails. */
const normCdf = (t: number): number => Math.exp(logNormalCdf(t));
/** Φ̄(t) = 1 − Φ(t) = Φ(−t). */
const normSf = (t: number): number => Math.exp(logNormalCdf(-t));

/** t with Φ(t) = p for tiny p (bisection on log Φ; only used to place the grid's ends). */
function normalQuantileLow(p: number): number {
  let lo = -40;
  let hi = 0;
  const target = Math.log(p);
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (logNormalCdf(mid) > target) hi = mid;
    else lo = mid;
  }
  return lo;
}

/**
 * The exact hockey-stick divergence δ(ε) = sup_A P(A) − e^ε Q(A) of one round's pair. The set A = {L > ε} is an
 * interval in the output y, whose end solves L(y) = ε in closed form.
 */
export function subsampledGaussianHockeyStick(direction: PldDirection, q: number, sigma: number, epsilon: number): number {
  const s2 = sigma * sigma;
  if (direction === 'remove') {
    // L(y) = log(1 − q + q·e^{(2y − 1)/(2σ²)}) > log(1 − q) everywhere: below that every output counts.
    if (q < 1 && epsilon <= Math.log1p(-q)) return -Math.expm1(epsilon);
    const c = Math.expm1(epsilon) + q; // e^ε − (1 − q) > 0
    const yStar = s2 * Math.log(c / q) + 0.5;
    const d = q * normSf((yStar - 1) / sigma) - c * normSf(yStar / sigma);
    return Math.max(0, d);
  }
  // 'add': L(y) = −log(1 − q + q·e^{(2y − 1)/(2σ²)}) < −log(1 − q): no output has a larger loss.
  if (q < 1 && epsilon >= -Math.log1p(-q)) return 0;
  const c = Math.expm1(-epsilon) + q; // e^{−ε} − (1 − q) > 0
  const yStar = s2 * Math.log(c / q) + 0.5; // L(y) > ε ⇔ y < y*
  const d = Math.exp(epsilon) * (c * normCdf(yStar / sigma) - q * normCdf((yStar - 1) / sigma));
  return Math.max(0, d);
}

export interface DiscretePld {
  /** Probability mass at loss (offset + i)·h, i = 0 … mass.length − 1. */
  readonly mass: Float64Array;
  readonly offset: number;
  readonly h: number;
  /** Mass at loss +∞ (counted in full against δ): the curve's tail above the grid, plus rounding-error bounds. */
  readonly infinity: number;
}

export interface PldGridOptions {
  /** Loss grid spacing h (dp_accounting's PLD accountant default: 1e-4). */
  readonly h: number;
  /** Mass allowed outside the grid at each end (the upper end's goes to +∞, the lower end's into the chord). */
  readonly tailMass: number;
}

// 8-point Gauss–Legendre nodes and weights on [−1, 1] (Abramowitz & Stegun, Table 25.4).
const GL_X = [0.1834346424956498, 0.525532409916329, 0.7966664774136267, 0.9602898564975363];
const GL_W = [0.362683783378362, 0.3137066458778873, 0.2223810344533745, 0.1012285362903763];

function gaussLegendre(f: (y: number) => number, a: number, b: number): number {
  const mid = (a + b) / 2;
  const half = (b - a) / 2;
  let s = 0;
  for (let k = 0; k < 4; k++) {
    const dx = half * (GL_X[k] as number);
    s += (GL_W[k] as number) * (f(mid - dx) + f(mid + dx));
  }
  return s * half;
}

/** P(a < Y ≤ b) for Y ~ N(μ, σ²), each tail by its own accurate function. */
function normalInterval(a: number, b: number, mu: number, sigma: number): number {
  const za = (a - mu) / sigma;
  const zb = (b - mu) / sigma;
  if (zb <= 0) return Math.max(0, normCdf(zb) - normCdf(za));
  if (za >= 0) return Math.max(0, normSf(za) - normSf(zb));
  return Math.max(0, 1 - normCdf(za) - normSf(zb));
}

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * One round's discrete PLD by connect-the-dots on the grid h·ℤ, built interval by interval: the P-mass whose loss
 * lies in (ℓ_i, ℓ_{i+1}) is split between the two ends so that both its P-mass and its Q-mass are kept (the
 * split that makes the hockey-stick curve the chord between the ends — Doroshenko et al. 2022, §3). The split
 * needs D = e^{−ℓ_i}·ΔP − ΔQ = ∫ q(y)·(e^{L(y) − ℓ_i} − 1) dy, a small difference of nearly equal masses; it is
 * integrated directly (8-point Gauss–Legendre over the interval's outputs y, to full relative precision) instead
 * of being differenced from δ values, which would lose eight digits at h = 1e-4 and make the rounding residue of
 * one round comparable to δ after a few hundred rounds. P-mass below the grid is moved up to its first point,
 * P-mass above it to +∞ — both only raise δ(ε).
 */
export function subsampledGaussianPld(direction: PldDirection, q: number, sigma: number, { h, tailMass }: PldGridOptions): DiscretePld {
  const s2 = sigma * sigma;
  const z = normalQuantileLow(tailMass);
  const remove = direction === 'remove';
  // Densities of the mechanism's two outputs, and L(y) = log p(y)/q(y).
  const logN0 = (y: number): number => -(y * y) / (2 * s2) - Math.log(sigma) - LOG_SQRT_2PI;
  const mixtureLoss = (y: number): number => logAddExp(Math.log1p(-q), Math.log(q) + (2 * y - 1) / (2 * s2));
  const loss = (y: number): number => (remove ? mixtureLoss(y) : -mixtureLoss(y));
  // The Q-density: N(0, σ²) for 'remove', the mixture for 'add' (whose log is log N0 + mixtureLoss).
  const logQ = (y: number): number => (remove ? logN0(y) : logN0(y) + mixtureLoss(y));
  const massP = (a: number, b: number): number =>
    remove ? (1 - q) * normalInterval(a, b, 0, sigma) + q * normalInterval(a, b, 1, sigma) : normalInterval(a, b, 0, sigma);
  const massQ = (a: number, b: number): number =>
    remove ? normalInterval(a, b, 0, sigma) : (1 - q) * normalInterval(a, b, 0, sigma) + q * normalInterval(a, b, 1, sigma);
  // y with L(y) = ℓ: e^{±ℓ} = 1 − q + q·e^{(2y − 1)/(2σ²)}; ±∞ where no output has that loss.
  const yOfLoss = (l: number): number => {
    const c = Math.expm1(remove ? l : -l) + q;
    return c <= 0 ? -Infinity : s2 * Math.log(c / q) + 0.5;
  };
  // The y-interval of outputs whose loss lies in (lo, hi].
  const outputs = (lo: number, hi: number): [number, number] => (remove ? [yOfLoss(lo), yOfLoss(hi)] : [yOfLoss(hi), yOfLoss(lo)]);

  let lo: number;
  let hi: number;
  if (remove) {
    lo = Math.max(Math.log1p(-q), loss(sigma * z));
    hi = loss(1 - sigma * z);
  } else {
    lo = loss(-sigma * z + 1);
    hi = Math.min(-Math.log1p(-q), loss(sigma * z));
  }
  const i0 = Math.floor(lo / h);
  const k = Math.max(1, Math.ceil(hi / h) - i0);
  if (k > MAX_GRID_POINTS) {
    throw new TesseraError(
      'TESSERA_ERR_ACCOUNTANT',
      `noise multiplier ${sigma} is too small for the PLD accountant: one round's losses span ${(k * h).toFixed(1)} nats, ${k} grid points at h = ${h} (limit ${MAX_GRID_POINTS}); use the RDP accountant, which gives a (looser) finite ε here`,
      { details: { noiseMultiplier: sigma, samplingRate: q, gridPoints: k } },
    );
  }
  const mass = new Float64Array(k + 1);
  const shareDenominator = -Math.expm1(-h); // e^{−ℓ_i} − e^{−ℓ_{i+1}} = e^{−ℓ_i}·(1 − e^{−h})
  for (let i = 0; i < k; i++) {
    const li = (i0 + i) * h;
    const [a, b] = outputs(li, li + h);
    if (!(b > a)) continue;
    let dP: number;
    let d: number;
    if (Number.isFinite(a) && Number.isFinite(b) && b - a <= 0.05 * sigma) {
      dP = gaussLegendre((y) => Math.exp(logQ(y) + loss(y)), a, b);
      d = gaussLegendre((y) => Math.exp(logQ(y)) * Math.expm1(loss(y) - li), a, b);
    } else {
      // A wide interval (the loss is flat in y there): closed-form masses are well conditioned.
      dP = massP(a, b);
      d = Math.exp(-li) * dP - massQ(a, b);
    }
    const up = Math.min(dP, Math.max(0, (d * Math.exp(li)) / shareDenominator));
    mass[i + 1] = (mass[i + 1] as number) + up;
    mass[i] = (mass[i] as number) + (dP - up);
  }
  // Tails: below the grid moved up to ℓ_0, above it to +∞.
  const [belowA, belowB] = outputs(-Infinity, i0 * h);
  const [aboveA, aboveB] = outputs((i0 + k) * h, Infinity);
  mass[0] = (mass[0] as number) + (belowB > belowA ? massP(belowA, belowB) : 0);
  const infinity = aboveB > aboveA ? massP(aboveA, aboveB) : 0;
  return { mass, offset: i0, h, infinity };
}
