/**
 * The human-review API (issue 20 §5) as a fastify plugin, on the route convention (coordinator/api/conventions.ts):
 *
 *   GET  /v1/review/queue                  reviewer   pending held predictions: instance, output, explanation
 *   POST /v1/review/:id/decision           reviewer   confirm or override (final; audited; recorded as feedback)
 *   GET  /v1/predictions/:id/review        predict    the outcome, for the token that made the prediction only
 *
 * Only the `reviewer` role may review and a reviewer token reaches nothing else (coordinator/api/access.ts);
 * the caller polls with its own predict token, and another predict token gets 404 for the same id, so a leaked
 * prediction id does not reveal a reviewer's decision to another application.
 *
 *   await app.register(reviewRoutes, { db, feedback });   // after installApiConventions
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Db } from '../../../governance/state/database.ts';
import { ApiError } from '../../../protocol/api.ts';
import { TesseraError } from '../../../protocol/errors.ts';
import { PredictionIdParams, ReviewDecisionRequest, ReviewItem, ReviewOutcome, ReviewQueue, ReviewQueueQuery } from '../../../protocol/review.ts';
import { REVIEW_ONLY, SERVING_ONLY } from '../../api/access.ts';
import { MONITORING_FEEDBACK_SINK, type FeedbackSink } from './feedback-sink.ts';
import { decideReview, pendingReviews, reviewOutcome } from './store.ts';

export interface ReviewRouteOptions {
  readonly db: Db;
  /** Where decisions go as feedback (default: the monitoring side's feedback store, MONITORING_FEEDBACK_SINK). */
  readonly feedback?: FeedbackSink;
}

function who(req: { operator: { tokenId: string; name: string } | null }): { tokenId: string; name: string } {
  if (req.operator === null) throw new TesseraError('TESSERA_ERR_UNAUTHENTICATED', 'no token holder on a guarded route');
  return req.operator;
}

export const reviewRoutes: FastifyPluginAsyncZod<ReviewRouteOptions> = async (app, options) => {
  const { db } = options;
  const feedback = options.feedback ?? MONITORING_FEEDBACK_SINK;

  app.get('/v1/review/queue', {
    config: { access: REVIEW_ONLY },
    schema: { summary: 'Held predictions waiting for a reviewer, oldest first', tags: ['review'], querystring: ReviewQueueQuery, response: { 200: ReviewQueue } },
  }, async (req) => pendingReviews(db, { limit: req.query.limit, ...(req.query.model !== undefined ? { model: req.query.model } : {}) }));

  app.post('/v1/review/:id/decision', {
    config: { access: REVIEW_ONLY },
    schema: { summary: 'Confirm or override a held prediction (final, audited, recorded as feedback)', tags: ['review'], params: PredictionIdParams, body: ReviewDecisionRequest, response: { 200: ReviewItem, 404: ApiError, 409: ApiError } },
  }, async (req) => decideReview(db, {
    predictionId: req.params.id,
    decision: req.body.decision,
    ...(req.body.class !== undefined ? { finalClass: req.body.class } : {}),
    ...(req.body.note !== undefined ? { note: req.body.note } : {}),
    reviewer: who(req),
  }, feedback));

  app.get('/v1/predictions/:id/review', {
    config: { access: SERVING_ONLY },
    schema: { summary: 'The review outcome of a held prediction, for the caller that made it', tags: ['review'], params: PredictionIdParams, response: { 200: ReviewOutcome, 404: ApiError } },
  }, async (req) => reviewOutcome(db, req.params.id, who(req).tokenId));
};
