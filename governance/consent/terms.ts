/**
 * Consent terms and the pure check of whether they cover a use (issue 6 §6). Shared by the coordinator's
 * sampler (governance/consent/store.ts) and the client node's local enforcement (local-consent.ts), so both
 * apply the same rule. No storage here: a client node must not pull in the coordinator's database.
 */
import { z } from 'zod';

const Iso = z.union([z.iso.datetime({ offset: true }), z.iso.date()]);

export const ConsentTerms = z.object({
  /** The data set the consent is for (a job's `data.dataset`, or the organisation's own name for it). */
  dataset: z.string().min(1),
  /** Purposes the organisation allows its data to be used for; a job's `purpose` must be one of them. */
  purposes: z.array(z.string().min(1)).min(1),
  /** When the consent ends (exclusive). A date alone means the start of that day, UTC. */
  expiresAt: Iso,
  /** The most ε (per job, for this organisation's whole contribution) the organisation accepts. */
  maxEpsilon: z.number().positive(),
  /** How many days records derived from the contribution may be kept. */
  retentionDays: z.number().int().min(0),
  revokedAt: Iso.nullable().default(null),
  revokedReason: z.string().nullable().default(null),
});
export type ConsentTerms = z.infer<typeof ConsentTerms>;

export interface ConsentRecord extends ConsentTerms {
  readonly organisation: string;
  readonly grantedAt: string;
}

/** Stable decline codes; they travel in a client's decline message and in audit entries. */
export type ConsentCode = 'CONSENT_MISSING' | 'CONSENT_MALFORMED' | 'CONSENT_REVOKED' | 'CONSENT_EXPIRED' | 'CONSENT_PURPOSE' | 'CONSENT_EPSILON' | 'CONSENT_UNSIGNED';

export type ConsentCheck = { readonly ok: true } | { readonly ok: false; readonly code: ConsentCode; readonly reason: string };

export interface ConsentUse {
  readonly purpose: string;
  /** ε the job may spend in total; Infinity for a job without differential privacy or without a budget. */
  readonly epsilon: number;
  readonly at: Date;
}

/**
 * Whether `terms` cover `use`: not revoked by `at`, not expired at `at`, the purpose among those allowed,
 * and the job's ε within the organisation's maximum. The first failing condition is reported.
 */
export function consentCovers(terms: ConsentTerms, use: ConsentUse): ConsentCheck {
  const at = use.at.getTime();
  if (terms.revokedAt !== null && Date.parse(terms.revokedAt) <= at) {
    return { ok: false, code: 'CONSENT_REVOKED', reason: `consent for ${terms.dataset} was revoked at ${terms.revokedAt}${terms.revokedReason ? ` (${terms.revokedReason})` : ''}` };
  }
  if (Date.parse(terms.expiresAt) <= at) return { ok: false, code: 'CONSENT_EXPIRED', reason: `consent for ${terms.dataset} expired at ${terms.expiresAt}` };
  if (!terms.purposes.includes(use.purpose)) {
    return { ok: false, code: 'CONSENT_PURPOSE', reason: `purpose '${use.purpose}' is not among the purposes consented to for ${terms.dataset} (${terms.purposes.join(', ')})` };
  }
  if (!(use.epsilon <= terms.maxEpsilon)) {
    const eps = Number.isFinite(use.epsilon) ? `ε = ${use.epsilon}` : 'no differential-privacy bound (ε = ∞)';
    return { ok: false, code: 'CONSENT_EPSILON', reason: `the job allows ${eps}, above the consented maximum ε = ${terms.maxEpsilon} for ${terms.dataset}` };
  }
  return { ok: true };
}

/** The total ε a job may spend: its DP budget, or Infinity when it runs without DP or without a budget. */
export function jobEpsilon(job: { dp: { enabled: boolean; epsilon?: number | undefined } }): number {
  return job.dp.enabled && job.dp.epsilon !== undefined ? job.dp.epsilon : Infinity;
}
