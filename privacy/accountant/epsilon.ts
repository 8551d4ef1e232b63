/**
 * The accountant's front door: ε after some rounds of the Poisson-subsampled Gaussian mechanism, at a given δ.
 * RDP composes by addition over rounds (Mironov 2017, Prop. 1), so rounds with different (q, σ) are grouped
 * and summed before one conversion to (ε, δ). With q = 1 in every round the analytic Gaussian mechanism
 * (Balle & Wang 2018) may be asked for instead: it is exact for that case. The privacy-loss-distribution
 * accountant (pld.ts) composes the exact loss distributions instead of RDP bounds and is tighter for every q;
 * it is never below the true ε, and costs seconds where RDP costs microseconds.
 */
import { TesseraError } from '../../protocol/errors.ts';
import { analyticGaussianEpsilon, composedGaussianSigma } from './analytic-gaussian.ts';
import type { Conversion } from './conversion.ts';
import { epsilonAtOrder, rdpToEpsilon } from './conversion.ts';
import type { PldOptions } from './pld.ts';
import { pldEpsilonForRounds } from './pld.ts';
import { DEFAULT_ORDERS, EXTENDED_ORDERS, computeRdp, rdpSubsampledGaussian } from './rdp.ts';
import { DDGAUSS_ORDERS, ddgaussRdp, type DdgaussRdpParams } from './ddgauss.ts';

export type Accountant = 'rdp' | 'analytic_gaussian' | 'pld';

export interface AccountingOptions {
  delta: number;
  /** RDP → (ε, δ) conversion; ignored by the analytic Gaussian. Default 'improved'. */
  conversion?: Conversion;
  /** Default 'rdp'. 'analytic_gaussian' requires q = 1 in every round. */
  accountant?: Accountant;
  /** The PLD accountant's grid and truncation (default: h = 1e-4, tail 1e-15 per step). */
  pld?: PldOptions;
  orders?: readonly number[];
}

export interface EpsilonResult {
  epsilon: number;
  /** Optimal RDP order; null for the analytic Gaussian and the PLD accountant. */
  order: number | null;
  delta: number;
  accountant: Accountant;
  /** How ε was read: an RDP conversion, exactly (analytic Gaussian), or off the composed loss distribution. */
  conversion: Conversion | 'exact' | 'pld';
}

/** One group of identical rounds. */
export interface RoundGroup {
  samplingRate: number;
  noiseMultiplier: number;
  /** Number of rounds with these parameters (default 1). */
  steps?: number;
  /**
   * Present for rounds of the distributed discrete Gaussian (ddgauss.ts): the round's RDP is Kairouz et al. 2021
   * Proposition 14 with these parameters (subsampled by Zhu & Wang 2019), and `noiseMultiplier` is informational
   * (1/l2Scale). Only the RDP accountant composes them.
   */
  ddgauss?: DdgaussRdpParams;
}

// Per-step RDP vectors for the default orders, memoised by (q, σ): the ledger asks again every round.
const memo = new Map<string, Float64Array>();
const MEMO_LIMIT = 256;

function remember(key: string, rdp: Float64Array): Float64Array {
  if (memo.size >= MEMO_LIMIT) memo.delete(memo.keys().next().value as string);
  memo.set(key, rdp);
  return rdp;
}

function stepRdp(q: number, sigma: number, orders: readonly number[]): Float64Array {
  if (orders !== DEFAULT_ORDERS) return computeRdp({ q, sigma, steps: 1, orders });
  const key = `d|${q}|${sigma}`;
  return memo.get(key) ?? remember(key, computeRdp({ q, sigma, steps: 1, orders }));
}

/** One step's RDP at EXTENDED_ORDERS[i], computed on first use (NaN marks an order not computed yet). */
function stepRdpExtended(q: number, sigma: number, i: number): number {
  const key = `x|${q}|${sigma}`;
  const row = memo.get(key) ?? remember(key, new Float64Array(EXTENDED_ORDERS.length).fill(NaN));
  if (Number.isNaN(row[i])) row[i] = rdpSubsampledGaussian(q, sigma, EXTENDED_ORDERS[i] as number);
  return row[i] as number;
}

