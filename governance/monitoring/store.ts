/**
 * The durable serving records (migration serving-001): predictions kept for feedback (bounded), counters per
 * (model, version, stage) for the canary criteria and `tessera monitor`, the last served-input drift per column
 * and schema changes per column. Read by the serving coordinator and by the CLI straight from the state
 * directory; no TensorFlow.js here.
 *
 * Counters belong to one stay of a version in a stage: `since` is the time of the deployment event that put it
 * there, so a version canaried again after a rollback starts from zero rather than inheriting its old errors.
 * Only outputs are kept — class, confidence, probabilities — never an instance's inputs. The same counts, split by
 * token, go to token-evidence.ts in the same transaction (the canary verdict's evidence).
 */
import type { DriftResult } from '../contract/drift.ts';
import { TesseraError } from '../../protocol/errors.ts';
import type { Db } from '../state/database.ts';
import { emptyServingCounts, servingCountsFromRow, withLabel, withServed, type RawServingCounts, type ServingCounts } from './serving-counts.ts';
import { updateTokenEvidence } from './token-evidence.ts';

export type ServedStage = 'production' | 'canary';

/** Predictions kept for feedback unless ServingOptions says otherwise (size: migrations/serving.ts). */
export const DEFAULT_MAX_STORED_PREDICTIONS = 100_000;

export interface CounterRow extends ServingCounts {
  readonly model: string;
  readonly version: string;
  readonly stage: ServedStage;
  readonly since: string;
  readonly refused: number;
  readonly updatedAt: string;
}

interface RawCounter extends RawServingCounts {
  model: string;
  version: string;
  stage: ServedStage;
  since: string;
  refused: number;
  updated_at: string;
}

const toCounter = (r: RawCounter): CounterRow => ({
  ...servingCountsFromRow(r),
  model: r.model,
  version: r.version,
  stage: r.stage,
  since: r.since,
  refused: r.refused,
  updatedAt: r.updated_at,
});

/** When `version` entered `stage` for `name`: the latest deployment event that put it there (a canary's rollback takes it out). */
export function stageSince(db: Db, name: string, version: string, stage: ServedStage): string {
  const at = db
    .prepare("SELECT at FROM deployments WHERE name = ? AND version = ? AND stage = ? AND NOT (action = 'rollback' AND stage = 'canary') ORDER BY id DESC LIMIT 1")
    .pluck()
    .get(name, version, stage) as string | undefined;
  return at ?? new Date(0).toISOString();
}

export interface CounterKey {
  readonly model: string;
  readonly version: string;
  readonly stage: ServedStage;
  readonly since: string;
}

/** The counters of one stay (fresh when the stored row belongs to an earlier stay). */
function currentCounter(db: Db, k: CounterKey, at: string): CounterRow {
  const r = db.prepare('SELECT * FROM serving_counters WHERE model = ? AND version = ? AND stage = ?').get(k.model, k.version, k.stage) as RawCounter | undefined;
  if (r !== undefined && r.since === k.since) return toCounter(r);
  return { ...k, ...emptyServingCounts(), refused: 0, updatedAt: at };
}

function saveCounter(db: Db, c: CounterRow): void {
  db.prepare(
    `INSERT INTO serving_counters (model, version, stage, since, requests, instances, errors, refused, latency, latency_sum, predicted, calibration, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (model, version, stage) DO UPDATE SET since = excluded.since, requests = excluded.requests, instances = excluded.instances,
       errors = excluded.errors, refused = excluded.refused, latency = excluded.latency, latency_sum = excluded.latency_sum,
       predicted = excluded.predicted, calibration = excluded.calibration, updated_at = excluded.updated_at`,
  ).run(c.model, c.version, c.stage, c.since, c.requests, c.instances, c.errors, c.refused, JSON.stringify(c.latency), c.latencySum, JSON.stringify(c.predicted), JSON.stringify(c.calibration), c.updatedAt);
}

export interface StoredPrediction {
  readonly id: string;
  readonly predicted: number;
  readonly confidence: number;
  readonly probabilities: readonly number[];
}

