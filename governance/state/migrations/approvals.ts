/** Migrations of the approvals tables (moved here from governance/approvals/store.ts; ids never change once released). */
import type { Migration } from '../database.ts';


export const APPROVALS_MIGRATIONS: readonly Migration[] = [
  {
    id: 'approvals-001',
    sql: `
      CREATE TABLE approvals (
        id TEXT PRIMARY KEY,
        model_version TEXT NOT NULL,
        key_id TEXT NOT NULL,
        role TEXT NOT NULL,
        decision TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        record TEXT NOT NULL,
        received_at TEXT NOT NULL
      );
      CREATE INDEX approvals_model ON approvals (model_version, issued_at);
    `,
  },
];
