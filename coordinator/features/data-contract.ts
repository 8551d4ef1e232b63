/**
 * The coordinator's side of data contracts: it records which clients declined for a contract reason (the
 * round loop already lists them), aggregates the clients' drift statistics per feature each round, and
 * raises an alert — a warning log line and the `tessera_drift_alerts_total` metric — when a feature's
 * aggregate crosses its threshold.
 */
import { aggregateDrift } from '../../governance/contract/summary.ts';
import type { FeatureFactory } from './assemble.ts';

export const dataContractFeature: FeatureFactory = (ctx) => {
  const metrics = ctx.metrics;
  const hash = ctx.spec.data.contractHash;
  if (hash === undefined) return null;
  return {
    name: 'data-contract',
    provides: ['drift-report'],
    hooks: {
      roundExtra(round, outcome) {
        const summaries = outcome.dataChecks.filter((s) => s.contractHash === hash);
        if (summaries.length === 0) return {};
        const aggregates = aggregateDrift(summaries);
        const alerts = aggregates.filter((a) => a.alert);
        for (const a of alerts) {
          ctx.logger.warn({ round, column: a.column, statistic: a.statistic, meanValue: a.meanValue, threshold: a.threshold, driftedClients: a.driftedClients }, `drift alert on ${a.column}`);
          metrics?.inc('tessera_drift_alerts_total', 'Drift alerts raised per feature', { job: ctx.jobId, column: a.column, statistic: a.statistic });
        }
        const failed = summaries.filter((s) => !s.passed).length;
        if (failed > 0) metrics?.inc('tessera_contract_declines_total', 'Clients that declined a round because their data failed the contract', { job: ctx.jobId }, failed);
        return { dataContract: { checked: summaries.length, failed, driftAlerts: alerts.map((a) => ({ column: a.column, statistic: a.statistic, meanValue: a.meanValue, threshold: a.threshold, driftedClients: a.driftedClients, clients: a.clients })) } };
      },
    },
  };
};
