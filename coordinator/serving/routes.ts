/**
 * The prediction API (issue 6 §4, issue 20 §1–4) as a fastify plugin. `POST /v1/models/:name/predict` runs four
 * small steps, each in its own file so a feature can hook in between them with one line:
 *
 *   route (router.ts) → validate (validate.ts) → score (score.ts) → record (record.ts)
 *
 * Routing comes first because the contract that validates an instance is the routed version's own (a canary may
 * be trained under a newer contract than production). The answer carries one prediction id per instance, which
 * `POST /v1/models/:name/feedback` (feedback-route.ts) takes back with the true label; `GET /v1/monitor`
 * (monitor-route.ts) shows latency, errors, drift, online accuracy and calibration and the canary's verdict.
 * A shadow version scores the same inputs without its answers being returned; agreement is counted.
 *
 * Predict (and feedback) take the serving credential (a token of role `predict`, coordinator/api/access.ts): no
 * operator role may predict, and a predict token reads nothing else. Both are rate-limited per address by
 * @fastify/rate-limit (coordinator/api/rate-limits.ts). Status and monitoring are for operators.
 *
 *   await app.register(servingRoutes, { stateDir, db, logger });   // after installApiConventions
 */
import rateLimit from '@fastify/rate-limit';
import type { FastifyReply } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import type { Contract } from '../../governance/contract/schema.ts';
import { deploymentRevision } from '../../governance/deploy/deployments.ts';
import { MONITOR_DEFAULTS, type MonitorThresholds } from '../../governance/monitoring/picture.ts';
import { DEFAULT_MAX_STORED_PREDICTIONS } from '../../governance/monitoring/store.ts';
import type { Db } from '../../governance/state/database.ts';
import { initBackend } from '../../ml/backend.ts';
import { ApiError, ModelNameParams } from '../../protocol/api.ts';
import type { ErrorCode } from '../../protocol/errors.ts';
import { InstanceRefusal, PredictRequest, PredictResponse, ServingStatus } from '../../protocol/serving.ts';
import { silentLogger } from '../../lib/logger.ts';
import { ANY_OPERATOR, SERVING_ONLY } from '../api/access.ts';
import { DEFAULT_PREDICT_PER_MINUTE, RATE_WINDOW_MS } from '../api/rate-limits.ts';
import type { Metrics } from '../metrics.ts';
import type { DriftWindowOptions } from './drift-window.ts';
import { feedbackRoute } from './feedback-route.ts';
import { ModelCache, argmax, predictProbabilities } from './model-cache.ts';
import { reviewHold } from './review/hold.ts';
import { monitorRoute } from './monitor-route.ts';
import { ServingRecorder } from './record.ts';
import { ServingRouter, type Routed, type ServedVersion } from './router.ts';
import { scoreInstances, type ScoringHooks } from './score.ts';
import { validateInstances } from './validate.ts';

export interface ServingOptions {
  readonly stateDir: string;
  readonly db: Db;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Prediction (and feedback) requests per address per minute (default 300). */
  readonly predictPerMinute?: number;
  /** Data contracts beyond the built-in ones (`tessera coordinator --contract`), found by the hash a model's lineage names. */
  readonly contracts?: readonly Contract[];
  /** Predictions kept for feedback (default 100,000; governance/state/migrations/serving.ts gives the size). */
  readonly maxStoredPredictions?: number;
  /** Served-input drift windows (drift-window.ts). */
  readonly drift?: DriftWindowOptions;
  /** Online-gap and prediction-drift alert thresholds (default MONITOR_DEFAULTS). */
  readonly monitorThresholds?: MonitorThresholds;
  /** Test-only hooks (score.ts). */
  readonly hooks?: ScoringHooks;
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
  const review = reviewHold({ db, stateDir: options.stateDir, logger });
  const thresholds = options.monitorThresholds ?? MONITOR_DEFAULTS;
  const recorder = new ServingRecorder({ db, stateDir: options.stateDir, logger, metrics: options.metrics, maxStoredPredictions: options.maxStoredPredictions ?? DEFAULT_MAX_STORED_PREDICTIONS, drift: options.drift, thresholds });
  const router = new ServingRouter(db, logger, options.contracts ?? [], (inUse) => {
    cache.retain(inUse);
    recorder.retain(inUse);
  });
  app.addHook('onClose', async () => cache.dispose());
  const limited = { max: options.predictPerMinute ?? DEFAULT_PREDICT_PER_MINUTE, timeWindow: RATE_WINDOW_MS };

