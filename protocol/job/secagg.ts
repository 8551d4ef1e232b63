/**
 * The `secagg` section of the job spec (secure aggregation, SecAgg+). `enabled` is the switch; the rest feeds
 * privacy/secagg/plan.ts, which turns it into the round's (k, t), quantisation scale and vector layout.
 */
import { z } from 'zod';

export const SecAggSection = z
  .object({
    enabled: z.boolean().default(false),
    /** Expected fraction of sampled clients that drop out during a round (for the parameter finder). */
    dropoutRate: z.number().min(0).lt(1).default(0.1),
    /** Assumed fraction of clients colluding with the coordinator (for the parameter finder). */
    corruptRate: z.number().min(0).lt(1).default(0.05),
    /**
     * semi-honest: the coordinator follows the protocol but is curious. semi-malicious (default, issue 10): it
     * may also deviate — lie about who dropped out, forward keys selectively (Bell et al. 2020); the finder then
     * needs t > (k + 1 + t1)/2. Client nodes refuse setups below their own policy whatever this says.
     */
    threatModel: z.enum(['semi-honest', 'semi-malicious']).default('semi-malicious'),
    /** Absolute bound on each update coordinate before quantisation (updates are clipped to [−r, r]). */
    clipRange: z.number().positive().default(1),
    /**
     * Signed bits of each client's quantised coordinate. Omit to use the finest scale whose sum over the
     * round's clients cannot wrap modulo 2^32; a width that could wrap is refused.
     */
    bitsPerCoordinate: z.number().int().min(2).max(32).optional(),
    /**
     * Clients sign the survivor set before unmasking (Bonawitz et al. 2017, round 3; active adversaries). On by
     * default: client nodes' default policy requires it (docs/security-model.md).
     */
    consistencyCheck: z.boolean().default(true),
    /** Pin the neighbour degree k and threshold t instead of running the finder (give both or neither). */
    degree: z.number().int().min(1).optional(),
    threshold: z.number().int().min(2).optional(),
    /**
     * FedAvg weighting under SecAgg: `examples` sends each client's capped example count as one extra secure
     * coordinate and scales its update by min(n_u, W)/W before masking; `uniform` weights clients equally.
     */
    weighting: z.enum(['examples', 'uniform']).default('examples'),
    /** The public cap W on a client's example count (the count coordinate's sum must fit in 2^31). */
    maxExamplesPerClient: z.number().int().positive().default(10_000),
  })
  .refine((s) => (s.degree === undefined) === (s.threshold === undefined), {
    message: 'secagg.degree and secagg.threshold are given together or not at all',
    path: ['degree'],
  });
export type SecAggSection = z.infer<typeof SecAggSection>;
