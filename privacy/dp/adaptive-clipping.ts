/**
 * Adaptive clipping by quantile tracking (G. Andrew, O. Thakkar, H. B. McMahan, S. Ramaswamy, "Differentially
 * Private Learning with Adaptive Clipping", NeurIPS 2021).
 *
 * Each sampled client reports, beside its clipped update, the indicator b_i = 1[‖Δ_i‖ ≤ C] shifted to
 * b_i − 1/2 ∈ {−1/2, +1/2}, so that adding or removing one client moves the sum by at most 1/2. The sum of the
 * indicators is released with N(0, σ_b²) noise, giving the fraction of unclipped updates
 *     b̄ = (Σ(b_i − 1/2) + noise)/(qN) + 1/2,
 * and the clip norm follows the geometric update (their Algorithm 1, geometric update)
 *     C ← C · exp(−η_C (b̄ − γ)),
 * which moves C toward the γ-quantile of the update norms.
 *
 * Privacy (their Theorem 1): one round releasing the update sum with noise multiplier σ_Δ (sensitivity C) and
 * the count with std σ_b (sensitivity 1/2, i.e. multiplier 2σ_b) is the Gaussian mechanism with
 *     σ = (σ_Δ^{−2} + (2σ_b)^{−2})^{−1/2},
 * so to keep the accounted noise multiplier σ the update must use σ_Δ = (σ^{−2} − (2σ_b)^{−2})^{−1/2}, which
 * needs 2σ_b > σ. The accountant is charged with σ; the clients add noise with σ_Δ ≥ σ.
 */
import { TesseraError } from '../../protocol/errors.ts';

export interface AdaptiveClipNoiseOptions {
  /** σ: the noise multiplier the accountant charges for. */
  noiseMultiplier: number;
  /** σ_b, or undefined for the default 0.05 · expected participants (TensorFlow Federated's default). */
  countNoiseStd?: number;
  expectedParticipants: number;
}

export interface AdaptiveClipNoise {
  /** σ, unchanged: what the ledger and accountant use. */
  accountedNoiseMultiplier: number;
  /** σ_Δ = (σ^{−2} − (2σ_b)^{−2})^{−1/2}: the noise multiplier applied to the update sum. */
  updateNoiseMultiplier: number;
  /** σ_b: the std of the noise on the sum of shifted indicators. */
  countNoiseStd: number;
}

export function adaptiveClipNoise({ noiseMultiplier: sigma, countNoiseStd, expectedParticipants }: AdaptiveClipNoiseOptions): AdaptiveClipNoise {
  if (!(sigma > 0) || !Number.isFinite(sigma)) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `noise multiplier must be > 0, got ${sigma}`);
  const sigmaB = countNoiseStd ?? 0.05 * expectedParticipants;
  if (!(sigmaB > 0)) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `count noise std must be > 0, got ${sigmaB}`);
  if (sigma >= 2 * sigmaB) {
    throw new TesseraError(
      'TESSERA_ERR_DP_CONFIG',
      `adaptive clipping needs 2·σ_b > σ (Andrew et al. 2021, Theorem 1): σ = ${sigma}, σ_b = ${sigmaB}; raise countNoiseStd or the expected participants`,
      { details: { noiseMultiplier: sigma, countNoiseStd: sigmaB } },
    );
  }
  const updateNoiseMultiplier = (sigma ** -2 - (2 * sigmaB) ** -2) ** -0.5;
  return { accountedNoiseMultiplier: sigma, updateNoiseMultiplier, countNoiseStd: sigmaB };
}

/** The noise multiplier of the combined release (Theorem 1), the inverse of adaptiveClipNoise. */
export function combinedNoiseMultiplier(updateNoiseMultiplier: number, countNoiseStd: number): number {
  return (updateNoiseMultiplier ** -2 + (2 * countNoiseStd) ** -2) ** -0.5;
}

/** The shifted indicator a client reports: +1/2 if its update norm is ≤ C (unclipped), −1/2 otherwise. */
export function unclippedIndicator(norm: number, clipNorm: number): 0.5 | -0.5 {
  return norm <= clipNorm ? 0.5 : -0.5;
}

export interface NextClipNormOptions {
  clipNorm: number;
  /** Σ(b_i − 1/2) plus its Gaussian noise, as released. */
  noisedIndicatorSum: number;
  /** q·N, the fixed denominator (as for the update estimate). */
  expectedParticipants: number;
  /** γ. */
  targetQuantile: number;
  /** η_C. */
  learningRate: number;
  minClipNorm?: number;
  maxClipNorm?: number;
}

export interface NextClipNorm {
  clipNorm: number;
  /** b̄ clamped to [0, 1]: the (noised) fraction of unclipped updates. */
  unclippedFraction: number;
}

/** C ← C·exp(−η_C(b̄ − γ)), the geometric update of Andrew et al. 2021 (Algorithm 1), clamped to [min, max]. */
export function nextClipNorm(o: NextClipNormOptions): NextClipNorm {
  if (!(o.expectedParticipants > 0)) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `expected participants must be > 0, got ${o.expectedParticipants}`);
  const raw = o.noisedIndicatorSum / o.expectedParticipants + 0.5;
  const unclippedFraction = Math.min(1, Math.max(0, raw));
  const next = o.clipNorm * Math.exp(-o.learningRate * (unclippedFraction - o.targetQuantile));
  const clipNorm = Math.min(o.maxClipNorm ?? Infinity, Math.max(o.minClipNorm ?? 0, next));
  return { clipNorm, unclippedFraction };
}
