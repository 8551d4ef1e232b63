/**
 * Durable draws (review finding 4). A DP round's Poisson sample is part of the mechanism the ledger charges: the
 * accountant's amplification assumes each organisation is in the round with probability q, ONE draw per round.
 * A restart between the draw and the charge used to draw the round again, so an operator could restart until a
 * draw suited them (an organisation's inclusion probability → 1 while the ledger charged q). Each draw is
 * therefore recorded here — inside its own committed transaction, before any task of the round leaves the
 * coordinator — and a restarted coordinator reuses it (coordinator/features/dp.ts `drawSample`).
 *
 * Reuse rather than "charge the drawn round as released": a reused draw is the same mechanism as an uninterrupted
 * run (one Bernoulli(q) draw per organisation and round; the clients' noise is fresh, and nothing of the first
 * attempt was released — the charge precedes any release), so the ledger's ε stays exact instead of paying a
 * round for nothing, and a seeded simulation resumes bit-identically (its draws are the recorded ones).
 *
 * The one exception is a SHORT draw (fewer than minClients organisations): it released nothing, ended the job,
 * and its probability is paid from the δ reserve (privacy/dp/underfill.ts). The coupling lemma there lets the
 * mechanism do anything once that event happened, so a resumed job draws the round again with attempt + 1; the
 * table's trigger (ledger-003) refuses any other second draw.
 */
import { z } from 'zod';
import { TesseraError } from '../../protocol/errors.ts';
import type { Db } from '../state/database.ts';

export interface RoundDraw {
  readonly jobId: string;
  readonly round: number;
  /** 1 for the first draw of a round; larger only after short draws. */
  readonly attempt: number;
  /** Organisations the sample was drawn from (N = eligibleOrgIds.length). */
  readonly eligibleOrgIds: readonly string[];
  /** Organisations drawn. */
  readonly selectedOrgIds: readonly string[];
  /** Fewer than minClients were drawn: nothing was released and the round may be drawn again. */
  readonly short: boolean;
}

const OrgIds = z.array(z.string());
const Row = z.object({ job_id: z.string(), round: z.number().int(), attempt: z.number().int(), eligible: z.string(), selected: z.string(), short: z.number().int() });

/**
 * Records a draw in its own immediate transaction (or the caller's), durable when it returns (the state database
 * runs with synchronous = FULL). Throws TESSERA_ERR_LEDGER when the round already has a draw that was not short.
 */
export function recordDraw(db: Db, draw: RoundDraw): void {
  const insert = (): void => {
    db.prepare('INSERT INTO ledger_draws (job_id, round, attempt, eligible, selected, short, drawn_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      draw.jobId,
      draw.round,
      draw.attempt,
      JSON.stringify(draw.eligibleOrgIds),
      JSON.stringify(draw.selectedOrgIds),
      draw.short ? 1 : 0,
      new Date().toISOString(),
    );
  };
  try {
    if (db.inTransaction) insert();
    else db.transaction(insert).immediate();
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_LEDGER', `job ${draw.jobId} round ${draw.round}: the draw cannot be recorded: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** The latest draw of a round (highest attempt), or undefined when the round was never drawn. */
export function latestDraw(db: Db, jobId: string, round: number): RoundDraw | undefined {
  const raw = db.prepare('SELECT job_id, round, attempt, eligible, selected, short FROM ledger_draws WHERE job_id = ? AND round = ? ORDER BY attempt DESC LIMIT 1').get(jobId, round);
  if (raw === undefined) return undefined;
  const r = Row.parse(raw);
  return { jobId: r.job_id, round: r.round, attempt: r.attempt, eligibleOrgIds: OrgIds.parse(JSON.parse(r.eligible)), selectedOrgIds: OrgIds.parse(JSON.parse(r.selected)), short: r.short === 1 };
}

/** Every draw of a job, by round and attempt (for reports and tests). */
export function jobDraws(db: Db, jobId: string): RoundDraw[] {
  const rows = z.array(Row).parse(db.prepare('SELECT job_id, round, attempt, eligible, selected, short FROM ledger_draws WHERE job_id = ? ORDER BY round, attempt').all(jobId));
  return rows.map((r) => ({ jobId: r.job_id, round: r.round, attempt: r.attempt, eligibleOrgIds: OrgIds.parse(JSON.parse(r.eligible)), selectedOrgIds: OrgIds.parse(JSON.parse(r.selected)), short: r.short === 1 }));
}
