/** Migrations of the jobs tables (moved here from coordinator/state/job-store.ts; ids never change once released). */
import type { Migration } from '../database.ts';


export const JOBS_MIGRATIONS: readonly Migration[] = [
  {
    id: 'jobs-001',
    sql: `
      CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        spec_json TEXT NOT NULL,
        spec_hash TEXT NOT NULL,
        status TEXT NOT NULL,
        message TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        ended_at TEXT
      );
      CREATE TABLE job_rounds (
        job_id TEXT NOT NULL REFERENCES jobs(id),
        round INTEGER NOT NULL,
        record_json TEXT NOT NULL,
        weights BLOB NOT NULL,
        committed_at TEXT NOT NULL,
        PRIMARY KEY (job_id, round)
      );`,
  },
  {
    // Round records became versioned (house issue 21): rows written before this migration are version 1 (an
    // untyped `extra`); coordinator/state/round-record-codec.ts upgrades them when read, never in place.
    id: 'jobs-002',
    sql: 'ALTER TABLE job_rounds ADD COLUMN record_version INTEGER NOT NULL DEFAULT 1;',
  },
  {
    // Hosted jobs (issue 15): a coordinator service queues jobs submitted over the API. A job row now exists from
    // submission (status 'queued'), keeps when it was queued (the queue's order across restarts) and, when it
    // failed, the stable error code of the failure (a configuration error is named by its TESSERA_ERR_… code).
    id: 'jobs-003',
    sql: 'ALTER TABLE jobs ADD COLUMN queued_at TEXT; ALTER TABLE jobs ADD COLUMN error_code TEXT;',
  },
  {
    // Server optimisers with memory (issue 18 §6): FedAdam/FedYogi/FedAdagrad moments after each committed round,
    // written in the same row (and transaction) as its weights, so a resumed job continues them to the bit.
    // NULL for FedAvg. Encoding: coordinator/state/server-state-codec.ts.
    id: 'jobs-004',
    sql: 'ALTER TABLE job_rounds ADD COLUMN server_state BLOB;',
  },
];
