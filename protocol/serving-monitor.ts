/**
 * The monitoring picture of served models (issue 20 §2–4): `GET /v1/monitor` (coordinator/serving/monitor-route.ts)
 * and `tessera monitor --json` print this one document, built by governance/monitoring/picture.ts from the
 * durable serving records. Aggregates only: counts, rates, quantiles, statistics — never an instance or a label
 * of one prediction.
 */
import { z } from 'zod';

const Nullable = z.number().nullable();

export const ReliabilityBin = z.object({ lower: z.number(), upper: z.number(), count: z.number().int(), confidence: Nullable, accuracy: Nullable });

export const DriftFigure = z.object({
  column: z.string(),
  statistic: z.enum(['psi', 'ks']),
  value: z.number(),
  threshold: z.number(),
  drifted: z.boolean(),
  /** Served values in the sliding window the statistic was computed on. */
  n: z.number().int(),
  at: z.string(),
});
export type DriftFigure = z.infer<typeof DriftFigure>;

export const VersionMonitor = z.object({
  version: z.string(),
  stage: z.enum(['production', 'canary']),
  /** When this version entered this stage: the counters start there. */
  since: z.string(),
  requests: z.number().int(),
  instances: z.number().int(),
  /** Requests the version failed to answer (5xx), and requests the contract refused (422). */
  errors: z.number().int(),
  refused: z.number().int(),
  errorRate: Nullable,
  /** From the latency histogram (Prometheus interpolation), milliseconds. */
  latencyMs: z.object({ p50: Nullable, p95: Nullable, p99: Nullable, mean: Nullable }),
  /** Predicted-class shares against the held-out label shares of the registry's evaluation (PSI). */
  predictionDrift: z.object({ shares: z.array(z.number()), reference: z.array(z.number()), psi: z.number(), threshold: z.number(), drifted: z.boolean() }).nullable(),
  online: z.object({ labelled: z.number().int(), accuracy: Nullable, ece: Nullable, reliability: z.array(ReliabilityBin) }),
  /** The federated held-out evaluation recorded in the registry (null when the lineage has none). */
  offline: z.object({ accuracy: z.number(), brier: z.number(), examples: z.number().int() }).nullable(),
  /** offline − online accuracy, once `minLabels` labels arrived; `alert` above the threshold. */
  gap: z.object({ value: z.number(), threshold: z.number(), alert: z.boolean() }).nullable(),
  inputDrift: z.array(DriftFigure),
});
export type VersionMonitor = z.infer<typeof VersionMonitor>;

export const CanaryMonitor = z.object({
  version: z.string(),
  percent: z.number().nullable(),
  since: z.string(),
  /** The policy's canary criteria after every layer and the floor; null when the policy states none. */
  criteria: z.record(z.string(), z.number()).nullable(),
  status: z.enum(['collecting', 'insufficient-evidence', 'watching', 'breached', 'ready', 'no-criteria']),
  figures: z.record(z.string(), z.number().nullable()),
  breaches: z.array(z.string()),
  waitingFor: z.array(z.string()),
});
export type CanaryMonitor = z.infer<typeof CanaryMonitor>;

export const MonitorAlert = z.object({
  kind: z.enum(['input-drift', 'prediction-drift', 'online-gap', 'canary-breach']),
  version: z.string(),
  message: z.string(),
});
export type MonitorAlert = z.infer<typeof MonitorAlert>;

export const ModelMonitor = z.object({
  model: z.string(),
  revision: z.number().int(),
  versions: z.array(VersionMonitor),
  canary: CanaryMonitor.nullable(),
  /** Instances whose columns differed from the contract, per column and kind of change. */
  schemaChanges: z.array(z.object({ column: z.string(), change: z.enum(['missing', 'unexpected', 'type']), count: z.number().int(), lastAt: z.string() })),
  /** Automatic canary rollbacks of this model, newest last. */
  canaryRollbacks: z.array(z.object({ version: z.string(), at: z.string(), actor: z.string() })),
  alerts: z.array(MonitorAlert),
});
export type ModelMonitor = z.infer<typeof ModelMonitor>;

export const MonitorReport = z.object({
  generatedAt: z.string(),
  thresholds: z.object({ onlineGap: z.number(), minLabels: z.number().int(), predictionPsi: z.number() }),
  models: z.array(ModelMonitor),
});
export type MonitorReport = z.infer<typeof MonitorReport>;
