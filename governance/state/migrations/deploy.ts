/** Migrations of the deploy tables (moved here from governance/deploy/deployments.ts; ids never change once released). */
import type { Migration } from '../database.ts';


export const DEPLOY_MIGRATIONS: readonly Migration[] = [
  {
    id: 'deploy-001',
    sql: `
      CREATE TABLE deployment_state (
        name TEXT PRIMARY KEY,
        production TEXT,
        canary TEXT,
        canary_percent REAL,
        shadow TEXT,
        history TEXT NOT NULL,
        revision INTEGER NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE deployments (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        version TEXT,
        action TEXT NOT NULL,
        stage TEXT,
        percent REAL,
        previous TEXT,
        actor TEXT NOT NULL,
        at TEXT NOT NULL,
        gate TEXT
      );
      CREATE INDEX deployments_name ON deployments (name, id);
    `,
  },
];
