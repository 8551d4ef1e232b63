/**
 * The round loop's entries in the hash-chained audit log (issue 6 §5), written only when the coordinator
 * keeps state: `job.created` and `job.started` when the job is assembled (just before its first round);
 * per committed round, inside the round-commit transaction (so the round row, the ledger charge and these
 * entries exist together or not at all), `round.committed` with its ε charge, then `client.excluded` for each
 * client dropped (timeout, disconnect, bad update) or kept out by the DP feature before sampling (organisation
 * cap, duplicate organisation), and `client.declined` for each client that declined (data contract, local
 * consent) — codes and reasons only, never data; `job.stopped` with the final status (which also signs a
 * checkpoint). Clients the consent feature kept out (stage `consent`) are audited by it when it decides.
 * `model.registered` is written by the registry when the registry feature registers the model.
 * It reads only the round record — the DP feature's typed `privacy` slot and each exclusion's `stage` — never
 * another feature's internals.
 */
import { jobSpecHash } from '../../lib/job-spec-hash.ts';
import { AUDIT_ACTIONS } from '../../governance/audit/actions.ts';
import { appendAudit } from '../../governance/audit/log.ts';
import type { FeatureFactory } from './assemble.ts';

export const auditFeature: FeatureFactory = (ctx) => {
  const db = ctx.db;
  if (!db) return null;
  const { spec, jobId } = ctx;
  const subject = jobId;
  const start = (): void => {
    appendAudit(db, {
      actor: 'coordinator',
      action: AUDIT_ACTIONS.jobCreated,
      subject,
      details: {
        name: spec.name,
        purpose: spec.purpose,
        dataset: spec.data.dataset,
        specHash: jobSpecHash(spec),
        contractHash: spec.data.contractHash ?? null,
        rounds: spec.rounds,
        dp: spec.dp.enabled ? { epsilon: spec.dp.epsilon ?? null, delta: spec.dp.delta, placement: spec.dp.placement } : null,
        secureAggregation: spec.secagg.enabled,
        consentRequired: spec.consent.required,
      },
    });
    appendAudit(db, { actor: 'coordinator', action: AUDIT_ACTIONS.jobStarted, subject, details: { minClients: spec.minClients, sampling: spec.sampling } });
  };
  let spent = 0;
  return {
    name: 'audit',
    provides: ['audit-trail'],
    // Its round.committed entry follows the round row it reports and the ε charge it states (one transaction).
    needs: ['job-rows'],
    after: ['privacy-charge'],
    start,
    hooks: {
      commitRound(record) {
        const epsilonSpent = record.extra.privacy?.epsilon;
        // The ε this round cost: the growth of the job's cumulative spend, 0 without DP.
        const charge = epsilonSpent !== undefined ? Math.max(0, epsilonSpent - spent) : 0;
        if (epsilonSpent !== undefined) spent = epsilonSpent;
        const roundSubject = `${jobId}/${record.round}`;
        appendAudit(db, {
          actor: 'coordinator',
          action: AUDIT_ACTIONS.roundCommitted,
          subject: roundSubject,
          details: {
            round: record.round,
            attempt: record.attempt,
            epsilonCharge: charge,
            ...(epsilonSpent !== undefined ? { epsilonSpent } : {}),
            participants: record.participants,
            organisations: record.participantOrgs,
            dropped: record.dropped.length,
            declined: record.declined.length,
          },
        });
        for (const d of record.dropped) {
          appendAudit(db, {
            actor: 'coordinator',
            action: AUDIT_ACTIONS.clientExcluded,
            subject: roundSubject,
            details: { round: record.round, client: d.clientId, organisation: d.orgId, stage: 'training', code: d.code, reason: d.reason },
          });
        }
        for (const d of record.declined) {
          if (d.stage === 'consent') continue;
          if (d.stage === 'eligibility') {
            appendAudit(db, {
              actor: 'coordinator',
              action: AUDIT_ACTIONS.clientExcluded,
              subject: roundSubject,
              details: { round: record.round, client: d.clientId, organisation: d.orgId, stage: 'eligibility', code: d.code, reason: d.reason },
            });
            continue;
          }
          appendAudit(db, {
            actor: d.clientId,
            action: AUDIT_ACTIONS.clientDeclined,
            subject: roundSubject,
            details: { round: record.round, client: d.clientId, organisation: d.orgId, code: d.code, reason: d.reason, ...(d.counts ? { counts: d.counts } : {}) },
          });
        }
      },
      onJobEnd(result) {
        appendAudit(db, {
          actor: 'coordinator',
          action: AUDIT_ACTIONS.jobStopped,
          subject,
          details: { status: result.status, message: result.message, rounds: result.rounds.length, accuracy: result.final.accuracy, epsilonSpent: spent },
        });
      },
    },
  };
};
