/**
 * The human-review API's HTTP payloads (issue 20 §5; house rule 1). Served by coordinator/serving/review/routes.ts:
 * the reviewer's queue and decisions (role `reviewer` only) and the caller's poll for the outcome of a held
 * prediction (role `predict`, and only the token that made the prediction).
 */
import { z } from 'zod';

/** A prediction id: 32 lower-case hex characters (128 random bits), or the id the serving path assigned. */
export const PredictionId = z.string().regex(/^[A-Za-z0-9_-]{16,80}$/, 'a prediction id is 16–80 letters, digits, _ or -');
export const PredictionIdParams = z.object({ id: PredictionId }).strict();

export const ReviewReason = z.enum(['low-confidence', 'group']);

/** Per-prediction attributions (ml/explain/attributions.ts), as stored with a held prediction. */
export const Explanation = z.object({
  method: z.enum(['exact-linear', 'integrated-gradients']),
  target: z.number().int(),
  attributions: z.array(z.number()),
  output: z.number(),
  baselineOutput: z.number(),
  completenessGap: z.number(),
  tolerance: z.number(),
  complete: z.boolean(),
  steps: z.number().int().optional(),
});
export type Explanation = z.infer<typeof Explanation>;

/** What the predict response says about each held instance. */
export const HeldPrediction = z.object({
  /** The instance's index in the request. */
  index: z.number().int().min(0),
  predictionId: PredictionId,
  reasons: z.array(z.string()),
  status: z.literal('pending'),
});
export type HeldPrediction = z.infer<typeof HeldPrediction>;

export const ReviewStatus = z.enum(['pending', 'confirmed', 'overridden']);

/** One queue item as a reviewer sees it: the instance, the model's output and its explanation. */
export const ReviewItem = z.object({
  predictionId: PredictionId,
  model: z.string(),
  version: z.string(),
  stage: z.string(),
  /** Null once the retention period of served inputs removed it. */
  instance: z.array(z.number()).nullable(),
  explanation: Explanation.nullable(),
  probabilities: z.array(z.number()),
  modelClass: z.number().int(),
  confidence: z.number(),
  reasons: z.array(z.string()),
  status: ReviewStatus,
  finalClass: z.number().int().nullable(),
  createdAt: z.string(),
  decidedAt: z.string().nullable(),
});
export type ReviewItem = z.infer<typeof ReviewItem>;

export const ReviewQueueQuery = z.object({
  model: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(50),
}).strict();
export const ReviewQueue = z.object({ items: z.array(ReviewItem), pending: z.number().int() });

export const ReviewDecisionRequest = z
  .object({
    decision: z.enum(['confirm', 'override']),
    /** The reviewer's class; required to override (and must differ from the model's), absent to confirm. */
    class: z.number().int().min(0).optional(),
    note: z.string().max(500).optional(),
  })
  .strict()
  .refine((d) => (d.decision === 'override') === (d.class !== undefined), { message: '`class` is required to override and not allowed to confirm' });
export type ReviewDecisionRequest = z.infer<typeof ReviewDecisionRequest>;

/** What the caller that made the prediction sees when it polls. */
export const ReviewOutcome = z.object({
  predictionId: PredictionId,
  status: ReviewStatus,
  modelClass: z.number().int(),
  /** The reviewer's class once decided (equal to modelClass when confirmed), null while pending. */
  finalClass: z.number().int().nullable(),
  decidedAt: z.string().nullable(),
});
export type ReviewOutcome = z.infer<typeof ReviewOutcome>;
