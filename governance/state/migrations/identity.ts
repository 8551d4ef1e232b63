/** Migrations of the identity tables (moved here from governance/identity/approvers.ts; ids never change once released). */
import type { Migration } from '../database.ts';


export const IDENTITY_MIGRATIONS: readonly Migration[] = [
  {
    id: 'identity-001',
    sql: `
      CREATE TABLE approvers (
        key_id TEXT PRIMARY KEY,
        public_key TEXT NOT NULL UNIQUE,
        name TEXT NOT NULL,
        roles TEXT NOT NULL,
        added_at TEXT NOT NULL,
        revoked_at TEXT,
        revoked_reason TEXT
      );
    `,
  },
];
