/**
 * Migrations of the serving records (issue 20 §1–4, governance/monitoring/store.ts): what must survive a restart
 * of a serving coordinator — the predictions that feedback refers to, and the counters the canary criteria and
 * `tessera monitor` read.
 *
 * Size: `serving_predictions` is bounded — the store deletes the oldest rows beyond its cap (100,000 by default,
 * `ServingOptions.maxStoredPredictions`) as it inserts, so feedback can arrive for the latest 100,000 predictions.
 * A row holds no input, only the model's output: about 200 bytes for a two-class model (id, model name, 64-hex
 * version, token id, class, confidence, probabilities as JSON, two timestamps) plus about 40 bytes of the id's
 * index, so some 25 MB at the default cap (about 45 MB for ten classes). The other tables hold one row per
 * (model, version, stage), per (model, version, column, statistic) and per (model, column, change): kilobytes.
 */
import type { Migration } from '../database.ts';

export const SERVING_MIGRATIONS: readonly Migration[] = [
  {
    id: 'serving-001',
    sql: `
      CREATE TABLE serving_predictions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        stage TEXT NOT NULL CHECK (stage IN ('production', 'canary')),
        token_id TEXT NOT NULL,
        predicted INTEGER NOT NULL,
        confidence REAL NOT NULL,
        probabilities TEXT NOT NULL,
        at TEXT NOT NULL,
        label INTEGER,
        labelled_at TEXT
      );
      CREATE TABLE serving_counters (
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        stage TEXT NOT NULL CHECK (stage IN ('production', 'canary')),
        since TEXT NOT NULL,
        requests INTEGER NOT NULL,
        instances INTEGER NOT NULL,
        errors INTEGER NOT NULL,
        refused INTEGER NOT NULL,
        latency TEXT NOT NULL,
        latency_sum REAL NOT NULL,
        predicted TEXT NOT NULL,
        calibration TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (model, version, stage)
      );
      CREATE TABLE serving_drift (
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        column_name TEXT NOT NULL,
        statistic TEXT NOT NULL,
        value REAL NOT NULL,
        threshold REAL NOT NULL,
        drifted INTEGER NOT NULL,
        n INTEGER NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (model, version, column_name, statistic)
      );
      CREATE TABLE serving_schema_changes (
        model TEXT NOT NULL,
        column_name TEXT NOT NULL,
        change TEXT NOT NULL CHECK (change IN ('missing', 'unexpected', 'type')),
        count INTEGER NOT NULL,
        last_at TEXT NOT NULL,
        PRIMARY KEY (model, column_name, change)
      );
    `,
  },
  {
    // Review 3's canary-steering finding: the canary criteria judge evidence per token (who received a request,
    // who gave a label), so that no one token decides a verdict (governance/monitoring/canary-evidence.ts). One
    // row per (model, version, stage, token) for the current stay: kilobytes per token.
    id: 'serving-002',
    sql: `
      CREATE TABLE serving_token_evidence (
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        stage TEXT NOT NULL CHECK (stage IN ('production', 'canary')),
        token_id TEXT NOT NULL,
        since TEXT NOT NULL,
        requests INTEGER NOT NULL,
        instances INTEGER NOT NULL,
        errors INTEGER NOT NULL,
        latency TEXT NOT NULL,
        latency_sum REAL NOT NULL,
        predicted TEXT NOT NULL,
        calibration TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (model, version, stage, token_id)
      );
    `,
  },
];