/** One answered request: its predictions (kept for feedback, oldest beyond `cap` evicted) and its counters. */
export function recordServed(db: Db, input: CounterKey & { tokenId: string; latencySeconds: number; predictions: readonly StoredPrediction[]; at: string; cap: number }): CounterRow {
  return db.transaction((): CounterRow => {
    const insert = db.prepare('INSERT INTO serving_predictions (id, model, version, stage, token_id, predicted, confidence, probabilities, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    let last = 0;
    for (const p of input.predictions) last = Number(insert.run(p.id, input.model, input.version, input.stage, input.tokenId, p.predicted, p.confidence, JSON.stringify(p.probabilities), input.at).lastInsertRowid);
    db.prepare('DELETE FROM serving_predictions WHERE seq <= ?').run(last - input.cap);
    const next = { ...withServed(currentCounter(db, input, input.at), input.latencySeconds, input.predictions), updatedAt: input.at };
    saveCounter(db, next);
    updateTokenEvidence(db, input, input.tokenId, input.at, (e) => withServed(e, input.latencySeconds, input.predictions));
    return next;
  }).immediate();
}

/** A request the version failed to answer (`error`) or that the contract refused (`refused`); `tokenId` is who sent it. */
export function recordUnanswered(db: Db, input: CounterKey & { kind: 'error' | 'refused'; at: string; tokenId: string }): CounterRow {
  return db.transaction((): CounterRow => {
    const c = currentCounter(db, input, input.at);
    const next = { ...c, errors: c.errors + (input.kind === 'error' ? 1 : 0), refused: c.refused + (input.kind === 'refused' ? 1 : 0), updatedAt: input.at };
    saveCounter(db, next);
    // A refusal is the caller's (its instance broke the contract), not the version's: only errors are evidence.
    if (input.kind === 'error') updateTokenEvidence(db, input, input.tokenId, input.at, (e) => ({ ...e, errors: e.errors + 1 }));
    return next;
  }).immediate();
}

export function readCounters(db: Db, model: string): CounterRow[] {
  return (db.prepare('SELECT * FROM serving_counters WHERE model = ? ORDER BY version, stage').all(model) as RawCounter[]).map(toCounter);
}

export function readCounter(db: Db, k: CounterKey): CounterRow | undefined {
  const r = db.prepare('SELECT * FROM serving_counters WHERE model = ? AND version = ? AND stage = ?').get(k.model, k.version, k.stage) as RawCounter | undefined;
  return r !== undefined && r.since === k.since ? toCounter(r) : undefined;
}

export interface FeedbackItem {
  readonly predictionId: string;
  /** A class index, or a class name that `resolveLabel` turns into one. */
  readonly label: number | string;
}

/**
 * Records ground truth, all or nothing: every id must be a prediction of `model` issued to `tokenId` (any
 * token when null: an operator role), have no label yet, and appear once. The label write is conditional
 * (`label IS NULL`), so two concurrent requests cannot both label one prediction. A label updates the
 * calibration counters of the stay the prediction was made in (not a later stay of the same version), and the
 * labeller's own evidence for that stay (token-evidence.ts): labels count per token that gave them.
 */
export function recordFeedback(
  db: Db,
  input: {
    model: string;
    tokenId: string | null;
    /** Whose evidence the labels are (the labelling token's id; a reviewer's for review decisions). Default: tokenId, or '(operator)'. */
    labeller?: string;
    items: readonly FeedbackItem[];
    at: string;
    resolveLabel: (version: string, label: string) => number | undefined;
    /** True for a prediction held for human review: a predict token (tokenId set) may not label it (the reviewer does). */
    heldForReview?: (predictionId: string) => boolean;
  },
): number {
  return db.transaction((): number => {
    const seen = new Set<string>();
    const find = db.prepare('SELECT id, version, stage, token_id, predicted, confidence, probabilities, at, label FROM serving_predictions WHERE id = ? AND model = ?');
    const set = db.prepare('UPDATE serving_predictions SET label = ?, labelled_at = ? WHERE id = ? AND label IS NULL');
    input.items.forEach((item, i) => {
      if (seen.has(item.predictionId)) throw new TesseraError('TESSERA_ERR_FEEDBACK_DUPLICATE', `feedback[${i}]: prediction ${item.predictionId} appears twice in this request (one label per prediction)`);
      seen.add(item.predictionId);
      const p = find.get(item.predictionId, input.model) as { id: string; version: string; stage: ServedStage; token_id: string; predicted: number; confidence: number; probabilities: string; at: string; label: number | null } | undefined;
      // Another token's prediction answers exactly like a missing one: a caller learns nothing about ids it was not given.
      if (p === undefined || (input.tokenId !== null && p.token_id !== input.tokenId)) {
        throw new TesseraError('TESSERA_ERR_PREDICTION_UNKNOWN', `feedback[${i}]: no prediction ${item.predictionId} of model '${input.model}' was issued to this caller (or it was evicted from the prediction store)`);
      }
      // The caller that asked must not pre-empt (or contradict) the reviewer's ground truth for a held prediction.
      if (input.tokenId !== null && input.heldForReview?.(p.id) === true) throw new TesseraError('TESSERA_ERR_FEEDBACK_HELD', `feedback[${i}]: prediction ${item.predictionId} is held for human review; its label is the reviewer's decision`);
      if (p.label !== null) throw new TesseraError('TESSERA_ERR_FEEDBACK_DUPLICATE', `feedback[${i}]: prediction ${item.predictionId} already has its label (one label per prediction)`);
      const classes = (JSON.parse(p.probabilities) as number[]).length;
      const label = typeof item.label === 'number' ? item.label : input.resolveLabel(p.version, item.label);
      if (label === undefined || !(label < classes)) throw new TesseraError('TESSERA_ERR_FEEDBACK_INVALID', `feedback[${i}]: label ${JSON.stringify(item.label)} is not a class of this model (class names of its contract, or 0 … ${classes - 1})`);
      if (set.run(label, input.at, p.id).changes !== 1) throw new TesseraError('TESSERA_ERR_FEEDBACK_DUPLICATE', `feedback[${i}]: prediction ${item.predictionId} already has its label`);
      const row = db.prepare('SELECT * FROM serving_counters WHERE model = ? AND version = ? AND stage = ?').get(input.model, p.version, p.stage) as RawCounter | undefined;
      if (row === undefined || p.at < row.since) return;
      saveCounter(db, { ...withLabel(toCounter(row), p.confidence, p.predicted === label), updatedAt: input.at });
      updateTokenEvidence(db, { model: input.model, version: p.version, stage: p.stage, since: row.since }, input.labeller ?? input.tokenId ?? '(operator)', input.at, (e) => withLabel(e, p.confidence, p.predicted === label));
    });
    return input.items.length;
  }).immediate();
}

/** A served-input drift statistic (the contract's own DriftResult) for one version, with when it was computed. */
export interface DriftRow extends DriftResult {
  readonly version: string;
  readonly at: string;
}

export function saveDrift(db: Db, model: string, rows: readonly DriftRow[]): void {
  const up = db.prepare(
    `INSERT INTO serving_drift (model, version, column_name, statistic, value, threshold, drifted, n, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (model, version, column_name, statistic) DO UPDATE SET value = excluded.value, threshold = excluded.threshold, drifted = excluded.drifted, n = excluded.n, at = excluded.at`,
  );
  db.transaction(() => {
    for (const r of rows) up.run(model, r.version, r.column, r.statistic, r.value, r.threshold, r.drifted ? 1 : 0, r.n, r.at);
  })();
}

export function readDrift(db: Db, model: string): DriftRow[] {
  const rows = db.prepare('SELECT * FROM serving_drift WHERE model = ? ORDER BY version, column_name, statistic').all(model) as Array<{ version: string; column_name: string; statistic: 'psi' | 'ks'; value: number; threshold: number; drifted: number; n: number; at: string }>;
  return rows.map((r) => ({ version: r.version, column: r.column_name, statistic: r.statistic, value: r.value, threshold: r.threshold, drifted: r.drifted === 1, n: r.n, at: r.at }));
}

export type SchemaChangeKind = 'missing' | 'unexpected' | 'type';

/** Distinct unexpected column names kept per model; later ones count under OTHER_COLUMN (callers choose the names). */
export const MAX_UNEXPECTED_COLUMNS = 64;
export const OTHER_COLUMN = '(other)';

export function recordSchemaChanges(db: Db, model: string, changes: ReadonlyArray<{ column: string; change: SchemaChangeKind }>, at: string): void {
  if (changes.length === 0) return;
  const known = db.prepare("SELECT 1 FROM serving_schema_changes WHERE model = ? AND column_name = ? AND change = 'unexpected'").pluck();
  const unexpected = db.prepare("SELECT COUNT(*) FROM serving_schema_changes WHERE model = ? AND change = 'unexpected'").pluck();
  const up = db.prepare(
    `INSERT INTO serving_schema_changes (model, column_name, change, count, last_at) VALUES (?, ?, ?, 1, ?)
     ON CONFLICT (model, column_name, change) DO UPDATE SET count = count + 1, last_at = excluded.last_at`,
  );
  db.transaction(() => {
    for (const c of changes) {
      const capped = c.change === 'unexpected' && known.get(model, c.column) === undefined && (unexpected.get(model) as number) >= MAX_UNEXPECTED_COLUMNS;
      up.run(model, capped ? OTHER_COLUMN : c.column, c.change, at);
    }
  })();
}

export function readSchemaChanges(db: Db, model: string): Array<{ column: string; change: SchemaChangeKind; count: number; lastAt: string }> {
  const rows = db.prepare('SELECT column_name, change, count, last_at FROM serving_schema_changes WHERE model = ? ORDER BY column_name, change').all(model) as Array<{ column_name: string; change: SchemaChangeKind; count: number; last_at: string }>;
  return rows.map((r) => ({ column: r.column_name, change: r.change, count: r.count, lastAt: r.last_at }));
}
