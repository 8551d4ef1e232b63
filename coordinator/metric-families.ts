/**
 * Every metric family the coordinator exposes at GET /v1/metrics, declared once: its type, help text and label
 * names. `Metrics` registers them all when a coordinator starts, so a scrape before the first round already
 * lists each family (issue 15 item 6) and a dashboard can be built against a fresh coordinator. A metric used in
 * code must be listed here: `Metrics.inc`/`set` accept only these names (a type error otherwise).
 *
 * Counts and aggregate statistics only: labels name jobs, models, codes and features — never a client or an
 * organisation, so a viewer token learns no per-organisation detail from metrics.
 */
export const METRIC_FAMILIES = {
  // Transport and API.
  tessera_connections_refused_total: { type: 'counter', help: 'Connections refused before they reached the federation, by error code', labelNames: ['code'] },
  tessera_api_requests_refused_total: { type: 'counter', help: 'Operator API requests refused by the access guard (401, 403, 429), by error code', labelNames: ['code'] },
  tessera_clients_connected: { type: 'gauge', help: 'Clients connected and authenticated now', labelNames: [] },
  // Rounds (coordinator/features/round-metrics.ts).
  tessera_rounds_committed_total: { type: 'counter', help: 'Rounds committed', labelNames: ['job'] },
  tessera_round_participants: { type: 'gauge', help: 'Clients whose update the last committed round aggregated', labelNames: ['job'] },
  tessera_round_clients_dropped_total: { type: 'counter', help: 'Sampled clients that dropped out of committed rounds', labelNames: ['job'] },
  tessera_round_clients_declined_total: { type: 'counter', help: 'Sampled clients that declined committed rounds', labelNames: ['job'] },
  tessera_round_duration_seconds: { type: 'gauge', help: 'Wall time of the last committed round', labelNames: ['job'] },
  // Features.
  tessera_dp_epsilon_spent: { type: 'gauge', help: 'Epsilon spent by the job after its last charged round', labelNames: ['job'] },
  tessera_secagg_aborts_total: { type: 'counter', help: 'Secure-aggregation rounds aborted before unmasking', labelNames: ['job'] },
  tessera_secagg_evaluation_aborts_total: { type: 'counter', help: 'Secure federated evaluations aborted before unmasking', labelNames: ['job'] },
  tessera_drift_alerts_total: { type: 'counter', help: 'Drift alerts raised per feature', labelNames: ['job', 'column', 'statistic'] },
  tessera_contract_declines_total: { type: 'counter', help: 'Clients that declined a round because their data failed the contract', labelNames: ['job'] },
  tessera_fairness_report_errors_total: { type: 'counter', help: 'Federated evaluations whose fairness counts could not be used', labelNames: ['job'] },
  tessera_fairness_policy_passed: { type: 'gauge', help: 'Whether the last fairness report passed every policy rule (1) or not (0)', labelNames: ['job'] },
  // Serving (coordinator/serving/routes.ts).
  tessera_predictions_total: { type: 'counter', help: 'Prediction requests answered, by model and the stage that answered', labelNames: ['model', 'stage'] },
  // Serving monitoring (issue 20 §1–4, coordinator/serving/record.ts). Versions are 64-hex registry versions.
  tessera_prediction_latency_seconds: { type: 'histogram', help: 'Prediction latency (validation, routing and scoring), by model, version and stage', labelNames: ['model', 'version', 'stage'] },
  tessera_prediction_requests_total: { type: 'counter', help: 'Prediction requests by model, version, stage and outcome (answered, error, refused)', labelNames: ['model', 'version', 'stage', 'outcome'] },
  tessera_prediction_instances_total: { type: 'counter', help: 'Instances scored, by model, version and stage', labelNames: ['model', 'version', 'stage'] },
  tessera_serving_contract_violations_total: { type: 'counter', help: 'Served instances refused by the data contract, by model, column and rule', labelNames: ['model', 'column', 'kind'] },
  tessera_serving_schema_changes_total: { type: 'counter', help: 'Served instances whose columns differ from the contract, by model, column and change (missing, unexpected, type)', labelNames: ['model', 'column', 'change'] },
  tessera_serving_drift: { type: 'gauge', help: 'Served-input drift statistic over the sliding window, by model, version, column and statistic', labelNames: ['model', 'version', 'column', 'statistic'] },
  tessera_serving_drift_alerts_total: { type: 'counter', help: 'Served-input drift alerts (a column crossing its threshold), by model, version, column and statistic', labelNames: ['model', 'version', 'column', 'statistic'] },
  tessera_feedback_labels_total: { type: 'counter', help: 'Ground-truth labels received for earlier predictions, by model', labelNames: ['model'] },
  tessera_online_accuracy: { type: 'gauge', help: 'Online accuracy from feedback labels, by model, version and stage', labelNames: ['model', 'version', 'stage'] },
  tessera_online_ece: { type: 'gauge', help: 'Expected calibration error from feedback labels (10 bins), by model, version and stage', labelNames: ['model', 'version', 'stage'] },
  tessera_online_gap: { type: 'gauge', help: 'Offline (registry) minus online accuracy, by model, version and stage', labelNames: ['model', 'version', 'stage'] },
  tessera_online_gap_alerts_total: { type: 'counter', help: 'Online-gap alerts (offline minus online accuracy crossing the threshold), by model and version', labelNames: ['model', 'version'] },
  tessera_canary_rollbacks_total: { type: 'counter', help: 'Canaries rolled back automatically on breached criteria, by model', labelNames: ['model'] },
} as const satisfies Record<string, { type: 'counter' | 'gauge' | 'histogram'; help: string; labelNames: readonly string[] }>;

type Families = typeof METRIC_FAMILIES;
export type MetricName = keyof Families;
export type CounterName = { [K in MetricName]: Families[K]['type'] extends 'counter' ? K : never }[MetricName];
export type GaugeName = { [K in MetricName]: Families[K]['type'] extends 'gauge' ? K : never }[MetricName];
export type HistogramName = { [K in MetricName]: Families[K]['type'] extends 'histogram' ? K : never }[MetricName];
/** The labels a family takes (any subset may be given). */
export type LabelsOf<N extends MetricName> = Partial<Record<Families[N]['labelNames'][number], string>>;
