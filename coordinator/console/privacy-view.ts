/**
 * The console's Privacy page data (issue 17 §2), read through the functions `tessera ledger show` and
 * `tessera consent list` use: `ledgerReport` for budgets, spend and charged rounds, `listConsents` for consent.
 * Nothing is recomputed here: ε and δ are the ledger's own figures. The accountant's settings per job (q, σ,
 * clip norm, placement) are those of its last charged round; m — the fewest survivors a round releases with —
 * comes from that round's privacy slot in the job's round record. Each organisation's ε over rounds is the
 * ledger's replay of its own charges (governance/ledger/org-series.ts), never a second computation.
 */
import type { Db } from '../../governance/state/database.ts';
import { ledgerReport, orgEpsilonSeries, orgSpend } from '../../governance/ledger/index.ts';
import { listConsents } from '../../governance/consent/store.ts';
import type { RoundRecord } from '../round-records.ts';
import type { PrivacyOverview } from './schemas.ts';

/** Consent ending within this many days is shown as expiring. */
export const EXPIRING_WITHIN_DAYS = 30;
const DAY_MS = 86_400_000;

function consentStatus(c: { expiresAt: string; revokedAt: string | null }, now: Date): PrivacyOverview['consents'][number]['status'] {
  const t = now.getTime();
  if (c.revokedAt !== null && Date.parse(c.revokedAt) <= t) return 'revoked';
  const end = Date.parse(c.expiresAt);
  if (end <= t) return 'expired';
  return end - t <= EXPIRING_WITHIN_DAYS * DAY_MS ? 'expiring' : 'active';
}

export function privacyOverview(db: Db, roundsOf: (jobId: string) => readonly RoundRecord[], now: Date = new Date()): PrivacyOverview {
  const all = ledgerReport(db);
  const jobs = all.jobs.map((j) => {
    const rounds = ledgerReport(db, { jobId: j.budget.jobId }).rounds ?? [];
    const last = rounds[rounds.length - 1];
    const lastSlot = [...roundsOf(j.budget.jobId)].reverse().find((r) => r.extra.privacy !== undefined)?.extra.privacy;
    return {
      jobId: j.budget.jobId,
      budget: j.budget,
      roundsCharged: j.roundsCharged,
      epsilonSpent: j.epsilonSpent,
      epsilonRemaining: j.epsilonRemaining,
      notPrivateRounds: j.notPrivateRounds,
      settings: last ? { samplingRate: last.samplingRate, noiseMultiplier: last.noiseMultiplier, clipNorm: last.clipNorm, placement: last.placement, minSurvivors: lastSlot?.minSurvivors ?? null } : null,
      rounds,
    };
  });
  // Every organisation with a cap (the unfiltered report) and every one that spent: each through the report's own per-organisation view.
  const orgIds = new Set([...all.orgs.map((o) => o.orgId), ...orgSpend(db).map((s) => s.orgId)]);
  const orgs = [...orgIds].sort().flatMap((orgId) => ledgerReport(db, { orgId }).orgs.filter((o) => o.orgId === orgId));
  const consents = listConsents(db).map((c) => ({ ...c, purposes: [...c.purposes], status: consentStatus(c, now) }));
  return { at: now.toISOString(), expiringWithinDays: EXPIRING_WITHIN_DAYS, jobs, orgs, orgSeries: orgEpsilonSeries(db), consents };
}
