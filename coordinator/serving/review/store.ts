/**
 * The review queue in the state database (review-001): held predictions, their reviewers' decisions and the
 * outcome the caller polls for. A decision is final and atomic: the row moves from `pending` exactly once
 * (a conditional UPDATE inside an IMMEDIATE transaction), together with its audit entry and its feedback.
 * The audit entry carries ids and classes only; the instance stays in this table, under the retention policy.
 */
import { canonicalJson } from '../../../lib/canonical-json.ts';
import { AUDIT_ACTIONS } from '../../../governance/audit/actions.ts';
import { appendAudit } from '../../../governance/audit/log.ts';
import type { Db } from '../../../governance/state/database.ts';
import { TesseraError } from '../../../protocol/errors.ts';
import { Explanation, type ReviewItem, type ReviewOutcome } from '../../../protocol/review.ts';
import type { FeedbackSink } from './feedback-sink.ts';

export interface HeldRecord {
  readonly predictionId: string;
  /** The token id of the caller that made the prediction: only it may poll the outcome. */
  readonly callerToken: string;
  readonly model: string;
  readonly version: string;
  readonly stage: string;
  readonly instance: readonly number[];
  readonly explanation: Explanation | null;
  readonly probabilities: readonly number[];
  readonly modelClass: number;
  readonly confidence: number;
  readonly reasons: readonly string[];
  readonly at: Date;
}

interface Row {
  id: number;
  prediction_id: string;
  caller_token: string;
  model: string;
  version: string;
  stage: string;
  instance: string | null;
  explanation: string | null;
  probabilities: string;
  model_class: number;
  confidence: number;
  reasons: string;
  status: 'pending' | 'confirmed' | 'overridden';
  final_class: number | null;
  created_at: string;
  decided_at: string | null;
}

function toItem(r: Row): ReviewItem {
  const explanation = r.explanation === null ? null : Explanation.safeParse(JSON.parse(r.explanation));
  return {
    predictionId: r.prediction_id,
    model: r.model,
    version: r.version,
    stage: r.stage,
    instance: r.instance === null ? null : (JSON.parse(r.instance) as number[]),
    explanation: explanation?.success ? explanation.data : null,
    probabilities: JSON.parse(r.probabilities) as number[],
    modelClass: r.model_class,
    confidence: r.confidence,
    reasons: JSON.parse(r.reasons) as string[],
    status: r.status,
    finalClass: r.final_class,
    createdAt: r.created_at,
    decidedAt: r.decided_at,
  };
}

/** Queues held predictions (one transaction for a request's instances). */
export function enqueueHeld(db: Db, records: readonly HeldRecord[]): void {
  if (records.length === 0) return;
  const insert = db.prepare(
    `INSERT INTO review_queue (prediction_id, caller_token, model, version, stage, instance, explanation, probabilities, model_class, confidence, reasons, status, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?)`,
  );
  db.transaction(() => {
    for (const r of records) {
      insert.run(r.predictionId, r.callerToken, r.model, r.version, r.stage, canonicalJson(r.instance), r.explanation === null ? null : canonicalJson(r.explanation), canonicalJson(r.probabilities), r.modelClass, r.confidence, canonicalJson(r.reasons), r.at.toISOString());
    }
  }).immediate();
}

/** Pending items, oldest first (optionally of one model), and how many are pending in all. */
export function pendingReviews(db: Db, options: { model?: string; limit: number }): { items: ReviewItem[]; pending: number } {
  const where = options.model === undefined ? "status = 'pending'" : "status = 'pending' AND model = ?";
  const args = options.model === undefined ? [] : [options.model];
  const rows = db.prepare(`SELECT * FROM review_queue WHERE ${where} ORDER BY id LIMIT ?`).all(...args, options.limit) as Row[];
  const { n } = db.prepare(`SELECT COUNT(*) AS n FROM review_queue WHERE ${where}`).get(...args) as { n: number };
  return { items: rows.map(toItem), pending: n };
}

function row(db: Db, predictionId: string): Row | undefined {
  return db.prepare('SELECT * FROM review_queue WHERE prediction_id = ?').get(predictionId) as Row | undefined;
}

/** Whether a prediction was held for human review (its ground truth is then the reviewer's decision). */
export function isHeldForReview(db: Db, predictionId: string): boolean {
  return db.prepare('SELECT 1 FROM review_queue WHERE prediction_id = ?').get(predictionId) !== undefined;
}

/** The outcome for the caller that made the prediction; any other token gets not-found (ids are not confirmed). */
export function reviewOutcome(db: Db, predictionId: string, callerToken: string): ReviewOutcome {
  const r = row(db, predictionId);
  if (!r || r.caller_token !== callerToken) throw new TesseraError('TESSERA_ERR_NOT_FOUND', `no held prediction ${predictionId} for this caller`);
  return { predictionId: r.prediction_id, status: r.status, modelClass: r.model_class, finalClass: r.final_class, decidedAt: r.decided_at };
}

export interface Decision {
  readonly predictionId: string;
  readonly decision: 'confirm' | 'override';
  readonly finalClass?: number;
  readonly note?: string;
  /** The reviewer's token id and name. */
  readonly reviewer: { readonly tokenId: string; readonly name: string };
  readonly at?: Date;
}

/** Records a reviewer's decision, its audit entry and its feedback in one transaction. */
export function decideReview(db: Db, d: Decision, feedback: FeedbackSink): ReviewItem {
  const at = d.at ?? new Date();
  return db
    .transaction(() => {
      const r = row(db, d.predictionId);
      if (!r) throw new TesseraError('TESSERA_ERR_NOT_FOUND', `no held prediction ${d.predictionId}`);
      if (r.status !== 'pending') throw new TesseraError('TESSERA_ERR_REVIEW_DECIDED', `prediction ${d.predictionId} was already ${r.status} at ${r.decided_at ?? '?'}`);
      const classes = (JSON.parse(r.probabilities) as number[]).length;
      const finalClass = d.decision === 'confirm' ? r.model_class : (d.finalClass ?? -1);
      if (d.decision === 'override' && (finalClass < 0 || finalClass >= classes)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `class ${finalClass} is not one of the model's ${classes} classes`);
      if (d.decision === 'override' && finalClass === r.model_class) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `an override must name a class other than the model's (${r.model_class}); confirm instead`);
      const status = d.decision === 'confirm' ? 'confirmed' : 'overridden';
      const changed = db
        .prepare("UPDATE review_queue SET status = ?, final_class = ?, reviewer = ?, note = ?, decided_at = ? WHERE prediction_id = ? AND status = 'pending'")
        .run(status, finalClass, d.reviewer.tokenId, d.note ?? null, at.toISOString(), d.predictionId);
      if (changed.changes !== 1) throw new TesseraError('TESSERA_ERR_REVIEW_DECIDED', `prediction ${d.predictionId} was decided concurrently`);
      appendAudit(db, {
        actor: `reviewer:${d.reviewer.tokenId}`,
        action: AUDIT_ACTIONS.reviewDecided,
        subject: `${r.model}/${r.version}`,
        details: { predictionId: r.prediction_id, decision: d.decision, modelClass: r.model_class, finalClass, stage: r.stage, reviewerName: d.reviewer.name, reasons: JSON.parse(r.reasons) as unknown },
        time: at,
      });
      feedback.record(db, { predictionId: r.prediction_id, model: r.model, version: r.version, stage: r.stage, label: finalClass, decision: d.decision, reviewer: d.reviewer.tokenId, at });
      return toItem(row(db, d.predictionId) as Row);
    })
    .immediate();
}
