/**
 * Step 4 of a prediction — record: everything that happens after an answer (or a refusal) is known. Durable
 * records first (governance/monitoring/store.ts: the predictions feedback will name, the counters of the version's
 * stay in its stage), then the prom-client metrics, the served-input drift windows, and — for a canary — the
 * policy's canary criteria: a breach rolls the canary back at once through governance/deploy/canary-rollback.ts
 * (the function `tessera rollback --canary` uses), audited with the figures.
 *
 * Logs carry counts, versions, columns and statistics only — never an instance, a value or a label.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { DriftResult } from '../../governance/contract/drift.ts';
import type { SchemaChange } from '../../governance/contract/instance.ts';
import { rollbackCanary } from '../../governance/deploy/canary-rollback.ts';
import { getDeploymentState } from '../../governance/deploy/deployments.ts';
import { canaryVerdictOf, modelMonitor, resolveCanaryCriteria, type MonitorThresholds } from '../../governance/monitoring/picture.ts';
import { recordSchemaChanges, recordServed, recordUnanswered, saveDrift } from '../../governance/monitoring/store.ts';
import type { Db } from '../../governance/state/database.ts';
import type { CanaryCriteria } from '../../protocol/job/governance.ts';
import type { Metrics } from '../metrics.ts';
import { DriftWindows, type DriftWindowOptions } from './drift-window.ts';
import type { Routed, ServedVersion } from './router.ts';
import type { Scored } from './score.ts';
import type { ValidInput } from './validate.ts';

/** The audit actor of automatic canary rollbacks. */
export const CANARY_CRITERIA_ACTOR = 'coordinator:canary-criteria';

export interface RecorderOptions {
  readonly db: Db;
  readonly stateDir: string;
  readonly logger: Logger;
  readonly metrics?: Metrics | undefined;
  readonly maxStoredPredictions: number;
  readonly drift?: DriftWindowOptions | undefined;
  readonly thresholds: MonitorThresholds;
}

/** 128 random bits from the OS CSPRNG: ids that cannot be guessed, so feedback needs the answer that carried them. */
export function newPredictionId(): string {
  return `p_${randomBytes(16).toString('base64url')}`;
}

export class ServingRecorder {
  private readonly drift: DriftWindows;
  /** Columns currently above their threshold, per version (an alert fires on the crossing, not on every recompute). */
  private readonly drifted = new Map<string, Set<string>>();
  private readonly gapAlerting = new Set<string>();
  private criteria: { key: string; criteria: CanaryCriteria | undefined } | null = null;

  constructor(private readonly o: RecorderOptions) {
    this.drift = new DriftWindows(o.drift);
  }

  /** An answered request: stores its predictions and counters, observes metrics and drift; returns the prediction ids. */
  answered(routed: Routed, target: ServedVersion, input: ValidInput, scored: Scored, latencySeconds: number, tokenId: string): string[] {
    const { name, version, stage, since } = routed;
    const at = new Date().toISOString();
    const predictions = scored.probabilities.map((p, i) => ({ id: newPredictionId(), predicted: scored.classes[i] ?? 0, confidence: Math.max(...p), probabilities: p }));
    recordServed(this.o.db, { model: name, version, stage, since, tokenId, latencySeconds, predictions, at, cap: this.o.maxStoredPredictions });
    const m = this.o.metrics;
    m?.observe('tessera_prediction_latency_seconds', { model: name, version, stage }, latencySeconds);
    m?.inc('tessera_prediction_requests_total', 'Prediction requests by outcome', { model: name, version, stage, outcome: 'answered' });
    m?.inc('tessera_prediction_instances_total', 'Instances scored', { model: name, version, stage }, predictions.length);
    m?.inc('tessera_predictions_total', 'Prediction requests answered, by model and the stage that answered', { model: name, stage });
    this.schema(name, input.changes, at);
    if (target.contract !== null && input.rows !== null) {
      const results = this.drift.add(version, target.contract, input.rows);
      if (results !== null) this.driftComputed(name, version, results, at);
    }
    if (stage === 'canary') this.checkCanary(name);
    return predictions.map((p) => p.id);
  }

  /** A request the routed version failed to answer (`error`) or the contract refused (`refused`). */
  unanswered(routed: Routed, kind: 'error' | 'refused', tokenId: string, extra: { violations?: ReadonlyArray<{ column: string; kind: string }>; changes?: readonly SchemaChange[] } = {}): void {
    const { name, version, stage, since } = routed;
    const at = new Date().toISOString();
    recordUnanswered(this.o.db, { model: name, version, stage, since, kind, at, tokenId });
    const m = this.o.metrics;
    m?.inc('tessera_prediction_requests_total', 'Prediction requests by outcome', { model: name, version, stage, outcome: kind });
    for (const v of extra.violations ?? []) m?.inc('tessera_serving_contract_violations_total', 'Served instances refused by the contract', { model: name, column: v.column, kind: v.kind });
    this.schema(name, extra.changes ?? [], at);
    if (kind === 'error' && stage === 'canary') this.checkCanary(name);
  }

