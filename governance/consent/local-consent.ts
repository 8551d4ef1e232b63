/**
 * The client node's own copy of its consent (issue 6 §6): a participating organisation enforces its terms
 * even if the coordinator misbehaves. The file is JSON, parsed with zod; any doubt declines.
 *
 *   { "organisation": "cleveland",
 *     "consents": [{ "dataset": "heart", "purposes": ["cardiology-research"], "expiresAt": "2026-12-31",
 *                    "maxEpsilon": 4, "retentionDays": 365 }] }
 */
import { z } from 'zod';
import type { JobSpec } from '../../protocol/job/spec.ts';
import { ConsentTerms, consentCovers, type ConsentCode } from './terms.ts';

export const LocalConsentFile = z.object({
  organisation: z.string().min(1),
  consents: z.array(ConsentTerms),
});
export type LocalConsentFile = z.infer<typeof LocalConsentFile>;

export type LocalConsentDecision = { readonly accept: true } | { readonly accept: false; readonly code: ConsentCode; readonly reason: string };

/**
 * Decides whether the client takes part in `job`. `contents` is the parsed JSON of the local consent file
 * (unknown: it is validated here). `dataset` is the local name of the data set when it differs from the job's.
 * `epsilon` is the job's ε as the CLIENT recomputed it from the spec's (q, σ, rounds, δ, placement)
 * (client/policy/epsilon.ts; Infinity without DP) — the declared `dp.epsilon` is a coordinator's claim and is
 * never compared with the cap (issue 10 §1).
 */
export function localConsentDecision(
  contents: unknown,
  job: Pick<JobSpec, 'purpose' | 'data'>,
  options: { at?: Date; dataset?: string; epsilon: number },
): LocalConsentDecision {
  const parsed = LocalConsentFile.safeParse(contents);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { accept: false, code: 'CONSENT_MALFORMED', reason: `the local consent file is invalid (${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown'})` };
  }
  const dataset = options.dataset ?? job.data.dataset;
  const terms = parsed.data.consents.filter((c) => c.dataset === dataset);
  if (terms.length === 0) return { accept: false, code: 'CONSENT_MISSING', reason: `no local consent covers data set '${dataset}'` };
  const use = { purpose: job.purpose, epsilon: options.epsilon, at: options.at ?? new Date() };
  // Several entries for one data set: one that covers the use suffices; otherwise report the first refusal.
  const checks = terms.map((t) => consentCovers(t, use));
  if (checks.some((c) => c.ok)) return { accept: true };
  const first = checks[0];
  return first && !first.ok ? { accept: false, code: first.code, reason: first.reason } : { accept: false, code: 'CONSENT_MISSING', reason: 'no consent' };
}
