/**
 * `POST /v1/models/:name/feedback` (issue 20 §3): ground-truth labels for earlier predictions, by the ids the
 * predict answer carried. All or nothing (governance/monitoring/store.ts `recordFeedback`): an id this caller was
 * not given is 404 TESSERA_ERR_PREDICTION_UNKNOWN — never issued, another model's, another predict token's, or
 * evicted — answered exactly alike so the route is no oracle for other callers' ids; a second label for an id is
 * 409 TESSERA_ERR_FEEDBACK_DUPLICATE (no replay can inflate online accuracy); a label that is no class of the model
 * is 422 TESSERA_ERR_FEEDBACK_INVALID. A prediction held for human review takes its label from the reviewer's
 * decision (review/feedback-sink.ts), so a predict token's label for it is 409 TESSERA_ERR_FEEDBACK_HELD.
 *
 * A predict token labels only the predictions it received; an operator or ML lead may label any prediction of
 * the model (ground truth often arrives from another system than the one that asked). Labels count as the evidence
 * of the token that gave them (governance/monitoring/token-evidence.ts): the canary's accuracy gap needs labels
 * from several distinct tokens, and one labeller's labels never decide it alone (canary-evidence.ts).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { recordFeedback } from '../../governance/monitoring/store.ts';
import type { Db } from '../../governance/state/database.ts';
import { SERVING_ROLE } from '../../governance/identity/operator-tokens.ts';
import { ApiError, ModelNameParams } from '../../protocol/api.ts';
import { isTesseraError } from '../../protocol/errors.ts';
import { FeedbackRequest, FeedbackResponse } from '../../protocol/serving.ts';
import type { ServingRecorder } from './record.ts';
import { isHeldForReview } from './review/store.ts';
import type { ServingRouter } from './router.ts';

export interface FeedbackRouteOptions {
  readonly db: Db;
  readonly router: ServingRouter;
  readonly recorder: ServingRecorder;
  readonly rateLimit: { max: number; timeWindow: number };
}

const STATUS = { TESSERA_ERR_PREDICTION_UNKNOWN: 404, TESSERA_ERR_FEEDBACK_DUPLICATE: 409, TESSERA_ERR_FEEDBACK_HELD: 409, TESSERA_ERR_FEEDBACK_INVALID: 422 } as const;

export const feedbackRoute: FastifyPluginAsyncZod<FeedbackRouteOptions> = async (app, o) => {
  const schema = {
    summary: 'Ground-truth labels for earlier predictions (by prediction id; one label per prediction, all or nothing)',
    tags: ['serving'],
    params: ModelNameParams,
    body: FeedbackRequest,
    response: { 200: FeedbackResponse, 404: ApiError, 409: ApiError, 422: ApiError },
  };
  app.post('/v1/models/:name/feedback', { config: { access: [SERVING_ROLE, 'ml-lead', 'operator'], rateLimit: o.rateLimit }, schema }, async (req, reply) => {
    const { name } = req.params;
    const who = req.operator;
    let accepted: number;
    try {
      accepted = recordFeedback(o.db, {
        model: name,
        tokenId: who === null || who.role === SERVING_ROLE ? (who?.tokenId ?? '') : null,
        labeller: who?.tokenId ?? '(anonymous)',
        items: req.body.feedback,
        at: new Date().toISOString(),
        heldForReview: (id) => isHeldForReview(o.db, id),
        resolveLabel: (version, label) => {
          const names = o.router.served(version).classNames;
          const i = names?.indexOf(label) ?? -1;
          return i >= 0 ? i : undefined;
        },
      });
    } catch (e) {
      if (isTesseraError(e) && e.code in STATUS) return reply.code(STATUS[e.code as keyof typeof STATUS]).send({ error: { code: e.code, message: e.message } });
      throw e;
    }
    o.recorder.feedbackRecorded(name, accepted);
    const response: FeedbackResponse = { model: name, accepted };
    return response;
  });
};