  /** After feedback: online accuracy, calibration and gap gauges, the gap alert, and the canary criteria. */
  feedbackRecorded(name: string, labels: number): void {
    this.o.metrics?.inc('tessera_feedback_labels_total', 'Ground-truth labels received', { model: name }, labels);
    const picture = modelMonitor(this.o.db, this.o.stateDir, name, this.o.thresholds);
    for (const v of picture.versions) {
      const labelsOf = { model: name, version: v.version, stage: v.stage };
      if (v.online.accuracy !== null) this.o.metrics?.set('tessera_online_accuracy', 'Online accuracy', labelsOf, v.online.accuracy);
      if (v.online.ece !== null) this.o.metrics?.set('tessera_online_ece', 'Expected calibration error', labelsOf, v.online.ece);
      if (v.gap === null) continue;
      this.o.metrics?.set('tessera_online_gap', 'Offline minus online accuracy', labelsOf, v.gap.value);
      const key = `${v.version}/${v.stage}`;
      if (v.gap.alert && !this.gapAlerting.has(key)) {
        this.gapAlerting.add(key);
        this.o.metrics?.inc('tessera_online_gap_alerts_total', 'Online-gap alerts', { model: name, version: v.version });
        this.o.logger.warn({ model: name, version: v.version, stage: v.stage, offline: v.offline?.accuracy, online: v.online.accuracy, labelled: v.online.labelled, gap: v.gap.value, threshold: v.gap.threshold }, 'online accuracy gap alert');
      } else if (!v.gap.alert) this.gapAlerting.delete(key);
    }
    this.checkCanary(name);
  }

  /** Frees drift windows of versions no longer served. */
  retain(versions: ReadonlySet<string>): void {
    this.drift.retain(versions);
  }

  private schema(name: string, changes: readonly SchemaChange[], at: string): void {
    if (changes.length === 0) return;
    recordSchemaChanges(this.o.db, name, changes, at);
    for (const c of changes) this.o.metrics?.inc('tessera_serving_schema_changes_total', 'Served instances whose columns differ from the contract', { model: name, column: c.change === 'unexpected' ? '(unexpected)' : c.column, change: c.change });
  }

  private driftComputed(name: string, version: string, results: readonly DriftResult[], at: string): void {
    saveDrift(this.o.db, name, results.map((r) => ({ version, column: r.column, statistic: r.statistic, value: r.value, threshold: r.threshold, drifted: r.drifted, n: r.n, at })));
    const over = this.drifted.get(version) ?? new Set<string>();
    for (const r of results) {
      const key = `${r.column}/${r.statistic}`;
      this.o.metrics?.set('tessera_serving_drift', 'Served-input drift statistic', { model: name, version, column: r.column, statistic: r.statistic }, r.value);
      if (r.drifted && !over.has(key)) {
        over.add(key);
        this.o.metrics?.inc('tessera_serving_drift_alerts_total', 'Served-input drift alerts', { model: name, version, column: r.column, statistic: r.statistic });
        this.o.logger.warn({ model: name, version, column: r.column, statistic: r.statistic, value: r.value, threshold: r.threshold, n: r.n }, `served-input drift alert on ${r.column}`);
      } else if (!r.drifted) over.delete(key);
    }
    this.drifted.set(version, over);
  }

  /** Judges the canary of `name`; a breach rolls it back (audited with the verdict). */
  private checkCanary(name: string): void {
    const { db, stateDir, logger } = this.o;
    const state = getDeploymentState(db, name);
    if (state.canary === null) return;
    const key = `${name}/${state.canary}/${state.revision}`;
    if (this.criteria?.key !== key) this.criteria = { key, criteria: resolveCanaryCriteria(db, stateDir, state.canary) };
    const c = canaryVerdictOf(db, stateDir, state, { criteria: this.criteria.criteria });
    if (c?.verdict?.status !== 'breached' || c.criteria === null) return;
    const reason = `canary criteria breached: ${c.verdict.breaches.join('; ')}`;
    const after = rollbackCanary(db, {
      name,
      actor: CANARY_CRITERIA_ACTOR,
      reason,
      automatic: true,
      expectedCanary: state.canary,
      evidence: { since: c.since, criteria: c.criteria, figures: c.verdict.figures, breaches: c.verdict.breaches },
    });
    if (after === null) return;
    this.o.metrics?.inc('tessera_canary_rollbacks_total', 'Canaries rolled back automatically', { model: name });
    logger.warn({ model: name, canary: state.canary, production: state.production, breaches: c.verdict.breaches }, 'canary rolled back: criteria breached');
  }
}
