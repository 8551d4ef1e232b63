/**
 * Migrations of the governance-integrity work (issue 13): approvers become people with keys (identity-002),
 * the registry's settings (admin quorum, bootstrap), and the recorded coordinator deployment policy with its
 * change history (deploy-002). Ids never change once released.
 */
import type { Migration } from '../database.ts';

export const GOVERNANCE_INTEGRITY_MIGRATIONS: readonly Migration[] = [
  {
    id: 'identity-002',
    sql: `
      ALTER TABLE approvers ADD COLUMN person TEXT;
      CREATE TABLE approver_changes (
        seq INTEGER PRIMARY KEY,
        record TEXT NOT NULL,
        record_hash TEXT NOT NULL,
        recorded_at TEXT NOT NULL
      );
      CREATE TRIGGER approver_changes_no_update BEFORE UPDATE ON approver_changes BEGIN SELECT RAISE(ABORT, 'registry records are append-only'); END;
      CREATE TRIGGER approver_changes_no_delete BEFORE DELETE ON approver_changes BEGIN SELECT RAISE(ABORT, 'registry records are append-only'); END;
    `,
  },
  {
    id: 'deploy-002',
    sql: `
      CREATE TABLE deployment_policies (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        policy TEXT NOT NULL,
        policy_hash TEXT NOT NULL,
        previous_hash TEXT,
        recorded_at TEXT NOT NULL,
        actor TEXT NOT NULL,
        change TEXT
      );
      CREATE TABLE deployment_flags (
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        reason TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (name, version, reason)
      );
    `,
  },
];
