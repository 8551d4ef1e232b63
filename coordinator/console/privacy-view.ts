/**
 * The console's Privacy page data (issue 17 §2), read through the functions `tessera ledger show` and
 * `tessera consent list` use: `ledgerReport` for budgets, spend and charged rounds, `listConsents` for consent.
 * Nothing is recomputed here: ε and δ are the ledger's own figures. The accountant's settings per job (q, σ,
 * clip norm, placement) are those of its last charged round; m — the fewest survivors a round releases with —
 * comes from that round's privacy slot in the job's round record. Each organisation's ε over rounds is the
 * ledger's replay of its own charges (governance/ledger/org-series.ts), never a second computation; organisations
 * whose replays are identical point for point are sent once, with the list of organisations that share it.
 * Every figure comes from one snapshot (readConsistent): a round charged meanwhile is in all of them or none.
 */
import { readConsistent, type Db } from '../../governance/state/database.ts';
import { ledgerReport, orgEpsilonSeries, orgSpend, type OrgEpsilonSeries } from '../../governance/ledger/index.ts';
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

/**
 * One entry per distinct trajectory: organisations whose series are equal point for point (same steps, jobs,
 * rounds and the same ε and δ figures, compared exactly) share one entry listing them with their caps. Nothing is
 * rounded or dropped, so expanding the entries gives back every organisation's series exactly. Entries are ordered
 * by their first organisation's id, organisations within an entry by id (the input's order: orgEpsilonSeries sorts).
 */
export function groupOrgSeries(series: readonly OrgEpsilonSeries[]): PrivacyOverview['orgSeries'] {
  const byTrajectory = new Map<string, PrivacyOverview['orgSeries'][number]>();
  for (const s of series) {
    // JSON of numbers is exact for doubles (shortest round-trip form, ECMA-262 Number::toString), so equal keys
    // mean equal figures.
    const key = JSON.stringify(s.points.map((p) => [p.step, p.jobId, p.round, p.jobEpsilon, p.totalEpsilon, p.totalDelta]));
    const entry = byTrajectory.get(key);
    if (entry === undefined) byTrajectory.set(key, { organisations: [{ orgId: s.orgId, cap: s.cap }], points: s.points.map((p) => ({ ...p })) });
    else entry.organisations.push({ orgId: s.orgId, cap: s.cap });
  }
  return [...byTrajectory.values()];
}

export function privacyOverview(db: Db, roundsOf: (jobId: string) => readonly RoundRecord[], now: Date = new Date()): PrivacyOverview {
  return readConsistent(db, () => overviewOf(db, roundsOf, now));
}

function overviewOf(db: Db, roundsOf: (jobId: string) => readonly RoundRecord[], now: Date): PrivacyOverview {
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
  return { at: now.toISOString(), expiringWithinDays: EXPIRING_WITHIN_DAYS, jobs, orgs, orgSeries: groupOrgSeries(orgEpsilonSeries(db)), consents };
}
