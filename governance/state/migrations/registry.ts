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
];
