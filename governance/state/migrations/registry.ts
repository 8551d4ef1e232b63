/** Migrations of the registry tables (moved here from governance/registry/registry.ts; ids never change once released). */
import type { Migration } from '../database.ts';


export const REGISTRY_MIGRATIONS: readonly Migration[] = [
  {
    id: 'registry-001',
    sql: `
      CREATE TABLE models (
        version TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        registered_at TEXT NOT NULL,
        model_spec TEXT NOT NULL,
        parameters INTEGER NOT NULL,
        lineage TEXT NOT NULL,
        lineage_hash TEXT NOT NULL,
        job_spec TEXT
      );
      CREATE INDEX models_name ON models (name, registered_at);
    `,
  },
  {
    // Issue 19 §3–4: the measured privacy of a registered model (governance/registry/privacy-audit.ts), one
    // append-only record per version.
    id: 'registry-002',
    sql: `
      CREATE TABLE model_privacy_audits (
        version TEXT PRIMARY KEY REFERENCES models (version),
        audit TEXT NOT NULL,
        recorded_at TEXT NOT NULL
      );
      CREATE TRIGGER model_privacy_audits_no_update BEFORE UPDATE ON model_privacy_audits
      BEGIN SELECT RAISE(ABORT, 'registry: a privacy audit record is append-only'); END;
      CREATE TRIGGER model_privacy_audits_no_delete BEFORE DELETE ON model_privacy_audits
      BEGIN SELECT RAISE(ABORT, 'registry: a privacy audit record is append-only'); END;
    `,
  },
];
