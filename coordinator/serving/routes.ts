/**
 * The prediction API (issue 6 §4) as a fastify plugin: `POST /v1/models/:name/predict` answers with the
 * production version, or with the canary for its share of requests; a shadow version scores the same
 * instances without its answers being returned, and agreement is logged and counted;
 * `GET /v1/models/:name/status` reports routing and counters. Every request reads the deployment revision
 * (one primary-key lookup), so a `tessera deploy` or `tessera rollback` from another process takes effect
 * on the next request, without a restart.
 *
 * Predict takes the serving credential only (a token of role `predict`, coordinator/api/access.ts): no operator
 * role may predict, and a predict token reads nothing else. Predictions are rate-limited per address by
 * @fastify/rate-limit (coordinator/api/rate-limits.ts). The status route is for operators.
 *
 *   await app.register(servingRoutes, { stateDir, db, logger });   // after installApiConventions
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Db } from '../../governance/state/database.ts';
import { deploymentRevision, getDeploymentState, type DeploymentState } from '../../governance/deploy/deployments.ts';
import { initBackend } from '../../ml/backend.ts';
import { ApiError, ModelNameParams } from '../../protocol/api.ts';
import type { ErrorCode } from '../../protocol/errors.ts';
import { PredictRequest, PredictResponse, ServingStatus } from '../../protocol/serving.ts';
import { silentLogger } from '../../lib/logger.ts';
import { ANY_OPERATOR, SERVING_ONLY } from '../api/access.ts';
import { DEFAULT_PREDICT_PER_MINUTE, RATE_WINDOW_MS } from '../api/rate-limits.ts';
import type { Metrics } from '../metrics.ts';
import { canarySplit, type CanarySplit } from './canary-split.ts';
import { ModelCache, argmax, predictProbabilities } from './model-cache.ts';
import { reviewHold } from './review/hold.ts';

export interface ServingOptions {
  readonly stateDir: string;
  readonly db: Db;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Prediction requests per address per minute (default 300). */
  readonly predictPerMinute?: number;
}

/** Routing and counters for one model name, rebuilt when its deployment revision moves. */
interface Router {
  state: DeploymentState;
  /** The random, per-caller sticky split of the current canary (canary-split.ts); a new canary draws a new salt. */
  split: CanarySplit;
  served: { production: number; canary: number };
  shadow: { requests: number; instances: number; agreed: number };
}

function fail(reply: FastifyReply, status: 400 | 404 | 500, code: ErrorCode, message: string): FastifyReply {
  return reply.code(status).send({ error: { code, message } });
}

