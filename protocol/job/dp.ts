/**
 * The `dp` section of the job spec (differential privacy). The maths lives in privacy/accountant and
 * privacy/dp; the budget is enforced by governance/ledger. Cross-section checks (sampling mode, minimum
 * clients, secure-aggregation threshold) are done by `resolveDpPlan` in privacy/dp/config.ts, which throws
 * TESSERA_ERR_DP_CONFIG.
 */
import { z } from 'zod';

/**
 * Adaptive clipping (Andrew, Thakkar, McMahan & Ramaswamy 2021, "Differentially Private Learning with Adaptive
 * Clipping", NeurIPS): the clip norm follows a target quantile of the update norms, estimated from a noised
 * count. Defaults follow TensorFlow Federated's `gaussian_adaptive` (target 0.5, learning rate 0.2, count noise
 * std 0.05 × expected clients per round).
 */
export const AdaptiveClippingSection = z.object({
  enabled: z.boolean().default(false),
  /** γ: the fraction of updates that should end up unclipped (their norm ≤ C). */
  targetQuantile: z.number().gt(0).lt(1).default(0.5),
  /** η_C in C ← C·exp(−η_C(b̄ − γ)). */
  learningRate: z.number().positive().default(0.2),
  /** σ_b: std of the Gaussian noise on the count of unclipped updates; default 0.05 × q·N. */
  countNoiseStd: z.number().positive().optional(),
  /** Clip norms are kept within [minClipNorm, maxClipNorm] (the bounds are public constants). */
  minClipNorm: z.number().positive().default(1e-6),
  maxClipNorm: z.number().positive().default(1e6),
});

/**
 * The distributed discrete Gaussian (Kairouz, Liu & Steinke, ICML 2021): integer noise added before the modular
 * secure sum (privacy/dp/ddgauss/). Plan all three numbers and dp.noiseMultiplier with
 * `tessera privacy plan --mechanism ddgauss`.
 */
export const DdgaussSection = z.object({
  /** b: each coordinate and the sum live modulo 2^b (b ≤ 32: 2^b divides the secure-aggregation modulus 2^32). */
  bits: z.number().int().min(2).max(32).default(32),
  /** γ: one integer step of the rotated, scaled update, in model units (the scale is 1/γ). */
  granularity: z.number().positive(),
  /** β of conditional randomised rounding: the rounded norm bound holds with probability ≥ 1 − β per attempt. */
  beta: z.number().min(0).lt(1).default(Math.exp(-0.5)),
});
export type DdgaussSection = z.infer<typeof DdgaussSection>;

