/**
 * Migrations of the human-review queue (issue 20 §5, coordinator/serving/review/store.ts). One row per held
 * prediction. `instance` and `explanation` are served inputs (an explanation reveals the input through its
 * attributions), so they are nullable: the retention purge of served inputs clears them and keeps the decision.
 * Size: one row per held instance (a few hundred bytes plus the instance); bounded by the retention periods.
 */
import type { Migration } from '../database.ts';

export const REVIEW_MIGRATIONS: readonly Migration[] = [
  {
    id: 'review-001',
    sql: `
      CREATE TABLE review_queue (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        prediction_id TEXT NOT NULL UNIQUE,
        caller_token TEXT NOT NULL,
        model TEXT NOT NULL,
        version TEXT NOT NULL,
        stage TEXT NOT NULL,
        instance TEXT,
        explanation TEXT,
        probabilities TEXT NOT NULL,
        model_class INTEGER NOT NULL,
        confidence REAL NOT NULL,
        reasons TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'confirmed', 'overridden')),
        final_class INTEGER,
        reviewer TEXT,
        note TEXT,
        created_at TEXT NOT NULL,
        decided_at TEXT
      );
      CREATE INDEX review_queue_status ON review_queue (status, model, id);
      CREATE INDEX review_queue_created ON review_queue (created_at);
    `,
  },
];
