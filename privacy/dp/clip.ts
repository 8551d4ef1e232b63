/**
 * L2 clipping of a client's update to norm C: the step that bounds each organisation's contribution to the
 * sum (its L2 sensitivity), which everything in the accountant assumes (Abadi et al. 2016, "Deep Learning with
 * Differential Privacy", CCS; McMahan et al. 2018, "Learning Differentially Private Recurrent Language
 * Models", Algorithm 1 FlatClip). Norms are computed in float64; the clipped copy is Float32 and is checked
 * again after rounding, so no clipped update ever has a (float64-measured) norm above C.
 */
import { TesseraError } from '../../protocol/errors.ts';

/** L2 norm in float64 (each float32 squared is exact in float64; the sum carries the only rounding). */
export function l2Norm(v: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < v.length; i++) {
    const x = v[i] as number;
    s += x * x;
  }
  return Math.sqrt(s);
}

export interface ClipResult {
  /** A new array: the update scaled to norm ≤ C (an unchanged copy when it already was). */
  clipped: Float32Array;
  wasClipped: boolean;
  /** Norm of the update before clipping (float64). */
  norm: number;
}

// One float32 ulp below 1, to shrink the scale after float32 rounding pushed the norm above C.
const SHRINK = 1 - 2 ** -23;

export function clipL2(update: Float32Array, clipNorm: number): ClipResult {
  if (!(clipNorm > 0) || !Number.isFinite(clipNorm)) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `clip norm must be a positive finite number, got ${clipNorm}`);
  const norm = l2Norm(update);
  if (!Number.isFinite(norm)) {
    throw new TesseraError('TESSERA_ERR_UPDATE_NONFINITE', `the update holds NaN or infinite values (norm ${norm}); it cannot be clipped`);
  }
  if (norm <= clipNorm) return { clipped: Float32Array.from(update), wasClipped: false, norm };
  let scale = clipNorm / norm;
  const clipped = new Float32Array(update.length);
  // Float32 rounding of each coordinate can raise the norm by ~2^-24 relative; shrink until it does not.
  for (let attempt = 0; attempt < 64; attempt++) {
    for (let i = 0; i < update.length; i++) clipped[i] = (update[i] as number) * scale;
    if (l2Norm(clipped) <= clipNorm) return { clipped, wasClipped: true, norm };
    scale *= SHRINK;
  }
  throw new TesseraError('TESSERA_ERR_INTERNAL', `clipping did not reach norm ≤ ${clipNorm}`);
}

export interface ClippingReport {
  clients: number;
  clipped: number;
  /** Fraction of clients whose update was clipped (0 when there were none). */
  fraction: number;
}

/**
 * Fraction of updates that were clipped. This is a statistic of the clients' data: under distributed or local
 * DP it must not leave the clients in the clear. Release it only through the noised count of adaptive
 * clipping (adaptive-clipping.ts) or in simulations, where every client is local anyway.
 */
export function clippingReport(results: ReadonlyArray<{ wasClipped: boolean }>): ClippingReport {
  const clipped = results.filter((r) => r.wasClipped).length;
  return { clients: results.length, clipped, fraction: results.length === 0 ? 0 : clipped / results.length };
}
