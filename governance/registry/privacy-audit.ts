/**
 * The measured privacy of a registered model (issue 19 §3–4): what `tessera simulate --audit-privacy` observed of
 * the final model — the one-shot canary ε lower bound (Andrew et al., ICLR 2024) beside the accountant's ε, and
 * the loss-threshold membership-inference attack (Yeom et al., CSF 2018), each with its bootstrap interval, and for
 * tabular data the attribute-inference attack on the sensitive attributes (Yeom et al. 2018 §4; Wilson and
 * Newcombe score intervals), plain and prior-weighted (Fredrikson et al. 2014). The stored JSON carries the
 * attribute attack, and within it the prior-weighted variant, as optional fields (records written before them
 * lack them), so registry-002's table needs no migration. The
 * audit runs after the model is registered (it attacks the final model), so it is recorded beside the registry
 * row, once per version (registry-002; append-only), and the model card shows it. A measurement, not a
 * guarantee: an empirical ε is a lower bound on the true ε of this run, the accountant's ε an upper bound.
 */
import { z } from 'zod';
import { TesseraError } from '../../protocol/errors.ts';
import type { Db } from '../state/database.ts';

const Interval = z.object({ low: z.number(), high: z.number() });

/** One attribute attack's accuracies on training and held-out rows and its advantage (simulations/attribute-inference.ts). */
const AttackAccuracy = z.object({
  memberAccuracy: z.number().min(0).max(1),
  memberAccuracyInterval95: Interval,
  nonMemberAccuracy: z.number().min(0).max(1),
  nonMemberAccuracyInterval95: Interval,
  advantage: z.number().min(-1).max(1),
  advantageInterval95: Interval,
});

export const ModelPrivacyAudit = z.object({
  canary: z.object({
    method: z.string(),
    canaries: z.number().int().positive(),
    delta: z.number().gt(0).lt(1),
    epsilonLowerBound: z.number().min(0),
    epsilonInterval95: Interval,
  }),
  /** The ledger's ε for the rounds run (null without DP). */
  accountantEpsilon: z.number().min(0).nullable(),
  membershipInference: z.object({
    attack: z.string(),
    members: z.number().int().min(0),
    nonMembers: z.number().int().min(0),
    auc: z.number().min(0).max(1),
    aucInterval95: Interval,
    advantage: z.number(),
    advantageInterval95: Interval,
  }),
  /** Absent in records written before the attribute attack; null for data without sensitive model inputs. */
  attributeInference: z
    .object({
      attack: z.string(),
      attributes: z.array(
        AttackAccuracy.extend({
          attribute: z.string(),
          values: z.array(z.string()),
          members: z.number().int().min(0),
          nonMembers: z.number().int().min(0),
          baseline: z.object({ value: z.string(), memberAccuracy: z.number().min(0).max(1), nonMemberAccuracy: z.number().min(0).max(1) }),
          /** The prior-weighted variant (absent in records written before it). */
          priorWeighted: AttackAccuracy.extend({
            prior: z.object({ source: z.enum(['contract-reference', 'training-rows']), shares: z.array(z.number().min(0).max(1)) }),
          }).optional(),
        }),
      ),
    })
    .nullable()
    .optional(),
});
export type ModelPrivacyAudit = z.infer<typeof ModelPrivacyAudit>;

/** Records the audit of `version` (once: the trigger of registry-002 refuses a second record or any change). */
export function recordPrivacyAudit(db: Db, version: string, audit: ModelPrivacyAudit, at: Date = new Date()): void {
  const parsed = ModelPrivacyAudit.parse(audit);
  try {
    db.prepare('INSERT INTO model_privacy_audits (version, audit, recorded_at) VALUES (?, ?, ?)').run(version, JSON.stringify(parsed), at.toISOString());
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_PRIVACY_AUDIT_RECORD', `the privacy audit of model ${version} cannot be recorded: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

export function getPrivacyAudit(db: Db, version: string): ModelPrivacyAudit | null {
  const row = db.prepare('SELECT audit FROM model_privacy_audits WHERE version = ?').pluck().get(version) as string | undefined;
  return row === undefined ? null : ModelPrivacyAudit.parse(JSON.parse(row));
}
