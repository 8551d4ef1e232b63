/**
 * Bounds a plain (not securely aggregated) update must meet before it enters the sum (issue 12): finite
 * coordinates; an L2 norm no larger than the clip norm plus a high-probability bound on the Gaussian noise the
 * job's DP placement lets the client add; and no more examples than the client declared when it connected.
 * Without DP there is no clip norm, so only finiteness and the example count are checked. Pure.
 *
 * Noise allowance. A client adds z ~ N(0, s²·I_d), s the per-client std of its placement (privacy/dp/placement.ts:
 * s = σC/√m distributed, σC local, 0 central). ‖z‖²/s² ~ χ²_d, and Laurent & Massart (2000, "Adaptive estimation
 * of a quadratic functional by model selection", Ann. Statist. 28(5), Lemma 1) give
 *   P(χ²_d ≥ d + 2√(d·x) + 2x) ≤ e^(−x).
 * With x = ln(1/β) the bound ‖z‖ ≤ s·√(d + 2√(d·x) + 2x) fails for an honest client with probability at most β;
 * we take β = 1e-12 (x ≈ 27.6), so an honest client is refused about once in 10¹² updates, while an update of
 * norm 283 against C = 1 on a model of 7,850 weights exceeds C + allowance even under local noise with σ = 1
 * (allowance ≈ 94.7; see test/access-limits.test.ts). By the triangle inequality ‖Δ + z‖ ≤ ‖Δ‖ + ‖z‖ ≤ C + ‖z‖.
 * A relative slack of 1e-5 covers float32 rounding of the clipped update.
 */
import { TesseraError } from '../protocol/errors.ts';
import type { JobSpec } from '../protocol/job/spec.ts';
import { resolveDpPlan } from '../privacy/dp/config.ts';
import { noiseStdPerClient } from '../privacy/dp/placement.ts';

export const NOISE_BOUND_FAILURE_PROBABILITY = 1e-12;
const FLOAT_SLACK = 1e-5;

/** s·√(d + 2√(d·x) + 2x), x = ln(1/β): exceeded by ‖N(0, s²I_d)‖ with probability ≤ β (Laurent–Massart Lemma 1). */
export function gaussianNormBound(std: number, dimension: number, failureProbability = NOISE_BOUND_FAILURE_PROBABILITY): number {
  if (std === 0) return 0;
  const x = Math.log(1 / failureProbability);
  return std * Math.sqrt(dimension + 2 * Math.sqrt(dimension * x) + 2 * x);
}

/** The largest L2 norm a plain update of `dimension` coordinates may have under `spec`, or undefined without DP. */
export function maxPlainUpdateNorm(spec: Pick<JobSpec, 'dp' | 'sampling' | 'minClients'>, dimension: number): number | undefined {
  if (!spec.dp.enabled) return undefined;
  const plan = resolveDpPlan({ dp: spec.dp, sampling: spec.sampling, minClients: spec.minClients });
  const std = noiseStdPerClient({ placement: plan.placement, sigma: plan.updateNoiseMultiplier, clipNorm: spec.dp.clipNorm, minSurvivors: plan.minSurvivors });
  return spec.dp.clipNorm * (1 + FLOAT_SLACK) + gaussianNormBound(std, dimension);
}

export interface PlainUpdateCheck {
  readonly update: Float32Array;
  /** The example count the update claims (undefined when the client keeps it to itself). */
  readonly examples: number | undefined;
  /** True when the round weights updates by their example counts (FedAvg without DP). */
  readonly weighted: boolean;
  /** What the client declared in its handshake (undefined: its policy keeps the count to itself). */
  readonly declaredExamples: number | undefined;
  /** From maxPlainUpdateNorm (computed once per round). */
  readonly maxNorm: number | undefined;
}

/** Throws TESSERA_ERR_UPDATE_NONFINITE or TESSERA_ERR_UPDATE_OUT_OF_BOUNDS; the message holds numbers, never values. */
export function checkPlainUpdate({ update, examples, weighted, declaredExamples, maxNorm }: PlainUpdateCheck): void {
  let sq = 0;
  for (let i = 0; i < update.length; i++) {
    const v = update[i] as number;
    if (!Number.isFinite(v)) throw new TesseraError('TESSERA_ERR_UPDATE_NONFINITE', `the update holds a non-finite value (NaN or ±Infinity) at coordinate ${i}`);
    sq += v * v;
  }
  // A claimed count is bounded by what the client declared when it connected; a client that declared nothing
  // cannot claim a weight (it takes part in uniformly weighted rounds only, e.g. under DP).
  if ((examples !== undefined && declaredExamples !== undefined && examples > declaredExamples) || (weighted && examples !== undefined && declaredExamples === undefined)) {
    throw new TesseraError(
      'TESSERA_ERR_UPDATE_OUT_OF_BOUNDS',
      declaredExamples === undefined
        ? `the update claims ${examples} examples for an example-weighted round, but the client declared no example count when it connected (its policy's disclose.exampleCount)`
        : `the update claims ${examples} examples, more than the ${declaredExamples} the client declared when it connected`,
    );
  }
  const norm = Math.sqrt(sq);
  if (maxNorm !== undefined && norm > maxNorm) {
    throw new TesseraError('TESSERA_ERR_UPDATE_OUT_OF_BOUNDS', `the update's L2 norm ${norm.toPrecision(4)} exceeds ${maxNorm.toPrecision(4)} (clip norm plus the noise allowance of the job's DP placement)`, {
      details: { norm, maxNorm },
    });
  }
}
