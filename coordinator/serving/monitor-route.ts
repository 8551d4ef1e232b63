/**
 * `GET /v1/monitor` (issue 20 §2–4): the monitoring picture of every deployed model (or `?model=NAME`), built
 * from the durable serving records by governance/monitoring/picture.ts — the document `tessera monitor` prints.
 * Operator roles only: aggregates, no instance and no single prediction's label, so a viewer may read it; the
 * serving credential may not (a predict token reads nothing but its own answers).
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { monitorReport, type MonitorThresholds } from '../../governance/monitoring/picture.ts';
import { MODEL_NAME_PATTERN } from '../../governance/registry/registry.ts';
import type { Db } from '../../governance/state/database.ts';
import { MonitorReport } from '../../protocol/serving-monitor.ts';
import { ANY_OPERATOR } from '../api/access.ts';

export interface MonitorRouteOptions {
  readonly db: Db;
  readonly stateDir: string;
  readonly thresholds: MonitorThresholds;
}

const MonitorQuery = z.object({ model: z.string().regex(MODEL_NAME_PATTERN).optional() }).strict();

export const monitorRoute: FastifyPluginAsyncZod<MonitorRouteOptions> = async (app, o) => {
  const schema = { summary: 'Latency, errors, input and prediction drift, online accuracy and calibration, and the canary verdict of served models', tags: ['serving'], querystring: MonitorQuery, response: { 200: MonitorReport } };
  app.get('/v1/monitor', { config: { access: ANY_OPERATOR }, schema }, async (req) => monitorReport(o.db, o.stateDir, { thresholds: o.thresholds, ...(req.query.model !== undefined ? { name: req.query.model } : {}) }));
};
