/**
 * A job's identity and where it resumes (issue 11 §3–4). The id is derived from the spec — its name and the
 * hash of its canonical JSON — so restarting the coordinator on the same spec finds the same ledger budget,
 * the same organisation spend and the same committed rounds, instead of starting a fresh budget under a fresh
 * random id. A restart resumes after the LAST round that was either committed (job_rounds) or charged
 * (ledger_rounds): a round charged before a crash may have been released (its charge is committed before the
 * aggregate exists), so it is never run, or charged, again; its weights, if they were never committed, are lost
 * and the job continues from the last committed ones.
 */
import { jobSpecHash } from '../../lib/job-spec-hash.ts';
import type { Db } from '../../governance/state/database.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import { TesseraError } from '../../protocol/errors.ts';
import { appendAudit } from '../../governance/audit/log.ts';
import { AUDIT_ACTIONS } from '../../governance/audit/actions.ts';
import type { ServerOptimizerState } from '../strategy.ts';
import { decodeServerState } from './server-state-codec.ts';

export function stableJobId(spec: JobSpec): string {
  return `${spec.name}-${jobSpecHash(spec).slice(0, 12)}`;
}

export interface ResumePoint {
  /** First round to run (1 for a new job). */
  readonly startRound: number;
  /** Weights of the last committed round, or null (start from the model's initial weights). */
  readonly weights: Float32Array | null;
  /** The server optimiser's state committed with those weights (FedAdam's moments), null for FedAvg or a new job. */
  readonly serverState: ServerOptimizerState | null;
  readonly lastCommitted: number;
  readonly lastCharged: number;
}

export function resumePoint(db: Db, jobId: string): ResumePoint {
  const row = db.prepare('SELECT round, weights, server_state AS serverState FROM job_rounds WHERE job_id = ? ORDER BY round DESC LIMIT 1').get(jobId) as { round: number; weights: Buffer; serverState: Buffer | null } | undefined;
  const charged = (db.prepare('SELECT MAX(round) FROM ledger_rounds WHERE job_id = ?').pluck().get(jobId) as number | null) ?? 0;
  const committed = row?.round ?? 0;
  // Copy out of the Buffer (its offset need not be 4-byte aligned).
  const weights = row ? new Float32Array(new Uint8Array(row.weights).buffer) : null;
  const serverState = row?.serverState ? decodeServerState(row.serverState) : null;
  return { startRound: Math.max(committed, charged) + 1, weights, serverState, lastCommitted: committed, lastCharged: charged };
}

/**
 * `--fresh` (issue 14 §1): discards the job's committed rounds (and so its weights) so that it starts over at
 * round 1, with a `job.restarted` audit entry naming how many were dropped. Refused with TESSERA_ERR_FRESH_REFUSED
 * once the privacy ledger holds a charge for the job: its rounds 1…k were released and stay charged (the ledger
 * is append-only and keyed by round), so a second round 1 could be neither charged nor left uncharged.
 */
export function startFresh(db: Db, jobId: string, actor: string): { discarded: number } {
  return db.transaction(() => {
    const charged = db.prepare('SELECT COUNT(*) FROM ledger_rounds WHERE job_id = ?').pluck().get(jobId) as number;
    if (charged > 0) {
      throw new TesseraError(
        'TESSERA_ERR_FRESH_REFUSED',
        `job ${jobId} has ${charged} round(s) charged to its privacy budget; it cannot start over under the same id. Resume it (drop --fresh), or run the job under a new name, which a privacy officer budgets separately.`,
        { details: { jobId, charged } },
      );
    }
    const discarded = db.prepare('DELETE FROM job_rounds WHERE job_id = ?').run(jobId).changes;
    if (discarded > 0) appendAudit(db, { actor, action: AUDIT_ACTIONS.jobRestarted, subject: jobId, details: { discarded } });
    return { discarded };
  }).immediate();
}
