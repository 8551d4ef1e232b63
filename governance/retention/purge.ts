/**
 * Retention (issue 20 §7): records of served data older than the deployment policy's periods are removed, and
 * each removal leaves an audit tombstone saying what was removed — kind, table, action, how many rows, their id
 * range and the cutoff — never the content. Runs on a schedule in the coordinator (coordinator/serving/
 * retention-task.ts) and on demand (`tessera retention run`).
 *
 * The targets are listed here, once. A kind is either deleted (the rows go) or redacted (the served-input
 * columns are set to NULL and the rest of the record — a review decision, say — stays). A removal and its
 * tombstone commit in one IMMEDIATE transaction: an audit log never names a purge that did not happen, and no
 * purge happens unrecorded. The audit log itself is never purged (it holds no served content).
 */
import type { AuditAttest } from '../audit/attribution.ts';
import { AUDIT_ACTIONS } from '../audit/actions.ts';
import { appendAudit } from '../audit/log.ts';
import type { Db } from '../state/database.ts';
import type { RetentionPolicy } from '../../protocol/job/governance.ts';

export type RetentionKind = 'servedInputs' | 'feedback' | 'reviewRecords';

export interface RetentionTarget {
  readonly kind: RetentionKind;
  readonly table: string;
  readonly idColumn: string;
  /** ISO 8601 UTC text (toISOString), so text order is time order. */
  readonly timeColumn: string;
  /** `delete` removes rows; `redact` sets `columns` to NULL in rows where they are not NULL yet. */
  readonly action: 'delete' | 'redact';
  readonly columns?: readonly string[];
}

/**
 * Every table holding served data, by kind. Feedback labels live in the monitoring side's prediction store
 * (serving_predictions, migration serving-001): a labelled prediction is deleted once its label is older than
 * `feedbackDays` (counted from `labelled_at`; unlabelled rows have NULL there and are left to the store's cap).
 * Deleting the row rather than clearing the label means a purged prediction cannot be labelled a second time
 * (its id then answers like any unknown id), so a purge never reopens a door to counting one prediction twice.
 */
export const RETENTION_TARGETS: readonly RetentionTarget[] = [
  { kind: 'servedInputs', table: 'review_queue', idColumn: 'id', timeColumn: 'created_at', action: 'redact', columns: ['instance', 'explanation'] },
  { kind: 'feedback', table: 'serving_predictions', idColumn: 'seq', timeColumn: 'labelled_at', action: 'delete' },
  { kind: 'reviewRecords', table: 'review_queue', idColumn: 'id', timeColumn: 'created_at', action: 'delete' },
];

const PERIOD: Record<RetentionKind, keyof RetentionPolicy> = { servedInputs: 'servedInputsDays', feedback: 'feedbackDays', reviewRecords: 'reviewRecordsDays' };
const DAY_MS = 86_400_000;

export interface PurgeResult {
  readonly kind: RetentionKind;
  readonly table: string;
  readonly action: 'delete' | 'redact';
  readonly periodDays: number;
  /** Records older than this were removed. */
  readonly olderThan: string;
  readonly count: number;
  readonly firstId: number | null;
  readonly lastId: number | null;
  /** The audit entry (tombstone) of a removal; null when nothing had expired. */
  readonly auditSeq: number | null;
}

function tableExists(db: Db, table: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(table) !== undefined;
}

/** Applies every period the policy sets; kinds without a period are kept. */
export function runRetention(db: Db, policy: RetentionPolicy | undefined, options: { now?: Date; actor?: string; attest?: AuditAttest; targets?: readonly RetentionTarget[] } = {}): PurgeResult[] {
  const now = options.now ?? new Date();
  const results: PurgeResult[] = [];
  for (const t of options.targets ?? RETENTION_TARGETS) {
    const days = policy?.[PERIOD[t.kind]];
    if (days === undefined || !tableExists(db, t.table)) continue;
    const olderThan = new Date(now.getTime() - days * DAY_MS).toISOString();
    // Identifiers come from the constant target list above, never from input.
    const pending = t.action === 'redact' ? ` AND (${(t.columns ?? []).map((c) => `${c} IS NOT NULL`).join(' OR ') || '0'})` : '';
    const where = `${t.timeColumn} < ?${pending}`;
    results.push(
      db
        .transaction((): PurgeResult => {
          const span = db.prepare(`SELECT COUNT(*) AS n, MIN(${t.idColumn}) AS lo, MAX(${t.idColumn}) AS hi FROM ${t.table} WHERE ${where}`).get(olderThan) as { n: number; lo: number | null; hi: number | null };
          const base = { kind: t.kind, table: t.table, action: t.action, periodDays: days, olderThan };
          if (span.n === 0) return { ...base, count: 0, firstId: null, lastId: null, auditSeq: null };
          const sql = t.action === 'delete' ? `DELETE FROM ${t.table} WHERE ${where}` : `UPDATE ${t.table} SET ${(t.columns ?? []).map((c) => `${c} = NULL`).join(', ')} WHERE ${where}`;
          const changed = db.prepare(sql).run(olderThan).changes;
          const entry = appendAudit(db, {
            actor: options.actor ?? 'coordinator:retention',
            ...(options.attest ? { attest: options.attest } : {}),
            action: AUDIT_ACTIONS.retentionPurged,
            subject: `${t.table}:${t.kind}`,
            details: { kind: t.kind, table: t.table, action: t.action, count: changed, firstId: span.lo ?? 0, lastId: span.hi ?? 0, olderThan, periodDays: days, ...(t.columns ? { columns: [...t.columns] } : {}) },
            time: now,
          });
          return { ...base, count: changed, firstId: span.lo, lastId: span.hi, auditSeq: entry.seq };
        })
        .immediate(),
    );
  }
  return results;
}
