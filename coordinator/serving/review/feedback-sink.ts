/**
 * Where review decisions go as feedback (issue 20 §5: "overrides … count as feedback"). The feedback store and
 * the online-accuracy figures belong to the monitoring side of serving (issue 20 §3); this is the small seam
 * between the two. `record` is called inside the transaction that stores the decision and its audit entry, so
 * the label, the decision and the audit entry commit together or not at all.
 *
 * The default (MONITORING_FEEDBACK_SINK) writes the reviewer's label into the monitoring side's feedback store
 * (governance/monitoring/store.ts), as an operator role would: the label then counts in the version's online
 * accuracy and calibration like any feedback, as the reviewer's evidence (one token, for the canary verdict). (Review 3 found the merged coordinator passing no sink, so review
 * decisions never reached online accuracy although docs/after-deployment-review.md said they did.)
 */
import { recordFeedback } from '../../../governance/monitoring/store.ts';
import type { Db } from '../../../governance/state/database.ts';

export interface ReviewFeedback {
  readonly predictionId: string;
  readonly model: string;
  readonly version: string;
  readonly stage: string;
  /** The ground-truth label the reviewer settled on (the model's class when confirmed). */
  readonly label: number;
  readonly decision: 'confirm' | 'override';
  /** The reviewer's token id (never the token). */
  readonly reviewer: string;
  readonly at: Date;
}

export interface FeedbackSink {
  record(db: Db, feedback: ReviewFeedback): void;
}

/** Without a feedback store the decision lives only in the review record (review_queue.final_class). */
export const NO_FEEDBACK_SINK: FeedbackSink = { record: () => undefined };

/**
 * The reviewer's label as feedback. The caller that made a held prediction may not label it (the feedback route
 * refuses with TESSERA_ERR_FEEDBACK_HELD), so the label is normally still free. Two cases keep the decision
 * without a label rather than refusing it — a decision must not depend on the state of another store: the
 * prediction was evicted from the bounded prediction store (or purged by retention), or an operator role
 * labelled it before the reviewer decided (one label per prediction; the first stays).
 */
export const MONITORING_FEEDBACK_SINK: FeedbackSink = {
  record(db, f) {
    const stored = db.prepare('SELECT label FROM serving_predictions WHERE id = ? AND model = ?').get(f.predictionId, f.model) as { label: number | null } | undefined;
    if (stored === undefined || stored.label !== null) return;
    recordFeedback(db, { model: f.model, tokenId: null, labeller: f.reviewer, items: [{ predictionId: f.predictionId, label: f.label }], at: f.at.toISOString(), resolveLabel: () => undefined });
  },
};
