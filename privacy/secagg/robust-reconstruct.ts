/**
 * Reconstruction that survives bad shares (issue 10 item 4). A neighbour may reveal a wrong share — signed, so
 * attributable, but wrong. Every secret the coordinator rebuilds has something to check it against: the
 * self-mask seed b_u its owner committed to in round 0 (SHA-256 commitment) and the mask key s_sk whose public
 * key its owner signed. So instead of aborting after others revealed their shares, try t-subsets until one
 * rebuilds a secret that passes the check; then every other share is checked against that polynomial
 * (Lagrange interpolation at its x) and the ones off it are reported as bad.
 *
 * A wrong share changes the interpolated secret by λ_j·Δ ≠ 0 (λ_j ≠ 0 in a field), so a subset containing a
 * bad share fails the check except with the commitment's or X25519's collision probability. Search order:
 * the m cyclic windows of t consecutive shares (one bad share among m ≥ t + 1 leaves a clean window), then
 * lexicographic subsets, at most MAX_SUBSETS in all — each attempt is one interpolation and one hash or one
 * scalar multiplication, well under a millisecond.
 *
 * Attribution is best effort: two colluding holders can choose errors that cancel at x = 0 (the secret still
 * verifies), and the polynomial through such a subset then misses the honest shares. Shares are named bad only
 * when a strict majority of all revealed shares lies on the verified polynomial (a polynomial through a subset
 * with cancelling errors meets no honest share outside it: it agrees with the true one at t − 1 points only).
 */
import { TesseraError } from '../../protocol/errors.ts';
import { bytesEqual, wipe } from './crypto/bytes.ts';
import { shamirInterpolator, type ShamirShare } from './shamir.ts';

export const MAX_SUBSETS = 2048;

export interface Reconstructed {
  readonly secret: Uint8Array;
  /** x-coordinates (holder index + 1) of shares that are not on the verified polynomial. */
  readonly bad: number[];
}

function* candidateSubsets(m: number, t: number): Generator<number[]> {
  for (let i = 0; i < m; i++) yield Array.from({ length: t }, (_, j) => (i + j) % m);
  const idx = Array.from({ length: t }, (_, j) => j);
  for (;;) {
    yield [...idx];
    let i = t - 1;
    while (i >= 0 && idx[i] === m - t + i) i--;
    if (i < 0) return;
    idx[i] = (idx[i] as number) + 1;
    for (let j = i + 1; j < t; j++) idx[j] = (idx[j - 1] as number) + 1;
  }
}

/**
 * The secret from `shares` (any number ≥ t) that passes `verify`, with the bad shares named. Throws
 * TESSERA_ERR_SECAGG_ABORT with fewer than t shares, TESSERA_ERR_SECAGG_CRYPTO when no subset verifies.
 */
export function reconstructVerified(shares: ReadonlyArray<ShamirShare> | undefined, t: number, verify: (secret: Uint8Array) => boolean, what: string): Reconstructed {
  if (shares === undefined || shares.length < t) throw new TesseraError('TESSERA_ERR_SECAGG_ABORT', `only ${shares?.length ?? 0} shares of ${what}; threshold ${t}`);
  const sorted = [...shares].sort((a, b) => a.x - b.x);
  const m = sorted.length;
  let tried = 0;
  for (const subset of candidateSubsets(m, t)) {
    if (++tried > MAX_SUBSETS) break;
    const chosen = subset.map((i) => sorted[i] as ShamirShare);
    // One O(t²) setup per subset; then the secret (at 0) and each other share's point cost O(t) apiece.
    const interpolate = shamirInterpolator({ shares: chosen });
    const secret = interpolate(0);
    if (!verify(secret)) {
      wipe(secret);
      continue;
    }
    const inSubset = new Set(subset);
    const bad: number[] = [];
    sorted.forEach((s, i) => {
      if (inSubset.has(i)) return;
      const expected = interpolate(s.x);
      if (!bytesEqual(expected, s.y)) bad.push(s.x);
      wipe(expected);
    });
    return { secret, bad: 2 * (m - bad.length) > m ? bad : [] };
  }
  throw new TesseraError('TESSERA_ERR_SECAGG_CRYPTO', `no ${t} of the ${m} revealed shares of ${what} rebuild the committed secret (${Math.min(tried, MAX_SUBSETS)} subsets tried): too many neighbours revealed wrong shares`);
}
