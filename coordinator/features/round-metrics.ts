/**
 * Round figures for GET /v1/metrics (metric-families.ts): rounds committed, participants, dropped and declined
 * clients and round time, per job. Counts only — no client or organisation is named. It runs after every feature
 * that writes in the round-commit transaction, so a commit that one of them refuses is not counted.
 */
import type { FeatureFactory } from './assemble.ts';

export const roundMetricsFeature: FeatureFactory = (ctx) => {
  const metrics = ctx.metrics;
  if (!metrics) return null;
  const job = { job: ctx.jobId };
  return {
    name: 'round-metrics',
    after: ['job-rows', 'privacy-charge', 'audit-trail'],
    hooks: {
      commitRound(record) {
        metrics.inc('tessera_rounds_committed_total', 'Rounds committed', job);
        metrics.set('tessera_round_participants', 'Clients whose update the last committed round aggregated', job, record.participants);
        metrics.inc('tessera_round_clients_dropped_total', 'Sampled clients that dropped out of committed rounds', job, record.dropped.length);
        metrics.inc('tessera_round_clients_declined_total', 'Sampled clients that declined committed rounds', job, record.declined.length);
        metrics.set('tessera_round_duration_seconds', 'Wall time of the last committed round', job, record.durationMs / 1000);
      },
    },
  };
};
