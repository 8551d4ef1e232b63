/**
 * The DP feature's sampling (review finding 4): each round's draw is recorded in the ledger before any task of the
 * round leaves the coordinator, and a round drawn by an earlier process (and not short) runs on that recorded
 * sample instead of a fresh draw. governance/ledger/draws.ts says why the draw is reused rather than charged.
 */
import { latestDraw, recordDraw } from '../../governance/ledger/index.ts';
import type { Db } from '../../governance/state/database.ts';
import type { ConnectedClient } from '../federation.ts';
import type { Selection } from '../sampling.ts';

export interface DrawRequest {
  readonly db: Db;
  readonly jobId: string;
  readonly round: number;
  /** The round loop's attempt number (1 under DP, which never re-samples within a run). */
  readonly attempt: number;
  /** Eligible clients, one per organisation, sorted by client id. */
  readonly eligible: readonly ConnectedClient[];
  /** The organisations the round was planned over (N). */
  readonly eligibleOrgIds: readonly string[];
  readonly samplingRate: number;
  readonly minClients: number;
  /** The round loop's own draw from the (seed, round, 'sampling', attempt) stream. */
  readonly draw: (attempt: number) => Selection<ConnectedClient>;
}

export interface DrawResult {
  readonly selection: Selection<ConnectedClient>;
  /** Set when the round runs on a draw recorded before a restart: the population it was drawn from. */
  readonly reused?: { readonly attempt: number; readonly eligibleOrgIds: readonly string[]; readonly drawn: number };
}

export function drawOrReuse(r: DrawRequest): DrawResult {
  const recorded = latestDraw(r.db, r.jobId, r.round);
  if (recorded && !recorded.short) {
    // The round runs on that sample, over the population it was drawn from (those organisations are the ones
    // charged). An organisation of the sample that is not here now does not take part, like a dropout; it is
    // never replaced by a fresh draw.
    const drawn = new Set(recorded.selectedOrgIds);
    const selected = r.eligible.filter((c) => drawn.has(c.orgId));
    return { selection: { selected, expected: r.samplingRate * recorded.eligibleOrgIds.length }, reused: { attempt: recorded.attempt, eligibleOrgIds: recorded.eligibleOrgIds, drawn: recorded.selectedOrgIds.length } };
  }
  // After a short draw (nothing released; its chance paid from the δ reserve) a resumed job draws the round afresh.
  const attempt = recorded ? Math.max(r.attempt, recorded.attempt + 1) : r.attempt;
  const selection = r.draw(attempt);
  // Committed before the round loop sends a single task.
  recordDraw(r.db, { jobId: r.jobId, round: r.round, attempt, eligibleOrgIds: r.eligibleOrgIds, selectedOrgIds: selection.selected.map((c) => c.orgId), short: selection.selected.length < r.minClients });
  return { selection };
}

/** N of the round's recorded (not short) draw, 0 without one: a restarted round waits for that many eligible. */
export function recordedPopulation(db: Db, jobId: string, round: number): number {
  const d = latestDraw(db, jobId, round);
  return d && !d.short ? d.eligibleOrgIds.length : 0;
}
