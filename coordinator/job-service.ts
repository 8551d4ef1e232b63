/**
 * The coordinator as a service that hosts jobs (issue 15 §1). Jobs are submitted (API, CLI, `--job`), preflighted
 * (preflight.ts), queued, and run ONE AT A TIME in submission order. One at a time because a client node serves
 * one task at a time and every job draws from the same organisations' privacy caps: two concurrent DP jobs would
 * plan their rounds against caps the other is about to spend. Sequential needs no lock beyond the queue.
 *
 * Each job moves through an explicit state table (house rule 7): queued → running → completed | failed |
 * cancelled, with a reason (a stable code when it failed). A job whose preflight finds an error fails at once,
 * at submission, with the first finding's code; a configuration error only assembly finds fails the job when it
 * starts, within a second, leaving nothing behind (hosted-job.ts runs assembly in one transaction). The service
 * stays up either way.
 *
 * With a state database the queue is durable: a job row exists from submission (status 'queued'); after a
 * restart, the job that was running resumes first (after its last committed or charged round, as a restarted
 * `tessera coordinator --job` always did), then the queued ones in order. A job interrupted by the service's own
 * shutdown goes back to 'queued', so the next start takes it up again.
 */
import { jobSpecHash } from '../lib/job-spec-hash.ts';
import { isoUtc } from '../lib/time.ts';
import type { JobSpec } from '../protocol/job/spec.ts';
import { TesseraError } from '../protocol/errors.ts';
import { AUDIT_ACTIONS } from '../governance/audit/actions.ts';
import { appendAudit } from '../governance/audit/log.ts';
import { endJobRow, jobRowSummaries, pendingJobRows, queueJobRow, roundRecords } from './state/job-store.ts';
import { startFresh } from './state/resume.ts';
import { parseJobSpec } from '../protocol/job/spec.ts';
import { preflight, type Finding, type PreflightContext } from './preflight.ts';
import { runHostedJob, type HostedJobDeps, type HostedJobOutcome } from './hosted-job.ts';
import type { JobStatus, RoundRecord } from './round-records.ts';
import { HOSTED_JOB_TRANSITIONS } from './job-views.ts';
import type { HostedJobState, HostedJobView } from '../protocol/api.ts';

export interface JobServiceDeps extends HostedJobDeps {
  /** What preflight may consult beyond the spec: the roster as it is now (read per submission). */
  readonly preflightContext?: () => Omit<PreflightContext, 'db'>;
  /** Operator-facing lines (the CLI prints them on stdout or stderr). */
  readonly say?: (line: string) => void;
}

interface Entry {
  view: HostedJobView;
  spec: JobSpec | null;
  rounds: RoundRecord[];
  abort: AbortController | null;
  cancelRequested: boolean;
  outcome: HostedJobOutcome | null;
  ended: Promise<void>;
  resolveEnded: () => void;
}

const now = (): string => isoUtc();

/** The operator token behind an API request (coordinator/api/access.ts), as the audit log names it. */
export interface TokenAttribution {
  readonly tokenId: string;
  readonly name: string;
  readonly role: string;
}

/** The runner's end status as a service state (budget exhausted is a normal end: the job did what it could). */
function stateOf(status: JobStatus, cancelled: boolean): HostedJobState {
  if (status === 'completed' || status === 'budget-exhausted') return 'completed';
  if (status === 'stopped') return cancelled ? 'cancelled' : 'queued';
  return 'failed';
}

/** The stable code a runner's failure message names (`… (TESSERA_ERR_…) …`), if any. */
function codeIn(message: string): string | null {
  return /\b(TESSERA_ERR_[A-Z_]+)\b/.exec(message)?.[1] ?? null;
}

export class JobService {
  private readonly entries = new Map<string, Entry>();
  private readonly queue: string[] = [];
  private wake: (() => void) | null = null;
  private pump: Promise<void> | null = null;
  private closing = false;

