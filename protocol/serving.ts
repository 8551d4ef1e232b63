/**
 * The prediction API's HTTP payloads (house rule 1: one definition per wire message). Served by
 * coordinator/serving/routes.ts at `POST /v1/models/:name/predict` and `GET /v1/models/:name/status`.
 */
import { z } from 'zod';
import { Explanation, HeldPrediction } from './review.ts';

/** Explanations cost a forward and backward pass per path point (integrated gradients): at most this many per request. */
export const MAX_EXPLAINED_INSTANCES = 64;

/** At most this many instances per request, so one request cannot hold the event loop for long. */
export const MAX_INSTANCES = 1024;

export const PredictRequest = z
  .object({
    /** One row of features per instance (flattened for image models), preprocessed as in training. */
    instances: z.array(z.array(z.number().finite()).min(1)).min(1).max(MAX_INSTANCES),
    /**
     * Per-instance attributions (issue 20 §6, ml/explain/attributions.ts): exact for logistic models, integrated
     * gradients otherwise, of the predicted class's logit against `baseline` (default all zeros).
     */
    explain: z.object({ baseline: z.array(z.number().finite()).min(1).optional() }).strict().optional(),
  })
  .strict()
  .refine((r) => r.explain === undefined || r.instances.length <= MAX_EXPLAINED_INSTANCES, { message: `explain takes at most ${MAX_EXPLAINED_INSTANCES} instances per request`, path: ['explain'] });
export type PredictRequest = z.infer<typeof PredictRequest>;

export const PredictResponse = z.object({
  model: z.string(),
  /** The version that produced these predictions. */
  version: z.string(),
  stage: z.enum(['production', 'canary']),
  /** Class probabilities per instance (softmax output). */
  predictions: z.array(z.array(z.number())),
  /** The most probable class per instance. */
  classes: z.array(z.number().int()),
  /**
   * Instances held for human review (issue 20 §5), by index: do not act on their class yet; poll
   * `GET /v1/predictions/:predictionId/review` for the reviewer's outcome. Absent when none is held.
   */
  review: z.array(HeldPrediction).optional(),
  /** One explanation per instance, when the request asked (`explain`). */
  explanations: z.array(Explanation).optional(),
});
export type PredictResponse = z.infer<typeof PredictResponse>;

export const ServingStatus = z.object({
  model: z.string(),
  /** The deployment revision the server is routing by. */
  revision: z.number().int(),
  production: z.object({ version: z.string(), requests: z.number().int() }).nullable(),
  canary: z.object({ version: z.string(), percent: z.number(), requests: z.number().int() }).nullable(),
  shadow: z
    .object({
      version: z.string(),
      /** Requests scored by the shadow model. */
      requests: z.number().int(),
      /** Instances compared, and those where the shadow's most probable class matched the served one. */
      instances: z.number().int(),
      agreed: z.number().int(),
      agreement: z.number().nullable(),
    })
    .nullable(),
});
export type ServingStatus = z.infer<typeof ServingStatus>;
