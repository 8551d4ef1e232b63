/**
 * Where the noise is added, and how much each party adds, so that the sum released to the coordinator always
 * carries at least N(0, σ²C²) — the noise the accountant charged for.
 *  - central: the (trusted) coordinator adds N(0, σ²C²) to the sum; clients add nothing.
 *  - distributed: each sampled client adds N(0, σ²C²/m). Independent Gaussians add their variances, so s ≥ m
 *    surviving clients give variance sσ²C²/m ≥ σ²C². m is the smallest number of survivors with which a round
 *    may still complete: max(job minClients, secure-aggregation threshold). A round that ends with fewer
 *    survivors must abort, never release. (The same per-client split of the variance underlies Kairouz, Liu &
 *    Steinke 2021, "The Distributed Discrete Gaussian Mechanism for Federated Learning with Secure
 *    Aggregation", ICML.)
 *  - local: each client adds N(0, σ²C²), so even its own update alone is protected at σ.
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { DpPlacement } from '../../protocol/job/dp.ts';

export interface MinSurvivorsOptions {
  minClients: number;
  /** Shamir threshold of secure aggregation (the fewest survivors from which the sum can be unmasked). */
  secaggThreshold?: number;
}

/** m = max(minClients, secagg threshold): the fewest clients whose noise ends up in a released sum. */
export function minSurvivors({ minClients, secaggThreshold }: MinSurvivorsOptions): number {
  const m = Math.max(minClients, secaggThreshold ?? 0);
  if (!Number.isInteger(m) || m < 1) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `minimum survivors must be an integer ≥ 1, got ${m}`);
  return m;
}

export interface SplitNoiseOptions {
  placement: DpPlacement;
  /** Standard deviation the released sum must carry (σ·C for the update, σ_b for a count). */
  sumStd: number;
  minSurvivors: number;
}

export interface NoiseSplit {
  /** Std each sampled client adds to its own contribution. */
  clientStd: number;
  /** Std the coordinator adds to the sum. */
  serverStd: number;
}

export function splitNoise({ placement, sumStd, minSurvivors: m }: SplitNoiseOptions): NoiseSplit {
  if (!(sumStd >= 0) || !Number.isFinite(sumStd)) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `noise std must be finite and ≥ 0, got ${sumStd}`);
  if (!Number.isInteger(m) || m < 1) throw new TesseraError('TESSERA_ERR_DP_CONFIG', `minSurvivors must be an integer ≥ 1, got ${m}`);
  switch (placement) {
    case 'central':
      return { clientStd: 0, serverStd: sumStd };
    case 'distributed':
      return { clientStd: sumStd / Math.sqrt(m), serverStd: 0 };
    case 'local':
      return { clientStd: sumStd, serverStd: 0 };
  }
}

export interface NoiseStdOptions {
  placement: DpPlacement;
  /** Noise multiplier σ (with adaptive clipping: the update's σ_Δ, see adaptive-clipping.ts). */
  sigma: number;
  clipNorm: number;
  minSurvivors: number;
}

/** Std of the Gaussian noise one sampled client adds to its clipped update (0 for central placement). */
export function noiseStdPerClient({ placement, sigma, clipNorm, minSurvivors: m }: NoiseStdOptions): number {
  return splitNoise({ placement, sumStd: sigma * clipNorm, minSurvivors: m }).clientStd;
}

/** Std of the Gaussian noise the coordinator adds to the sum (σC for central placement, else 0). */
export function noiseStdServer({ placement, sigma, clipNorm, minSurvivors: m }: NoiseStdOptions): number {
  return splitNoise({ placement, sumStd: sigma * clipNorm, minSurvivors: m }).serverStd;
}
