/**
 * An independent privacy-loss-distribution (PLD) accountant for the tests of issue 11 — a second method, apart from
 * the RDP accountant the ledger uses. For a pair of output distributions (P, Q) of one round it builds the
 * distribution of the privacy loss L = log(P(o)/Q(o)) under o ~ P, discretised on a grid of width h, composes T
 * rounds by convolution (FFT; losses of independent rounds add), and reads δ(ε) = E_P[(1 − e^{ε − L})₊], the
 * hockey-stick divergence (Koskela, Jälkö & Honkela 2020, "Computing Tight Differential Privacy Guarantees Using
 * FFT", AISTATS; Meiser & Mohammadi 2018 for the discretisation):
 *  - pessimistic: each loss rounded UP to the grid and mass P cannot place (tails, Q = 0) counted as L = ∞ —
 *    an upper bound on δ(ε), so the ε it gives is ≥ the true ε;
 *  - optimistic: each loss rounded DOWN and the tails dropped — a lower bound on δ(ε), so its ε is ≤ the true ε.
 * The per-round pairs here are Gaussian mixtures (plus an optional atom ⊥, "the round aborted"), integrated on a
 * fine y-grid by the midpoint rule with each cell's loss bounded by its endpoints (the loss is monotone in y).
 */
import { fft } from '../../privacy/accountant/fft.ts';

export interface RoundPair {
  /** P(⊥) and Q(⊥): the round releases nothing (0 when it always releases). */
  readonly abortP: number;
  readonly abortQ: number;
  /** Given a release, P is (1 − pIn)·N(0, σ²) + pIn·N(1, σ²), Q likewise with qIn (sensitivity 1). */
  readonly pIn: number;
  readonly qIn: number;
  readonly sigma: number;
  /**
   * Std of Q's components when it differs from P's (default `sigma`): e.g. add/remove neighbours under distributed
   * noise, where the neighbour without the organisation also lacks its noise share. The loss is then quadratic
   * in y and convex where σ_P > σ_Q, so a cell's maximum still lies at an endpoint (pessimistic stays an upper
   * bound); the optimistic bound may miss an interior minimum in the one cell holding the vertex.
   */
  readonly sigmaQ?: number;
}

type Bound = 'pessimistic' | 'optimistic';

const normPdf = (x: number, s: number): number => Math.exp(-(x * x) / (2 * s * s)) / (s * Math.sqrt(2 * Math.PI));

/** One round's loss distribution on the grid: mass[i] at loss (i + offset)·h, plus the mass at +∞. */
function roundLoss(pair: RoundPair, h: number, bound: Bound): { mass: Float64Array; offset: number; infinite: number } {
  const { sigma: s } = pair;
  const sQ = pair.sigmaQ ?? s;
  const densWith = (sd: number) => (y: number, inc: number): number => (1 - inc) * normPdf(y, sd) + inc * normPdf(y - 1, sd);
  const dens = densWith(s);
  const densQ = densWith(sQ);
  const lo = -14 * Math.max(s, sQ);
  const hi = 1 + 14 * Math.max(s, sQ);
  const cells = 40_000;
  const dy = (hi - lo) / cells;
  const atoms: Array<[number, number]> = [];
  let infinite = 0;
  if (pair.abortP > 0) {
    if (pair.abortQ === 0) infinite += pair.abortP;
    else atoms.push([Math.log(pair.abortP / pair.abortQ), pair.abortP]);
  }
  const keepP = 1 - pair.abortP;
  const keepQ = 1 - pair.abortQ;
  const loss = (y: number): number => Math.log((keepP * dens(y, pair.pIn)) / (keepQ * densQ(y, pair.qIn)));
  let covered = 0;
  for (let c = 0; c < cells; c++) {
    const a = lo + c * dy;
    const mP = keepP * dens(a + dy / 2, pair.pIn) * dy;
    covered += mP;
    const la = loss(a);
    const lb = loss(a + dy);
    atoms.push([bound === 'pessimistic' ? Math.max(la, lb) : Math.min(la, lb), mP]);
  }
  // Midpoint-rule and tail error: P-mass not placed goes to +∞ (pessimistic) or is dropped (optimistic).
  const missing = Math.max(0, keepP - covered);
  if (bound === 'pessimistic') infinite += missing + 1e-12;
  let min = Infinity;
  let max = -Infinity;
  for (const [l] of atoms) {
    min = Math.min(min, l);
    max = Math.max(max, l);
  }
  const offset = Math.floor(min / h) - 1;
  const mass = new Float64Array(Math.ceil(max / h) - offset + 2);
  for (const [l, m] of atoms) {
    const i = (bound === 'pessimistic' ? Math.ceil(l / h) : Math.floor(l / h)) - offset;
    mass[i] = (mass[i] as number) + m;
  }
  return { mass, offset, infinite };
}


/** δ(ε) after T independent rounds of `pair`, bounded from above (pessimistic) or below (optimistic). */
export function composedDelta(pair: RoundPair, rounds: number, bound: Bound, h = 2e-3): (epsilon: number) => number {
  const one = roundLoss(pair, h, bound);
  const span = one.mass.length * rounds;
  let n = 1;
  while (n < span) n <<= 1;
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  re.set(one.mass);
  fft(re, im, false);
  // The T-fold convolution is the T-th power of the transform (polar form).
  for (let i = 0; i < n; i++) {
    const r = Math.hypot(re[i] as number, im[i] as number) ** rounds;
    const t = Math.atan2(im[i] as number, re[i] as number) * rounds;
    re[i] = r * Math.cos(t);
    im[i] = r * Math.sin(t);
  }
  fft(re, im, true);
  const offset = one.offset * rounds;
  // Mass at +∞ after T rounds: 1 − P(no round hit ∞).
  const infinite = 1 - (1 - one.infinite) ** rounds;
  return (epsilon) => {
    let d = infinite;
    for (let i = 0; i < span; i++) {
      const l = (i + offset) * h;
      if (l <= epsilon) continue;
      const m = (re[i] as number) / n;
      if (m > 0) d += m * -Math.expm1(epsilon - l);
    }
    return bound === 'pessimistic' ? d + 1e-12 : Math.max(0, d - 1e-12);
  };
}

/** Smallest ε (to 1e-3) with δ(ε) ≤ target, by bisection (δ(ε) is non-increasing). */
export function epsilonAt(delta: (epsilon: number) => number, target: number): number {
  let lo = 0;
  let hi = 1;
  while (delta(hi) > target) {
    lo = hi;
    hi *= 2;
    if (hi > 1e3) return Infinity;
  }
  while (hi - lo > 1e-3) {
    const mid = (lo + hi) / 2;
    if (delta(mid) > target) lo = mid;
    else hi = mid;
  }
  return hi;
}