  constructor(private readonly deps: JobServiceDeps) {
    const db = deps.db;
    if (!db) return;
    // Ended jobs of earlier runs are listed; the running and queued ones are taken up again (start()).
    for (const row of jobRowSummaries(db)) {
      const state: HostedJobState = row.status === 'queued' || row.status === 'running' ? 'queued' : row.status === 'failed' ? 'failed' : row.status === 'stopped' || row.status === 'cancelled' ? 'cancelled' : 'completed';
      const outcome = row.status === 'completed' || row.status === 'failed' || row.status === 'stopped' || row.status === 'budget-exhausted' ? row.status : null;
      this.entries.set(row.id, this.newEntry({ jobId: row.id, name: row.name, state, reason: { code: row.errorCode, message: row.message }, outcome, submittedAt: row.queuedAt ?? row.createdAt, startedAt: null, endedAt: row.endedAt, roundsCompleted: row.rounds, registered: null, findings: [] }, null));
    }
    for (const row of pendingJobRows(db)) {
      const e = this.entries.get(row.id);
      if (!e) continue;
      e.spec = parseJobSpec(JSON.parse(row.specJson) as unknown);
      e.view.reason = { code: null, message: row.status === 'running' ? 'interrupted by a restart: resumes after its last committed round' : 'queued before a restart' };
      this.queue.push(row.id);
    }
  }

  private newEntry(view: HostedJobView, spec: JobSpec | null): Entry {
    let resolveEnded = (): void => {};
    const ended = new Promise<void>((r) => (resolveEnded = r));
    return { view, spec, rounds: [], abort: null, cancelRequested: false, outcome: null, ended, resolveEnded };
  }

  private move(e: Entry, next: HostedJobState, reason: HostedJobView['reason']): void {
    if (!HOSTED_JOB_TRANSITIONS[e.view.state].includes(next)) throw new TesseraError('TESSERA_ERR_INTERNAL', `job ${e.view.jobId} cannot go from ${e.view.state} to ${next}`);
    e.view = { ...e.view, state: next, reason, ...(next === 'queued' ? { endedAt: null } : {}), ...(next === 'running' ? { startedAt: now() } : {}), ...(next === 'completed' || next === 'failed' || next === 'cancelled' ? { endedAt: now() } : {}) };
    if (next === 'completed' || next === 'failed' || next === 'cancelled') e.resolveEnded();
  }

  private persistEnd(e: Entry, status: string): void {
    if (this.deps.db) endJobRow(this.deps.db, e.view.jobId, { status, message: e.view.reason.message, code: e.view.reason.code, at: e.view.endedAt ?? now() });
  }

