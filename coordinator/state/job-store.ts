/**
 * Jobs and their committed rounds in the state database. A round row holds the round record and the global
 * weights it produced; it is written by `commitRound` inside the same transaction as the ledger charge and
 * the audit entry (coordinator/features/job-record.ts), so after a crash either all three exist or none does.
 */
import type { Db } from '../../governance/state/database.ts';
import { parseJobSpec, type JobSpec } from '../../protocol/job/spec.ts';
import type { JobStatus, RoundRecord } from '../round-records.ts';
import { z } from 'zod';
import { decodeRoundRecord, encodeRoundRecord, ROUND_RECORD_VERSION, type DecodedRound } from './round-record-codec.ts';
import type { ServerOptimizerState } from '../strategy.ts';
import { encodeServerState } from './server-state-codec.ts';


export interface StoredJob {
  readonly id: string;
  readonly name: string;
  readonly specHash: string;
  readonly status: string;
  readonly message: string;
  readonly createdAt: string;
  readonly endedAt: string | null;
  readonly rounds: number;
}

/** Creates the job's row, or marks it running again when the same job (same id: same spec) restarts. */
export function createJobRow(db: Db, job: { id: string; spec: JobSpec; specHash: string }): void {
  db.prepare(
    `INSERT INTO jobs (id, name, spec_json, spec_hash, status, created_at) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET status = 'running', message = '', ended_at = NULL`,
  ).run(
    job.id,
    job.spec.name,
    JSON.stringify(job.spec),
    job.specHash,
    'running',
    new Date().toISOString(),
  );
}

/** Inserts the committed round; call inside the round-commit transaction. The primary key forbids a second commit. */
export function insertRoundRow(db: Db, jobId: string, record: RoundRecord, weights: Float32Array, serverState: ServerOptimizerState | null = null): void {
  db.prepare('INSERT INTO job_rounds (job_id, round, record_json, record_version, weights, server_state, committed_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
    jobId,
    record.round,
    encodeRoundRecord(record),
    ROUND_RECORD_VERSION,
    Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength),
    serverState === null ? null : encodeServerState(serverState),
    new Date().toISOString(),
  );
}

export function finishJobRow(db: Db, jobId: string, status: JobStatus, message: string): void {
  db.prepare('UPDATE jobs SET status = ?, message = ?, ended_at = ? WHERE id = ?').run(status, message, new Date().toISOString(), jobId);
}

export function listJobs(db: Db): StoredJob[] {
  const rows = db
    .prepare(
      `SELECT j.id, j.name, j.spec_hash AS specHash, j.status, j.message, j.created_at AS createdAt, j.ended_at AS endedAt,
              (SELECT COUNT(*) FROM job_rounds r WHERE r.job_id = j.id) AS rounds
       FROM jobs j ORDER BY j.created_at`,
    )
    .all() as StoredJob[];
  return rows;
}

const StoredRoundRows = z.array(z.object({ version: z.number().int(), json: z.string() }));

/** The committed rounds of a job, read through the versioned codec (older rows upgraded, see round-record-codec.ts). */
export function roundRecords(db: Db, jobId: string): RoundRecord[] {
  return storedRounds(db, jobId).map((d) => d.record);
}

/** As `roundRecords`, with what the upgrade of each older row had to leave out. */
export function storedRounds(db: Db, jobId: string): DecodedRound[] {
  const rows = StoredRoundRows.parse(db.prepare('SELECT record_version AS version, record_json AS json FROM job_rounds WHERE job_id = ? ORDER BY round').all(jobId));
  return rows.map((r) => decodeRoundRecord(r.version, r.json));
}

/**
 * Hosted jobs (issue 15, coordinator/job-service.ts). A submitted job's row exists from submission, status
 * 'queued'; a job submitted again after it ended (same spec, same id) is queued again and resumes where its
 * rounds and ledger stand. Statuses: queued, running, then the runner's end status (completed, failed, stopped,
 * budget-exhausted) or cancelled.
 */
export function queueJobRow(db: Db, job: { id: string; spec: JobSpec; specHash: string; at: string }): void {
  db.prepare(
    `INSERT INTO jobs (id, name, spec_json, spec_hash, status, created_at, queued_at) VALUES (?, ?, ?, ?, 'queued', ?, ?)
     ON CONFLICT (id) DO UPDATE SET status = 'queued', message = '', error_code = NULL, ended_at = NULL, queued_at = excluded.queued_at`,
  ).run(job.id, job.spec.name, JSON.stringify(job.spec), job.specHash, job.at, job.at);
}

/** Records a job's end (or its failure before it ran) with the coded error when there is one. */
export function endJobRow(db: Db, jobId: string, end: { status: string; message: string; code: string | null; at: string }): void {
  db.prepare('UPDATE jobs SET status = ?, message = ?, error_code = ?, ended_at = ? WHERE id = ?').run(end.status, end.message, end.code, end.at, jobId);
}

const PendingRow = z.object({ id: z.string(), specJson: z.string(), status: z.enum(['queued', 'running']), queuedAt: z.string().nullable(), createdAt: z.string() });
export type PendingJobRow = z.infer<typeof PendingRow>;

/**
 * Jobs a restarted service takes up again: the one that was running (it resumes after its last committed or
 * charged round, resume.ts) first, then the queued ones in the order they were queued.
 */
export function pendingJobRows(db: Db): PendingJobRow[] {
  const rows = db
    .prepare(
      `SELECT id, spec_json AS specJson, status, queued_at AS queuedAt, created_at AS createdAt FROM jobs
       WHERE status IN ('queued', 'running') ORDER BY status = 'queued', COALESCE(queued_at, created_at), id`,
    )
    .all();
  return z.array(PendingRow).parse(rows);
}

const EndedRow = z.object({
  id: z.string(),
  name: z.string(),
  status: z.string(),
  message: z.string(),
  errorCode: z.string().nullable(),
  queuedAt: z.string().nullable(),
  createdAt: z.string(),
  endedAt: z.string().nullable(),
  rounds: z.number().int(),
});
export type JobRowSummary = z.infer<typeof EndedRow>;

/** Every job row (the service lists ended jobs of earlier runs from here). */
export function jobRowSummaries(db: Db): JobRowSummary[] {
  const rows = db
    .prepare(
      `SELECT j.id, j.name, j.status, j.message, j.error_code AS errorCode, j.queued_at AS queuedAt, j.created_at AS createdAt, j.ended_at AS endedAt,
              (SELECT COUNT(*) FROM job_rounds r WHERE r.job_id = j.id) AS rounds
       FROM jobs j ORDER BY COALESCE(j.queued_at, j.created_at), j.id`,
    )
    .all();
  return z.array(EndedRow).parse(rows);
}

/** A job's stored spec and the hash recorded with it (the console's Data page names both), if the job has a row. */
export function jobSpecOf(db: Db, jobId: string): { spec: JobSpec; specHash: string } | undefined {
  const row = db.prepare('SELECT spec_json AS specJson, spec_hash AS specHash FROM jobs WHERE id = ?').get(jobId) as { specJson: string; specHash: string } | undefined;
  return row ? { spec: parseJobSpec(JSON.parse(row.specJson) as unknown), specHash: row.specHash } : undefined;
}
