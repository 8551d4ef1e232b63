/**
 * Taking a canary out of traffic (issue 20 §4): production keeps serving, the canary stops, and the change is a
 * deployment event plus an audit entry in one transaction. The serving coordinator calls this when the policy's
 * canary criteria are breached (governance/monitoring/canary.ts), with the figures and breaches in the audit
 * entry; `tessera rollback --canary` calls it by hand. No gate: the version left serving is production, which
 * passed it, and stopping a canary only takes traffic away from a version.
 */
import { TesseraError } from '../../protocol/errors.ts';
import { AUDIT_ACTIONS } from '../audit/actions.ts';
import { appendAudit } from '../audit/log.ts';
import type { Db } from '../state/database.ts';
import type { AuditAttest } from '../audit/attribution.ts';
import { getDeploymentState, saveDeploymentState, type DeploymentState } from './deployments.ts';

export interface CanaryRollbackInput {
  readonly name: string;
  readonly actor: string;
  readonly reason: string;
  /** True when the criteria triggered it (the serving coordinator), false for a person. */
  readonly automatic: boolean;
  /** Only roll back if this is still the canary (a deploy in between wins; the call then returns null). */
  readonly expectedCanary?: string;
  /** What the decision rested on (figures, criteria, breaches), recorded in the audit entry. */
  readonly evidence?: Record<string, unknown>;
  readonly now?: Date;
  /** Signs the audit entry for a person (governance/audit/attribution.ts attributeTo). */
  readonly attest?: AuditAttest;
}

/** Stops the canary of `name`; returns the new state, or null when `expectedCanary` is no longer the canary. */
export function rollbackCanary(db: Db, input: CanaryRollbackInput): DeploymentState | null {
  const now = input.now ?? new Date();
  return db.transaction((): DeploymentState | null => {
    const state = getDeploymentState(db, input.name);
    if (state.canary === null || state.production === null) {
      if (input.expectedCanary !== undefined) return null;
      throw new TesseraError('TESSERA_ERR_NOT_FOUND', `'${input.name}' has no canary to roll back`);
    }
    if (input.expectedCanary !== undefined && state.canary !== input.expectedCanary) return null;
    const canary = state.canary;
    const saved = saveDeploymentState(
      db,
      { ...state, canary: null, canaryPercent: null },
      { name: input.name, version: canary, action: 'rollback', stage: 'canary', percent: state.canaryPercent, previous: state.production, actor: input.actor, gate: null },
      now,
    );
    const details: Record<string, unknown> = { from: canary, to: state.production, automatic: input.automatic, reason: input.reason, percent: state.canaryPercent, ...(input.evidence ?? {}) };
    appendAudit(db, { actor: input.actor, ...(input.attest ? { attest: input.attest } : {}), action: AUDIT_ACTIONS.canaryRolledBack, subject: input.name, details, time: now });
    return saved;
  }).immediate();
}