  /**
   * Submits a job. A spec that does not parse strictly is refused (TESSERA_ERR_INVALID_JOB_SPEC, no job). The same spec
   * while its job is queued or running is the same job (returned as it is); after it ended it is queued again
   * and resumes. A spec with an error finding becomes a failed job at once, its findings attached.
   */
  submit(raw: unknown, options: { fresh?: boolean; actor?: string; by?: TokenAttribution } = {}): HostedJobView {
    if (this.closing) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'the coordinator is shutting down; submit the job again after it restarts');
    const report = preflight(raw, { ...(this.deps.preflightContext?.() ?? {}), ...(this.deps.db ? { db: this.deps.db } : {}) });
    // A spec that does not match the strict schema (an unknown key included) is not the job its author meant: refused, no job.
    const schema = report.findings.filter((f) => f.code === 'TESSERA_ERR_INVALID_JOB_SPEC');
    if (report.spec === null || report.jobId === null || schema.length > 0) {
      throw new TesseraError('TESSERA_ERR_INVALID_JOB_SPEC', `Invalid job spec: ${schema.map((f) => `${f.where}: ${f.message} (fix: ${f.fix})`).join('; ')}`, { details: { findings: schema } });
    }
    const { spec, jobId } = report;
    const existing = this.entries.get(jobId);
    if (existing?.view.state === 'running') {
      if (options.fresh === true) throw new TesseraError('TESSERA_ERR_JOB_STATE', `job ${jobId} is running; cancel it before starting it over`);
      return existing.view;
    }
    const fresh = (): void => {
      if (options.fresh !== true || !this.deps.db) return;
      const { discarded } = startFresh(this.deps.db, jobId, options.by ? `operator:${options.by.name}` : (options.actor ?? 'tessera coordinator --fresh'));
      this.deps.say?.(`starting job ${jobId} over (--fresh): ${discarded} committed round(s) discarded`);
    };
    // Queued (e.g. taken up again after a restart): the same job; --fresh still applies before it runs.
    if (existing?.view.state === 'queued') {
      if (!report.findings.some((f) => f.level === 'error')) fresh();
      return existing.view;
    }
    const errors = report.findings.filter((f) => f.level === 'error');
    if (errors.length === 0) fresh();
    const at = now();
    const entry = this.newEntry({ jobId, name: spec.name, state: 'queued', reason: { code: null, message: 'queued' }, outcome: null, submittedAt: at, startedAt: null, endedAt: null, roundsCompleted: 0, registered: null, findings: [...report.findings] }, spec);
    this.entries.set(jobId, entry);
    if (this.deps.db) {
      const db = this.deps.db;
      // The job row and the record of who submitted it commit together (issue 15: submissions were not audited).
      db.transaction(() => {
        queueJobRow(db, { id: jobId, spec, specHash: jobSpecHash(spec), at });
        this.audit(AUDIT_ACTIONS.jobSubmitted, jobId, { name: spec.name, specHash: jobSpecHash(spec), fresh: options.fresh === true, refusedByPreflight: errors.length > 0 }, options);
      }).immediate();
    }
    if (errors.length > 0) {
      this.fail(entry, errors[0]?.code ?? 'TESSERA_ERR_INVALID_JOB_SPEC', `preflight refused the job: ${errors.map((f: Finding) => `${f.where}: ${f.message} (fix: ${f.fix})`).join('; ')}`);
      return entry.view;
    }
    this.queue.push(jobId);
    this.wake?.();
    return entry.view;
  }

  /** Who asked for a submission or cancellation, in the audit log: the operator token's identity (or the CLI's --job). */
  private audit(action: typeof AUDIT_ACTIONS.jobSubmitted | typeof AUDIT_ACTIONS.jobCancelled, jobId: string, details: Record<string, unknown>, who: { actor?: string; by?: TokenAttribution }): void {
    if (!this.deps.db) return;
    const actor = who.by ? `operator:${who.by.name}` : (who.actor ?? 'coordinator');
    const by = who.by ? { by: actor, tokenId: who.by.tokenId, role: who.by.role } : { by: actor };
    appendAudit(this.deps.db, { actor, action, subject: jobId, details: { ...details, ...by } });
  }

  private fail(e: Entry, code: string, message: string): void {
    this.move(e, 'failed', { code, message });
    this.persistEnd(e, 'failed');
    this.deps.say?.(`job ${e.view.jobId} failed [${code}]: ${message}`);
  }

  list(): HostedJobView[] {
    return [...this.entries.values()].map((e) => e.view).sort((a, b) => (a.submittedAt < b.submittedAt ? -1 : a.submittedAt > b.submittedAt ? 1 : 0));
  }

  get(jobId: string): { view: HostedJobView; rounds: readonly RoundRecord[] } | undefined {
    const e = this.entries.get(jobId);
    if (!e) return undefined;
    // A job of an earlier run (or one not yet running again): its committed rounds are in the state database.
    const rounds = e.rounds.length === 0 && this.deps.db && e.view.roundsCompleted > 0 ? roundRecords(this.deps.db, jobId) : e.rounds;
    return { view: e.view, rounds };
  }

  /** The runner's own outcome of a job this service ran (the CLI's --job mode prints it). */
  outcome(jobId: string): HostedJobOutcome | null {
    return this.entries.get(jobId)?.outcome ?? null;
  }

  /** Cancels a queued job at once, a running one at its next round boundary (within a second while it waits for clients). */
  cancel(jobId: string, options: { actor?: string; by?: TokenAttribution } = {}): HostedJobView {
    const e = this.entries.get(jobId);
    if (!e) throw new TesseraError('TESSERA_ERR_JOB_NOT_FOUND', `no job ${jobId}`);
    if (e.view.state === 'queued' || e.view.state === 'running') this.audit(AUDIT_ACTIONS.jobCancelled, jobId, { was: e.view.state }, options);
    if (e.view.state === 'queued') {
      const i = this.queue.indexOf(jobId);
      if (i >= 0) this.queue.splice(i, 1);
      this.move(e, 'cancelled', { code: null, message: 'cancelled before it started' });
      this.persistEnd(e, 'cancelled');
    } else if (e.view.state === 'running') {
      e.cancelRequested = true;
      e.abort?.abort();
    } else {
      throw new TesseraError('TESSERA_ERR_JOB_STATE', `job ${jobId} already ended (${e.view.state}); nothing to cancel`);
    }
    return e.view;
  }

  /** Resolves when the job has ended (completed, failed or cancelled). */
  async waitFor(jobId: string): Promise<HostedJobView> {
    const e = this.entries.get(jobId);
    if (!e) throw new TesseraError('TESSERA_ERR_JOB_NOT_FOUND', `no job ${jobId}`);
    await e.ended;
    return e.view;
  }

  /** Starts running queued jobs, one after another, until close(). */
  start(): void {
    this.pump ??= this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.closing) {
      const id = this.queue.shift();
      const e = id !== undefined ? this.entries.get(id) : undefined;
      if (!e || !e.spec) {
        if (id === undefined) await new Promise<void>((r) => (this.wake = r));
        this.wake = null;
        continue;
      }
      await this.runOne(e, e.spec);
    }
  }

  private async runOne(e: Entry, spec: JobSpec): Promise<void> {
    const say = this.deps.say ?? ((): void => {});
    e.abort = new AbortController();
    e.cancelRequested = false;
    e.rounds = [];
    this.move(e, 'running', { code: null, message: 'running' });
    say(`job ${e.view.jobId} (${spec.name}) running; waiting for ${spec.minClients} eligible client(s)`);
    try {
      const outcome = await runHostedJob(this.deps, {
        jobId: e.view.jobId,
        spec,
        signal: e.abort.signal,
        say,
        onRound: (r) => {
          e.rounds.push(r);
          e.view = { ...e.view, roundsCompleted: e.rounds.length };
          say(`round ${r.round}: participants ${r.participants}, dropped ${r.dropped.length}, declined ${r.declined.length}, ${(r.durationMs / 1000).toFixed(1)}s`);
        },
      });
      e.outcome = outcome;
      const { result } = outcome;
      const state = stateOf(result.status, e.cancelRequested);
      e.view = { ...e.view, outcome: result.status, registered: outcome.registered, roundsCompleted: result.rounds.length };
      if (state === 'queued') {
        // Stopped by the service's shutdown, not by an operator: taken up again at the next start.
        this.move(e, 'queued', { code: null, message: 'interrupted by a shutdown: resumes at the next start' });
        if (this.deps.db) queueJobRow(this.deps.db, { id: e.view.jobId, spec, specHash: jobSpecHash(spec), at: e.view.submittedAt });
        return;
      }
      const code = state === 'failed' ? (codeIn(result.message) ?? 'TESSERA_ERR_ROUND_FAILED') : null;
      this.move(e, state, { code, message: state === 'cancelled' ? `cancelled: ${result.message}` : result.message });
      if (state === 'cancelled') this.persistEnd(e, 'cancelled');
      else if (state === 'failed') this.persistEnd(e, 'failed');
      if (outcome.registrationError) say(`model registration failed [${outcome.registrationError.code}]: ${outcome.registrationError.message}`);
      say(`${result.status}: ${result.message}`);
      if (outcome.registered) say(`registered model ${outcome.registered.version} (${outcome.registered.name})`);
    } catch (err) {
      // A configuration error found while the job was assembled (hosted-job.ts rolled its writes back), or a bug.
      const coded = err instanceof TesseraError ? err : new TesseraError('TESSERA_ERR_INTERNAL', String(err), { cause: err });
      this.fail(e, coded.code, coded.message);
    } finally {
      e.abort = null;
    }
  }

  /** Stops taking jobs, interrupts the running one (it resumes at the next start) and waits for it. */
  async close(): Promise<void> {
    this.closing = true;
    for (const e of this.entries.values()) if (e.view.state === 'running') e.abort?.abort();
    this.wake?.();
    await this.pump;
  }
}
