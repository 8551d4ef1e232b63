/**
 * Serving evidence per token (migration serving-002): the counters of store.ts split by the token that produced
 * them — the token that received a request (requests, errors, latency, predicted classes) and the token that gave
 * a label (calibration). The canary verdict reads these, so it can ask how many distinct tokens stand behind a
 * figure and whether the figure survives leaving any one of them out (canary-evidence.ts).
 *
 * Written inside the transactions of store.ts (recordServed, recordUnanswered, recordFeedback). A row belongs to
 * one stay of a version in a stage (`since`), like the aggregate counters: a row from an earlier stay is replaced
 * when its token comes back, and ignored by readers until then. Token ids are identifiers, not secrets (the token
 * itself is never stored); no reader outside the canary verdict sees them, and the verdict shows counts only.
 */
import type { Db } from '../state/database.ts';
import { emptyServingCounts, servingCountsFromRow, type RawServingCounts, type ServingCounts } from './serving-counts.ts';
import type { CounterKey } from './store.ts';

/** What one token contributed to one stay of a version in a stage. */
/** The counts of requests this token sent; `calibration` counts the labels it gave (as the labeller). */
export interface TokenEvidence extends ServingCounts {
  readonly tokenId: string;
}

interface RawEvidence extends RawServingCounts {
  token_id: string;
  since: string;
}

const toEvidence = (r: RawEvidence): TokenEvidence => ({ ...servingCountsFromRow(r), tokenId: r.token_id });

export function emptyTokenEvidence(tokenId: string): TokenEvidence {
  return { ...emptyServingCounts(), tokenId };
}

/** Applies `change` to the token's evidence for the stay `key` (a fresh row when the stored one is from an earlier stay). Call inside a transaction. */
export function updateTokenEvidence(db: Db, key: CounterKey, tokenId: string, at: string, change: (e: TokenEvidence) => TokenEvidence): void {
  const r = db.prepare('SELECT * FROM serving_token_evidence WHERE model = ? AND version = ? AND stage = ? AND token_id = ?').get(key.model, key.version, key.stage, tokenId) as RawEvidence | undefined;
  const current = r !== undefined && r.since === key.since ? toEvidence(r) : emptyTokenEvidence(tokenId);
  const e = change(current);
  db.prepare(
    `INSERT INTO serving_token_evidence (model, version, stage, token_id, since, requests, instances, errors, latency, latency_sum, predicted, calibration, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (model, version, stage, token_id) DO UPDATE SET since = excluded.since, requests = excluded.requests, instances = excluded.instances,
       errors = excluded.errors, latency = excluded.latency, latency_sum = excluded.latency_sum, predicted = excluded.predicted,
       calibration = excluded.calibration, updated_at = excluded.updated_at`,
  ).run(key.model, key.version, key.stage, tokenId, key.since, e.requests, e.instances, e.errors, JSON.stringify(e.latency), e.latencySum, JSON.stringify(e.predicted), JSON.stringify(e.calibration), at);
}

/** Every token's evidence for the stay `key`, in token order. */
export function readTokenEvidence(db: Db, key: CounterKey): TokenEvidence[] {
  const rows = db.prepare('SELECT * FROM serving_token_evidence WHERE model = ? AND version = ? AND stage = ? AND since = ? ORDER BY token_id').all(key.model, key.version, key.stage, key.since) as RawEvidence[];
  return rows.map(toEvidence);
}
