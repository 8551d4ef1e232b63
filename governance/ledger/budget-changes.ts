/**
 * A privacy officer's changes of a job's ε budget after it was set (ledger-002 `ledger_budget_changes`,
 * append-only): the one way a spent job may run again. The CLI (`tessera ledger budget change`) appends the
 * same decision to the audit log in the same transaction.
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { Db } from '../state/database.ts';
import { chargedRounds, getJobBudget } from './store.ts';

export interface BudgetChange {
  jobId: string;
  oldEpsilon: number;
  newEpsilon: number;
  officer: string;
  reason: string;
  changedAt: string;
}

/**
 * A privacy officer's decision to change a job's ε budget after it was set (e.g. to let a spent job run again):
 * recorded with who and why in the append-only ledger_budget_changes table (the CLI also appends it to the audit
 * log in the same transaction). Organisation caps still bind: a raised job budget never lets an organisation
 * exceed its cumulative cap.
 */
export function changeJobBudget(db: Db, change: { jobId: string; epsilon: number; officer: string; reason: string }): BudgetChange {
  if (!(change.epsilon > 0) || !Number.isFinite(change.epsilon)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `a job budget must be a finite ε > 0, got ${change.epsilon}`);
  if (change.officer.trim() === '' || change.reason.trim() === '') throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'a budget change needs the officer and the reason');
  const run = (): BudgetChange => {
    const existing = getJobBudget(db, change.jobId);
    if (!existing) throw new TesseraError('TESSERA_ERR_NOT_FOUND', `no privacy budget is set for job ${change.jobId}`);
    const spent = chargedRounds(db, change.jobId).at(-1)?.epsilonAfter ?? 0;
    if (change.epsilon < spent) throw new TesseraError('TESSERA_ERR_LEDGER', `job ${change.jobId} has already spent ε ${spent}; its budget cannot go below that`);
    const at = new Date().toISOString();
    db.prepare('UPDATE ledger_job_budgets SET epsilon = ?, updated_at = ? WHERE job_id = ?').run(change.epsilon, at, change.jobId);
    db.prepare('INSERT INTO ledger_budget_changes (job_id, old_epsilon, new_epsilon, officer, reason, changed_at) VALUES (?, ?, ?, ?, ?, ?)').run(change.jobId, existing.epsilon, change.epsilon, change.officer, change.reason, at);
    return { jobId: change.jobId, oldEpsilon: existing.epsilon, newEpsilon: change.epsilon, officer: change.officer, reason: change.reason, changedAt: at };
  };
  return db.inTransaction ? run() : db.transaction(run).immediate();
}

export function budgetChanges(db: Db, jobId?: string): BudgetChange[] {
  if (jobId !== undefined) getJobBudget(db, jobId); // applies the schema on a fresh handle
  const rows = (jobId === undefined ? db.prepare('SELECT * FROM ledger_budget_changes ORDER BY seq').all() : db.prepare('SELECT * FROM ledger_budget_changes WHERE job_id = ? ORDER BY seq').all(jobId)) as Array<Record<string, unknown>>;
  return rows.map((r) => ({ jobId: String(r.job_id), oldEpsilon: Number(r.old_epsilon), newEpsilon: Number(r.new_epsilon), officer: String(r.officer), reason: String(r.reason), changedAt: String(r.changed_at) }));
}

