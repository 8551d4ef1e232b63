/**
 * The prediction API's HTTP payloads (house rule 1: one definition per wire message). Served by
 * coordinator/serving/routes.ts at `POST /v1/models/:name/predict` and `GET /v1/models/:name/status`, and
 * coordinator/serving/feedback-routes.ts at `POST /v1/models/:name/feedback`. Monitoring: serving-monitor.ts.
 */
import { z } from 'zod';
import { Explanation, HeldPrediction } from './review.ts';

/** Explanations cost a forward and backward pass per path point (integrated gradients): at most this many per request. */
export const MAX_EXPLAINED_INSTANCES = 64;

/** At most this many instances per request, so one request cannot hold the event loop for long. */
export const MAX_INSTANCES = 1024;

/** One raw value of a column, as JSON carries it (a data file's cell: text, number, boolean, or null for missing). */
export const InstanceValue = z.union([z.string().max(1024), z.number().finite(), z.boolean(), z.null()]);

/**
 * A model that names a data contract takes raw rows — {column: value} — which the coordinator checks against
 * that contract and turns into model inputs by the contract's own transforms (governance/contract/instance.ts,
 * compile.ts `writeFeatures`): the one feature pipeline of training. A model without a contract takes its
 * input vectors (flattened for image models).
 */
export const Instance = z.union([z.array(z.number().finite()).min(1), z.record(z.string().max(128), InstanceValue)]);
export type Instance = z.infer<typeof Instance>;

export const PredictRequest = z
  .object({
    instances: z.array(Instance).min(1).max(MAX_INSTANCES),
    /**
     * Per-instance attributions (issue 20 §6, ml/explain/attributions.ts): exact for logistic models, integrated
     * gradients otherwise, of the predicted class's logit against `baseline` (default all zeros).
     */
    explain: z.object({ baseline: z.array(z.number().finite()).min(1).optional() }).strict().optional(),
  })
  .strict()
  .refine((r) => r.explain === undefined || r.instances.length <= MAX_EXPLAINED_INSTANCES, { message: `explain takes at most ${MAX_EXPLAINED_INSTANCES} instances per request`, path: ['explain'] });
export type PredictRequest = z.infer<typeof PredictRequest>;

/** A prediction id: 128 random bits (base64url), so ids cannot be guessed or enumerated. */
export const PredictionId = z.string().regex(/^p_[A-Za-z0-9_-]{22}$/, 'a prediction id (p_ and 22 base64url characters)');

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
  /** Class names per instance (the contract's label values), when the model has a contract. */
  labels: z.array(z.string()).optional(),
  /** One id per instance: send the true outcome later to POST /v1/models/:name/feedback. */
  predictionIds: z.array(PredictionId),
});
export type PredictResponse = z.infer<typeof PredictResponse>;

/** The 422 answer to an instance the contract refuses: which instance, column and rule, and the value sent. */
export const InstanceRefusal = z.object({
  error: z.object({
    code: z.literal('TESSERA_ERR_INSTANCE_INVALID'),
    message: z.string(),
    instance: z.number().int().min(0),
    /** The column whose rule the instance breaks (null when the instance has the wrong form altogether). */
    column: z.string().nullable(),
    kind: z.string(),
    value: InstanceValue.optional(),
  }),
});

/**
 * Ground truth for earlier predictions: each id at most once, ever (a label cannot be replaced or repeated, so
 * feedback cannot be replayed to move online accuracy). The label is a class name of the model's contract or a
 * class index.
 */
export const FeedbackRequest = z
  .object({
    feedback: z
      .array(z.object({ predictionId: PredictionId, label: z.union([z.string().min(1).max(256), z.number().int().min(0)]) }).strict())
      .min(1)
      .max(MAX_INSTANCES),
  })
  .strict();
export type FeedbackRequest = z.infer<typeof FeedbackRequest>;

export const FeedbackResponse = z.object({
  model: z.string(),
  /** Labels recorded (all of the request's: feedback is all or nothing). */
  accepted: z.number().int().min(0),
});
export type FeedbackResponse = z.infer<typeof FeedbackResponse>;

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