/** ε after the given rounds (composition in RDP, or exact Gaussian composition for the analytic accountant). */
export function epsilonForRounds(rounds: readonly RoundGroup[], options: AccountingOptions): EpsilonResult {
  const { delta, conversion = 'improved', accountant = 'rdp', orders = DEFAULT_ORDERS } = options;
  for (const r of rounds) {
    const steps = r.steps ?? 1;
    if (!Number.isInteger(steps) || steps < 0) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `steps must be an integer ≥ 0, got ${steps}`);
  }
  const discrete = rounds.some((r) => r.ddgauss !== undefined && (r.steps ?? 1) > 0);
  if (discrete) {
    // The DDGauss bounds are RDP bounds (Proposition 14): neither the PLD nor the analytic Gaussian applies to them.
    if (accountant !== 'rdp') throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `distributed discrete Gaussian rounds are accounted in RDP only, not with the ${accountant} accountant`);
    const best = rdpEpsilon(rounds, DDGAUSS_ORDERS, delta, conversion);
    return { epsilon: best.epsilon, order: best.order, delta, accountant, conversion };
  }
  if (accountant === 'pld') {
    const epsilon = pldEpsilonForRounds(
      rounds.map((r) => ({ samplingRate: r.samplingRate, noiseMultiplier: r.noiseMultiplier, steps: r.steps ?? 1 })),
      delta,
      options.pld,
    );
    return { epsilon, order: null, delta, accountant, conversion: 'pld' };
  }
  if (accountant === 'analytic_gaussian') {
    const sigmas: number[] = [];
    for (const r of rounds) {
      if (r.samplingRate !== 1 && (r.steps ?? 1) > 0) {
        throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `the analytic Gaussian accountant needs sampling rate 1, got ${r.samplingRate}`);
      }
      for (let i = 0; i < (r.steps ?? 1); i++) sigmas.push(r.noiseMultiplier);
    }
    const sigma = composedGaussianSigma(sigmas);
    const epsilon = sigmas.length === 0 ? 0 : analyticGaussianEpsilon({ sigma, delta });
    return { epsilon, order: null, delta, accountant, conversion: 'exact' };
  }
  const best = rdpEpsilon(rounds, orders, delta, conversion);
  // The optimum at the largest default order means the grid stopped too early (very large σ): look further.
  if (orders === DEFAULT_ORDERS && best.order === orders[orders.length - 1] && Number.isFinite(best.epsilon) && best.epsilon > 0) {
    const further = extendedEpsilon(rounds, delta, conversion, best.epsilon);
    if (further !== null) return { epsilon: further.epsilon, order: further.order, delta, accountant, conversion };
  }
  return { epsilon: best.epsilon, order: best.order, delta, accountant, conversion };
}

function rdpEpsilon(rounds: readonly RoundGroup[], orders: readonly number[], delta: number, conversion: Conversion): { epsilon: number; order: number } {
  const total = new Float64Array(orders.length);
  for (const r of rounds) {
    const steps = r.steps ?? 1;
    if (steps === 0) continue;
    const one = r.ddgauss ? ddgaussRdp(r.samplingRate, r.ddgauss, orders) : stepRdp(r.samplingRate, r.noiseMultiplier, orders);
    for (let i = 0; i < total.length; i++) total[i] = (total[i] as number) + (one[i] as number) * steps;
  }
  return rdpToEpsilon({ orders, rdp: total, delta, conversion });
}

/**
 * The minimum over EXTENDED_ORDERS when it is below `below` (the default grid's ε), else null: the same answer,
 * order included, as rdpToEpsilon over every extended order, without computing the orders that cannot win.
 * The largest orders are the costly ones (the integer series has α terms: 2^20 at the top) and, past the optimum,
 * they cannot win: the RDP of the subsampled Gaussian at order α is the Rényi divergence D_α(μ‖μ0) (rdp.ts), which
 * is non-decreasing in α (van Erven & Harremoës 2014, "Rényi Divergence and Kullback–Leibler Divergence", IEEE
 * Trans. Inf. Theory, Thm. 3), and composition adds such values, so the total R at the last order computed is a
 * lower bound on the total at every larger order. A larger RDP never gives a smaller positive bound at a fixed
 * order (epsilonAtOrder), so an order whose bound from R is already at or above the best so far is skipped; the
 * orders go up, so a skipped order could at best have tied, and a tie keeps the earlier order as rdpToEpsilon does.
 * The relative margin keeps rounding in R (about 1e-12 relative, rdp.ts) from skipping a true winner.
 */
function extendedEpsilon(rounds: readonly RoundGroup[], delta: number, conversion: Conversion, below: number): { epsilon: number; order: number } | null {
  const MARGIN = 1e-9;
  let best = below;
  let bestOrder: number | null = null;
  let floor = 0;
  EXTENDED_ORDERS.forEach((order, i) => {
    if (best > 0 && epsilonAtOrder(order, floor, delta, conversion) >= best * (1 + MARGIN)) return;
    let total = 0;
    for (const r of rounds) {
      const steps = r.steps ?? 1;
      if (steps > 0) total += stepRdpExtended(r.samplingRate, r.noiseMultiplier, i) * steps;
    }
    floor = total;
    const e = epsilonAtOrder(order, total, delta, conversion);
    if (e < best) {
      best = e;
      bestOrder = order;
    }
  });
  return bestOrder === null ? null : { epsilon: Math.max(0, best), order: bestOrder };
}

export interface EpsilonForOptions extends AccountingOptions {
  samplingRate: number;
  noiseMultiplier: number;
  steps: number;
}

/** ε after `steps` identical rounds with Poisson rate q and noise multiplier σ. */
export function epsilonFor({ samplingRate, noiseMultiplier, steps, ...options }: EpsilonForOptions): EpsilonResult {
  return epsilonForRounds([{ samplingRate, noiseMultiplier, steps }], options);
}
