/** Migrations of the consent tables (moved here from governance/consent/store.ts; ids never change once released). */
import type { Migration } from '../database.ts';


export const CONSENT_MIGRATIONS: readonly Migration[] = [
  {
    id: 'consent-001',
    sql: `
      CREATE TABLE consents (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        organisation TEXT NOT NULL,
        dataset TEXT NOT NULL,
        purposes TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        max_epsilon REAL NOT NULL,
        retention_days INTEGER NOT NULL,
        granted_at TEXT NOT NULL,
        revoked_at TEXT,
        revoked_reason TEXT
      );
      CREATE INDEX consents_org ON consents (organisation, dataset, id);
    `,
  },
  {
    // Signed consent (issue 12 §6): the organisation's signed record as received, and its id (canonical hash).
    id: 'consent-002',
    sql: `
      ALTER TABLE consents ADD COLUMN signed TEXT;
      ALTER TABLE consents ADD COLUMN consent_id TEXT;
      CREATE UNIQUE INDEX consents_signed_id ON consents (consent_id) WHERE consent_id IS NOT NULL;
    `,
  },
];
