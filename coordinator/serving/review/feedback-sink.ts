/**
 * Where review decisions go as feedback (issue 20 §5: "overrides … count as feedback"). The feedback store and
 * the online-accuracy figures belong to the monitoring side of serving (issue 20 §3); this is the small seam
 * between the two. `record` is called inside the transaction that stores the decision and its audit entry, so
 * the label, the decision and the audit entry commit together or not at all.
 *
 * To connect a feedback store: pass `{ record: (db, f) => recordFeedback(db, { predictionId: f.predictionId,
 * label: f.label, … }) }` as `feedback` in the review options (coordinator/serving/review/routes.ts).
 */
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