  const predictSchema = {
    summary: 'Predict with the deployed model (production, or the canary for its share of callers)',
    tags: ['serving'],
    params: ModelNameParams,
    body: PredictRequest,
    response: { 200: PredictResponse, 400: ApiError, 404: ApiError, 422: InstanceRefusal, 500: ApiError },
  };
  app.post('/v1/models/:name/predict', { config: { access: SERVING_ONLY, rateLimit: limited }, schema: predictSchema }, async (req, reply) => {
    const started = process.hrtime.bigint();
    const { name } = req.params;
    const caller = req.headers['x-tessera-caller'];
    const tokenId = req.operator?.tokenId ?? 'anonymous';
    // 1. Route.
    let routed: Routed | null;
    try {
      routed = router.route(name, { tokenId, caller: typeof caller === 'string' ? caller : undefined });
    } catch (e) {
      logger.error({ model: name, err: e }, 'cannot read the deployment of the model');
      return fail(reply, 500, 'TESSERA_ERR_STATE', `Cannot read the deployment of '${name}': ${e instanceof Error ? e.message : String(e)}`);
    }
    if (routed === null) return fail(reply, 404, 'TESSERA_ERR_NOT_FOUND', `No production deployment of model '${name}'`);
    let target: ServedVersion;
    try {
      target = router.served(routed.version);
    } catch (e) {
      recorder.unanswered(routed, 'error', tokenId);
      logger.error({ model: name, version: routed.version, err: e }, 'cannot serve the routed version');
      return fail(reply, 500, 'TESSERA_ERR_SCORING_FAILED', `version ${routed.version.slice(0, 12)} of '${name}' cannot be served: ${e instanceof Error ? e.message : String(e)}`);
    }
    // 2. Validate against the routed version's contract and transform by its feature pipeline.
    const input = validateInstances(target, req.body.instances, name);
    if (!input.ok) {
      recorder.unanswered(routed, 'refused', tokenId, { violations: input.violations, changes: input.changes });
      return reply.code(input.status).send({ error: input.refusal });
    }
    // 3. Score.
    let scored;
    try {
      scored = await scoreInstances(cache, routed.version, input.features, options.hooks);
    } catch (e) {
      recorder.unanswered(routed, 'error', tokenId);
      logger.error({ model: name, version: routed.version, stage: routed.stage, err: e }, 'scoring failed');
      return fail(reply, 500, 'TESSERA_ERR_SCORING_FAILED', e instanceof Error ? e.message : String(e));
    }
    const latencySeconds = Number(process.hrtime.bigint() - started) / 1e9;
    routed.router.served[routed.stage]++;
    shadowScore(routed, input.features, scored.classes);
    // 4. Record (durable predictions and counters, metrics, drift, canary criteria).
    const predictionIds = recorder.answered(routed, target, input, scored, latencySeconds, tokenId);
    const response: PredictResponse = {
      model: name,
      version: routed.version,
      stage: routed.stage,
      predictions: scored.probabilities,
      classes: scored.classes,
      ...(target.classNames !== null ? { labels: scored.classes.map((c) => target.classNames?.[c] ?? String(c)) } : {}),
      predictionIds,
      // ── Review and explanations (issue 20 §5–6, review/hold.ts): the one hook; it adds `review` and `explanations`. ──
      ...review.annotate({ model: name, stage: routed.stage, served: cache.get(routed.version), instances: input.features, predictions: scored.probabilities, classes: scored.classes, callerToken: req.operator?.tokenId ?? '', predictionIds, explain: req.body.explain }),
    };
    return response;
  });

  /** Scores with the shadow version; its answers are compared, never returned. */
  function shadowScore(routed: Routed, features: number[][], classes: readonly number[]): void {
    const { state } = routed.router;
    if (state.shadow === null || state.shadow === routed.version) return;
    try {
      const shadowClasses = predictProbabilities(cache.get(state.shadow), features).map(argmax);
      const agreed = shadowClasses.reduce((n, c, i) => n + (c === classes[i] ? 1 : 0), 0);
      routed.router.shadow.requests++;
      routed.router.shadow.instances += classes.length;
      routed.router.shadow.agreed += agreed;
      logger.info({ model: routed.name, shadow: state.shadow, servedBy: routed.version, instances: classes.length, agreed }, 'shadow comparison');
    } catch (e) {
      logger.warn({ model: routed.name, shadow: state.shadow, err: e }, 'shadow scoring failed; the served answer is unaffected');
    }
  }

  const statusSchema = { summary: 'Routing (production, canary, shadow) and request counters of a served model', tags: ['serving'], params: ModelNameParams, response: { 200: ServingStatus, 404: ApiError } };
  app.get('/v1/models/:name/status', { config: { access: ANY_OPERATOR }, schema: statusSchema }, async (req, reply) => {
    const { name } = req.params;
    if (deploymentRevision(db, name) === 0) return fail(reply, 404, 'TESSERA_ERR_NOT_FOUND', `Model '${name}' has never been deployed`);
    const r = router.routerFor(name);
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

  await app.register(feedbackRoute, { db, router, recorder, rateLimit: limited });
  await app.register(monitorRoute, { db, stateDir: options.stateDir, thresholds });
};
