/**
 * Conditional randomised rounding (Kairouz, Liu & Steinke, ICML 2021, §4.1 and Proposition 22): round each
 * coordinate of the scaled vector to ⌊x⌋ or ⌈x⌉ with the probabilities that keep it unbiased, and start again until
 * the rounded vector's L2 norm is within the bound the accountant charged for (privacy/accountant/ddgauss.ts
 * `roundedL2NormBound`). The privacy analysis rests only on that bound, which is checked here exactly (integer
 * squares summed below 2^53), so the DP guarantee holds whatever this loop's randomness; each attempt succeeds with
 * probability ≥ 1 − β, so the expected number of attempts is ≤ 1/(1 − β).
 */
import { TesseraError } from '../../../protocol/errors.ts';
import type { RandomSource } from '../../random.ts';

/** More attempts than this at β ≤ 0.9 happen with probability < 0.9^500 ≈ 1e-23: the input cannot meet the bound. */
export const MAX_ROUNDING_ATTEMPTS = 500;

export function conditionalRound(scaled: Float64Array, bound: number, rng: RandomSource): { rounded: Float64Array; attempts: number } {
  const out = new Float64Array(scaled.length);
  const boundSq = bound * bound;
  for (let attempt = 1; attempt <= MAX_ROUNDING_ATTEMPTS; attempt++) {
    let sq = 0;
    for (let i = 0; i < scaled.length; i++) {
      const x = scaled[i] as number;
      const fl = Math.floor(x);
      // Unbiased: up with probability x − ⌊x⌋.
      const v = fl + (rng.nextFloat() < x - fl ? 1 : 0);
      out[i] = v;
      sq += v * v;
    }
    if (!(sq < 2 ** 53)) throw new TesseraError('TESSERA_ERR_DP_CONFIG', 'the scaled update is too large for exact integer norms (granularity far too fine for the clip norm)');
    if (sq <= boundSq) return { rounded: out, attempts: attempt };
  }
  throw new TesseraError('TESSERA_ERR_DP_CONFIG', `conditional randomised rounding did not meet the norm bound ${bound} in ${MAX_ROUNDING_ATTEMPTS} attempts (is the update clipped?)`);
}
