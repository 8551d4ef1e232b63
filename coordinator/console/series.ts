/**
 * A job's committed rounds as the console's charts read them (issue 17): counts per round and the feature
 * slots that hold aggregates only. Pure: the round records come from the job service (the same records
 * `GET /v1/jobs/:id` and `tessera jobs show` report). Every operator role may read this, so the organisations
 * of a round — its participants and each decline's client — are reduced to counts per stable code here.
 */
import type { RoundRecord } from '../round-records.ts';
import type { SeriesRound } from './schemas.ts';

/** Declines and drops per code: what the Overview's alerts and the Data page's decline table show. */
export function codeCounts(r: Pick<RoundRecord, 'declined' | 'dropped'>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const x of [...r.declined, ...r.dropped]) counts[x.code] = (counts[x.code] ?? 0) + 1;
  return counts;
}

export function seriesRound(r: RoundRecord): SeriesRound {
  const { privacy, dataContract, fairness } = r.extra;
  return {
    round: r.round,
    attempt: r.attempt,
    eligible: r.eligible,
    selected: r.selected,
    participants: r.participants,
    dropped: r.dropped.length,
    declined: r.declined.length,
    codes: codeCounts(r),
    accuracy: r.accuracy,
    loss: r.loss,
    trainLoss: r.trainLoss,
    durationMs: r.durationMs,
    ...(privacy !== undefined ? { privacy } : {}),
    ...(dataContract !== undefined ? { dataContract } : {}),
    ...(fairness !== undefined ? { fairness } : {}),
  };
}
