/**
 * The prediction API's HTTP payloads (house rule 1: one definition per wire message). Served by
 * coordinator/serving/routes.ts at `POST /v1/models/:name/predict` and `GET /v1/models/:name/status`.
 */
import { z } from 'zod';
import { HeldPrediction } from './review.ts';

/** At most this many instances per request, so one request cannot hold the event loop for long. */
export const MAX_INSTANCES = 1024;

export const PredictRequest = z
  .object({
    /** One row of features per instance (flattened for image models), preprocessed as in training. */
    instances: z.array(z.array(z.number().finite()).min(1)).min(1).max(MAX_INSTANCES),
  })
  .strict();
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