export const DpSection = z
  .object({
    enabled: z.boolean().default(false),
    /**
     * central: the coordinator adds N(0, σ²C²) to the sum (needs `trustedCoordinator`);
     * distributed: each sampled client adds N(0, σ²C²/m), m = max(minClients, secagg threshold);
     * local: each client adds N(0, σ²C²).
     */
    placement: z.enum(['central', 'distributed', 'local']).default('distributed'),
    /** L2 clipping norm C of each client's update (the initial C when adaptive clipping is on). */
    clipNorm: z.number().positive().default(1),
    /** Noise multiplier σ: the noise standard deviation on the sum is σ·C. Plan it with `tessera privacy plan`. */
    noiseMultiplier: z.number().min(0).default(1),
    /** Budget for the whole job: the ledger refuses any round that would take ε above it. */
    epsilon: z.number().positive().optional(),
    delta: z.number().gt(0).lt(1).default(1e-5),
    /** Central placement is refused unless the job declares the coordinator trusted. */
    trustedCoordinator: z.boolean().default(false),
    // The fields below are optional (not defaulted) so that code building a DpSection by hand keeps compiling;
    // resolveDpPlan (privacy/dp/config.ts) applies the defaults named here.
    /**
     * RDP accountant (any q; default), the analytic Gaussian (exact, only with q = 1), or the privacy-loss-
     * distribution accountant (any q; tighter than RDP, never below the true ε; seconds per evaluation).
     */
    accountant: z.enum(['rdp', 'analytic_gaussian', 'pld']).optional(),
    /**
     * gaussian (default): continuous Gaussian noise, then quantised for secure aggregation. ddgauss: the distributed
     * discrete Gaussian under secure aggregation (needs `dp.ddgauss`, distributed placement, secagg, the RDP accountant).
     */
    mechanism: z.enum(['gaussian', 'ddgauss']).optional(),
    ddgauss: DdgaussSection.optional(),
    /** RDP → (ε, δ) conversion: improved (default; Canonne–Kamath–Steinke 2020 Prop. 12) or classic (Mironov 2017 Prop. 3). */
    conversion: z.enum(['improved', 'classic']).optional(),
    /** Absent = fixed clip norm. */
    adaptiveClipping: AdaptiveClippingSection.optional(),
    /**
     * Fraction f of δ reserved for under-filled rounds (default 0.1): a DP round is never re-sampled, and the
     * chance that a round's Poisson sample falls below minClients is paid from f·δ; ε is converted at (1 − f)·δ
     * (privacy/dp/underfill.ts). A job whose rounds would be short too often for this reserve is refused.
     */
    underfillDeltaFraction: z.number().gt(0).lt(1).optional(),
    /**
     * n̄: a fixed expected number of participants per round (q·N declared in advance). When set, the
     * fixed-denominator estimator divides by n̄ instead of the live q·N_t, so the released model's scale does not
     * move with how many organisations happened to be eligible. A choice about stability, not privacy: under the
     * zero-out neighbours of Tessera's guarantee N_t is public and the same for both neighbours
     * (docs/privacy-accounting.md).
     */
    expectedParticipants: z.number().positive().optional(),
  })
  .superRefine((dp, ctx) => {
    if (!dp.enabled) return;
    if (dp.epsilon === undefined) ctx.addIssue({ code: 'custom', path: ['epsilon'], message: 'a DP job needs an epsilon budget' });
    if (dp.noiseMultiplier <= 0) ctx.addIssue({ code: 'custom', path: ['noiseMultiplier'], message: 'a DP job needs a noise multiplier > 0' });
    if (dp.placement === 'central' && !dp.trustedCoordinator) {
      ctx.addIssue({ code: 'custom', path: ['placement'], message: 'central placement requires trustedCoordinator: true' });
    }
    if (dp.mechanism === 'ddgauss') {
      if (dp.ddgauss === undefined) ctx.addIssue({ code: 'custom', path: ['ddgauss'], message: 'mechanism "ddgauss" needs dp.ddgauss { bits, granularity, beta } (tessera privacy plan --mechanism ddgauss)' });
      if (dp.placement !== 'distributed') ctx.addIssue({ code: 'custom', path: ['placement'], message: 'mechanism "ddgauss" is a distributed placement' });
      if (dp.accountant !== undefined && dp.accountant !== 'rdp') ctx.addIssue({ code: 'custom', path: ['accountant'], message: 'mechanism "ddgauss" is accounted with the RDP accountant (Kairouz et al. 2021, Prop. 14)' });
      if (dp.adaptiveClipping?.enabled === true) ctx.addIssue({ code: 'custom', path: ['adaptiveClipping'], message: 'adaptive clipping is not available with mechanism "ddgauss"' });
    } else if (dp.ddgauss !== undefined) ctx.addIssue({ code: 'custom', path: ['ddgauss'], message: 'dp.ddgauss is only read with mechanism "ddgauss"' });
    const ac = dp.adaptiveClipping;
    if (ac?.enabled === true && ac.minClipNorm > ac.maxClipNorm) ctx.addIssue({ code: 'custom', path: ['adaptiveClipping', 'minClipNorm'], message: 'minClipNorm must not exceed maxClipNorm' });
  });

export type DpSection = z.infer<typeof DpSection>;
export type DpPlacement = DpSection['placement'];