export const servingRoutes: FastifyPluginAsyncZod<ServingOptions> = async (app, options) => {
  const { db } = options;
  // Scoped to this plugin: only routes that ask (config.rateLimit) are limited.
  await app.register(rateLimit, { global: false });
  const logger = (options.logger ?? silentLogger()).child({ component: 'serving' });
  await initBackend();
  const cache = new ModelCache(options.stateDir);
  const routers = new Map<string, Router>();
  app.addHook('onClose', async () => cache.dispose());
  const review = reviewHold({ db, stateDir: options.stateDir, logger });

  /** The router of `name` at the current revision (re-reading the deployment table when it changed). */
  const routerFor = (name: string): Router => {
    const revision = deploymentRevision(db, name);
    const current = routers.get(name);
    if (current && current.state.revision === revision) return current;
    const state = getDeploymentState(db, name);
    const prev = current?.state;
    const sameCanary = prev !== undefined && prev.canary === state.canary && prev.canaryPercent === state.canaryPercent;
    const router: Router = {
      state,
      split: sameCanary && current ? current.split : canarySplit(state.canaryPercent ?? 0),
      served: sameCanary && prev.production === state.production && current ? current.served : { production: 0, canary: 0 },
      shadow: prev?.shadow === state.shadow && current ? current.shadow : { requests: 0, instances: 0, agreed: 0 },
    };
    routers.set(name, router);
    // Load what this name now routes to (verifying hashes), then free versions nobody routes to any more.
    for (const v of [state.production, state.canary, state.shadow]) if (v) cache.get(v);
    const inUse = new Set<string>();
    for (const r of routers.values()) for (const v of [r.state.production, r.state.canary, r.state.shadow]) if (v) inUse.add(v);
    cache.retain(inUse);
    logger.info({ model: name, revision, production: state.production, canary: state.canary, canaryPercent: state.canaryPercent, shadow: state.shadow }, 'deployment routing loaded');
    return router;
  };

  const predictConfig = {
    access: SERVING_ONLY,
    rateLimit: { max: options.predictPerMinute ?? DEFAULT_PREDICT_PER_MINUTE, timeWindow: RATE_WINDOW_MS },
  };
  const predictSchema = {
    summary: 'Predict with the deployed model (production, or the canary for its share of callers)',
    tags: ['serving'],
    params: ModelNameParams,
    body: PredictRequest,
    response: { 200: PredictResponse, 404: ApiError },
  };
  app.post('/v1/models/:name/predict', { config: predictConfig, schema: predictSchema }, async (req, reply) => {
    const { name } = req.params;
    const { instances } = req.body;
    let router: Router;
    try {
      router = routerFor(name);
    } catch (e) {
      logger.error({ model: name, err: e }, 'cannot load the deployed model');
      return fail(reply, 500, 'TESSERA_ERR_STATE', `Cannot load the deployed versions of '${name}': ${e instanceof Error ? e.message : String(e)}`);
    }
    const { state } = router;
    if (state.production === null) return fail(reply, 404, 'TESSERA_ERR_NOT_FOUND', `No production deployment of model '${name}'`);

    const caller = req.headers['x-tessera-caller'];
    const toCanary = state.canary !== null && router.split.routes(typeof caller === 'string' ? caller : undefined);
    const version = toCanary && state.canary !== null ? state.canary : state.production;
    const served = cache.get(version);
    const bad = instances.findIndex((row) => row.length !== served.inputSize);
    if (bad >= 0) return fail(reply, 400, 'TESSERA_ERR_MESSAGE_INVALID', `instances[${bad}] has ${instances[bad]?.length} features; model '${name}' takes ${served.inputSize}`);

    const predictions = predictProbabilities(served, instances);
    const classes = predictions.map(argmax);
    router.served[toCanary ? 'canary' : 'production']++;

    if (state.shadow !== null && state.shadow !== version) {
      // Score with the shadow version; its answers are compared, never returned.
      try {
        const shadowClasses = predictProbabilities(cache.get(state.shadow), instances).map(argmax);
        const agreed = shadowClasses.reduce((n, c, i) => n + (c === classes[i] ? 1 : 0), 0);
        router.shadow.requests++;
        router.shadow.instances += classes.length;
        router.shadow.agreed += agreed;
        logger.info({ model: name, shadow: state.shadow, servedBy: version, instances: classes.length, agreed }, 'shadow comparison');
      } catch (e) {
        logger.warn({ model: name, shadow: state.shadow, err: e }, 'shadow scoring failed; the served answer is unaffected');
      }
    }
    const stage = toCanary ? 'canary' : 'production';
    // ── Review and explanations (issue 20 §5–6, review/hold.ts): the one hook; it adds `review` and `explanations`. ──
    const annotations = review.annotate({ model: name, stage, served, instances, predictions, classes, callerToken: req.operator?.tokenId ?? '', explain: req.body.explain });
    const response: PredictResponse = { model: name, version, stage, predictions, classes, ...annotations };
    options.metrics?.inc('tessera_predictions_total', 'Prediction requests answered, by model and the stage that answered', { model: name, stage: response.stage });
    return response;
  });

  const statusSchema = { summary: 'Routing (production, canary, shadow) and request counters of a served model', tags: ['serving'], params: ModelNameParams, response: { 200: ServingStatus, 404: ApiError } };
  app.get('/v1/models/:name/status', { config: { access: ANY_OPERATOR }, schema: statusSchema }, async (req, reply) => {
    const { name } = req.params;
    if (deploymentRevision(db, name) === 0) return fail(reply, 404, 'TESSERA_ERR_NOT_FOUND', `Model '${name}' has never been deployed`);
    const r = routerFor(name);
    const s = r.state;
    const status: ServingStatus = {
      model: name,
      revision: s.revision,
      production: s.production === null ? null : { version: s.production, requests: r.served.production },
      canary: s.canary === null ? null : { version: s.canary, percent: s.canaryPercent ?? 0, requests: r.served.canary },
      shadow: s.shadow === null
        ? null
        : { version: s.shadow, requests: r.shadow.requests, instances: r.shadow.instances, agreed: r.shadow.agreed, agreement: r.shadow.instances === 0 ? null : r.shadow.agreed / r.shadow.instances },
    };
    return status;
  });
};
