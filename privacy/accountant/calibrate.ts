/**
 * Calibration: the smallest noise multiplier σ whose ε after `steps` rounds is at most the target.
 *
 * ε(σ) is non-increasing in σ: a Gaussian with larger σ is a post-processing of one with smaller σ (add
 * independent N(0, σ'² − σ²) noise), so every Rényi divergence, and hence every order's bound and their
 * minimum, can only shrink (data-processing inequality, van Erven & Harremoës 2014, "Rényi Divergence and
 * Kullback–Leibler Divergence", Thm. 9). Bisection on σ therefore converges to the threshold. The answer is
 * always the upper end of the bracket, a σ at which ε was evaluated and found ≤ target: calibration never
 * overshoots the budget, whatever the rounding.
 *
 * With the PLD accountant each evaluation is a composition of loss distributions (seconds, not microseconds),
 * so the bisection runs on a grid ten times coarser (h = 1e-3) to a 1e-4 relative bracket, and the answer is
 * then evaluated once on the accountant's own grid. The coarse grid's points are a subset of the fine grid's,
 * so its connect-the-dots curve lies above the fine one (pld-gaussian.ts) and the fine ε is ≤ the coarse ε ≤
 * target: the answer still never overshoots.
 */
import { TesseraError, isTesseraError } from '../../protocol/errors.ts';
import type { AccountingOptions, EpsilonResult } from './epsilon.ts';
import { epsilonFor } from './epsilon.ts';

export interface PlanOptions extends AccountingOptions {
  /** Target ε (the budget to stay within). */
  epsilon: number;
  samplingRate: number;
  steps: number;
  /** Relative width of the final bracket on σ (default 1e-8). */
  relativeTolerance?: number;
  /** Largest σ tried before declaring the target unreachable (default 1e4). */
  maxNoiseMultiplier?: number;
}

export interface NoisePlan {
  /** Smallest σ found with ε(σ) ≤ target (up to relativeTolerance). */
  noiseMultiplier: number;
  /** ε at that σ (≤ target). */
  epsilon: number;
  order: number | null;
  /** A σ just below, at which ε exceeds the target (0 when even σ → 0 would not). */
  lowerNoiseMultiplier: number;
  evaluations: number;
}

export function planNoiseMultiplier(options: PlanOptions): NoisePlan {
  const { epsilon: target, samplingRate, steps, maxNoiseMultiplier = 1e4, ...rest } = options;
  const pld = rest.accountant === 'pld';
  const relativeTolerance = options.relativeTolerance ?? (pld ? 1e-4 : 1e-8);
  const fine = rest.pld?.valueDiscretizationInterval ?? 1e-4;
  const accounting = pld ? { ...rest, pld: { ...rest.pld, valueDiscretizationInterval: fine * 10 } } : rest;
  if (!(target > 0) || !Number.isFinite(target)) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `target epsilon must be a positive number, got ${target}`);
  if (!(samplingRate > 0 && samplingRate <= 1)) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `sampling rate must be in (0, 1], got ${samplingRate}`);
  if (!Number.isInteger(steps) || steps < 1) throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `steps must be an integer ≥ 1, got ${steps}`);
  let evaluations = 0;
  const at = (sigma: number): EpsilonResult => {
    evaluations++;
    try {
      return epsilonFor({ samplingRate, noiseMultiplier: sigma, steps, ...accounting });
    } catch (e) {
      // The PLD grid cannot hold this small a σ: treat it as over the target (it certifies nothing here).
      if (pld && isTesseraError(e) && e.code === 'TESSERA_ERR_ACCOUNTANT') return { epsilon: Infinity, order: null, delta: rest.delta, accountant: 'pld', conversion: 'pld' };
      throw e;
    }
  };
  // Bracket: hi meets the target, lo does not.
  let hi = 1;
  let hiResult = at(hi);
  let lo = 0;
  if (hiResult.epsilon <= target) {
    lo = hi / 2;
    while (at(lo).epsilon <= target) {
      hi = lo;
      lo /= 2;
      if (lo < 1e-6) {
        hiResult = at(hi);
        return { noiseMultiplier: hi, epsilon: hiResult.epsilon, order: hiResult.order, lowerNoiseMultiplier: 0, evaluations };
      }
    }
    hiResult = at(hi);
  } else {
    while (hiResult.epsilon > target) {
      lo = hi;
      hi *= 2;
      if (hi > maxNoiseMultiplier) {
        throw new TesseraError('TESSERA_ERR_ACCOUNTANT', `epsilon ${target} cannot be reached with noise multiplier ≤ ${maxNoiseMultiplier} at q=${samplingRate}, steps=${steps}`, {
          details: { epsilon: target, samplingRate, steps },
        });
      }
      hiResult = at(hi);
    }
  }
  while (hi - lo > relativeTolerance * hi) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    const r = at(mid);
    if (r.epsilon <= target) {
      hi = mid;
      hiResult = r;
    } else {
      lo = mid;
    }
  }
  if (pld) {
    evaluations++;
    hiResult = epsilonFor({ samplingRate, noiseMultiplier: hi, steps, ...rest });
  }
  return { noiseMultiplier: hi, epsilon: hiResult.epsilon, order: hiResult.order, lowerNoiseMultiplier: lo, evaluations };
}
