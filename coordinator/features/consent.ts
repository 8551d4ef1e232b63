/**
 * The coordinator's side of consent (issue 6 §6): before every round, connected clients whose organisation has
 * no consent record in force covering the job's purpose, data set and total ε are excluded from sampling, with
 * the reason; each exclusion is audited (`client.excluded`) when it is decided, once per round and client, so
 * that a job which ends because everyone was excluded still leaves the trail. Eligibility is evaluated each
 * round, so a revocation recorded by `tessera consent revoke` while a job runs applies from the next round.
 *
 * When it applies: the coordinator keeps state (a database) and the job spec's `consent.required` is true —
 * the default for job files run by `tessera coordinator`; the built-in simulation job sets it false unless the
 * user's `--job` file says otherwise. Client nodes enforce their own local copy whatever the coordinator does.
 * With a consortium roster (every `tessera coordinator`), a record counts only when the organisation signed it
 * with its roster key and the stored terms are the signed ones (governance/consent/signed.ts); an unsigned,
 * forged or edited record excludes the organisation with CONSENT_UNSIGNED.
 */
import { AUDIT_ACTIONS } from '../../governance/audit/actions.ts';
import { appendAudit } from '../../governance/audit/log.ts';
import { eligibleOrganisations } from '../../governance/consent/store.ts';
import { jobEpsilon } from '../../governance/consent/terms.ts';
import type { ExcludedClient } from '../round-records.ts';
import type { FeatureFactory } from './assemble.ts';
import type { FeatureContext } from './feature.ts';

/** True when this job enforces consent on the coordinator (see the module comment). */
export function consentEnforced(ctx: Pick<FeatureContext, 'db' | 'spec'>): boolean {
  return ctx.db !== undefined && ctx.spec.consent.required;
}

export const consentFeature: FeatureFactory = (ctx) => {
  const db = ctx.db;
  if (!db || !ctx.spec.consent.required) return null;
  const { spec } = ctx;
  const epsilonNeeded = jobEpsilon(spec);
  // Client ids audited as excluded, per round: each exclusion is audited once per round and client.
  const rounds = new Map<number, Set<string>>();
  return {
    name: 'consent',
    provides: ['consent-eligibility'],
    hooks: {
      eligible(clients, round) {
        const e = eligibleOrganisations(db, { purpose: spec.purpose, at: new Date(), epsilonNeeded, dataset: spec.data.dataset, ...(ctx.consentRoster ? { roster: ctx.consentRoster } : {}) });
        const allowed = new Set(e.eligible);
        const why = new Map(e.excluded.map((x) => [x.organisation, x]));
        const eligible = clients.filter((c) => allowed.has(c.orgId));
        const excluded: ExcludedClient[] = clients
          .filter((c) => !allowed.has(c.orgId))
          .map((c) => {
            const w = why.get(c.orgId);
            return {
              clientId: c.clientId,
              orgId: c.orgId,
              code: w?.code ?? 'CONSENT_MISSING',
              // Audited here when decided; the audit feature skips exclusions of this stage.
              stage: 'consent',
              reason: w ? `not sampled: ${w.reason}` : `not sampled: no consent of organisation '${c.orgId}' is recorded for data set '${spec.data.dataset}'`,
            };
          });
        const audited = rounds.get(round) ?? new Set<string>();
        rounds.set(round, audited);
        for (const x of excluded) {
          if (audited.has(x.clientId)) continue;
          audited.add(x.clientId);
          appendAudit(db, {
            actor: 'coordinator',
            action: AUDIT_ACTIONS.clientExcluded,
            subject: `${ctx.jobId}/${round}`,
            details: { round, client: x.clientId, organisation: x.orgId, stage: 'consent', code: x.code, reason: x.reason },
          });
        }
        if (excluded.length > 0) ctx.logger.warn({ round, excluded: excluded.map((x) => `${x.orgId}:${x.code}`) }, `${excluded.length} client(s) excluded: consent does not cover the job`);
        return { eligible, excluded };
      },
    },
  };
};
