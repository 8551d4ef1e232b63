/**
 * What a key revocation does to deployments (issue 13 §4). Every canary and production version with a
 * stored approval signed by the revoked key is re-checked against the gate; one that no longer passes is
 * paused or flagged, as its policy's `onRevocation` says. Pausing a canary takes it out of traffic;
 * pausing production falls back to the most recent earlier production version that still passes the gate,
 * and when there is none the version keeps serving but is flagged (a service with no model is an outage the
 * operator must choose, not a side effect). Every pause and flag is audited and listed by `deploy status`.
 */
import { dirname } from 'node:path';
import type { Db } from '../state/database.ts';
import { AUDIT_ACTIONS } from '../audit/actions.ts';
import { appendAudit } from '../audit/log.ts';
import { listApprovals } from '../approvals/store.ts';
import { SignedApproval } from '../approvals/record.ts';
import { getModel } from '../registry/registry.ts';
import { checkGate, getDeploymentState, listDeploymentStates, saveDeploymentState, type DeploymentState } from './deployments.ts';
import { resolvePolicy } from './policy.ts';

export interface RevocationEffect {
  readonly name: string;
  readonly version: string;
  readonly stage: 'canary' | 'production';
  readonly action: 'paused' | 'flagged';
  readonly reason: string;
  /** For a paused production version: the version now serving instead. */
  readonly fallback: string | null;
}

function signedBy(db: Db, version: string, keyId: string): boolean {
  return listApprovals(db, version).some((a) => {
    const r = SignedApproval.safeParse(a.record);
    return r.success && r.data.payload.signer.keyId === keyId;
  });
}

export interface DeploymentFlag {
  readonly name: string;
  readonly version: string;
  readonly reason: string;
  readonly at: string;
}

export function listDeploymentFlags(db: Db, name?: string): DeploymentFlag[] {
  return db.prepare('SELECT name, version, reason, at FROM deployment_flags WHERE (? IS NULL OR name = ?) ORDER BY at').all(name ?? null, name ?? null) as DeploymentFlag[];
}

/** Re-checks the deployments that depended on `keyId` (call after the revocation is recorded) and pauses or flags them. */
export function revocationImpact(db: Db, keyId: string, options: { actor: string; now?: Date }): RevocationEffect[] {
  const now = options.now ?? new Date();
  const stateDir = dirname(db.name);
  const effects: RevocationEffect[] = [];
  db.transaction(() => {
    for (const initial of listDeploymentStates(db)) {
      for (const stage of ['canary', 'production'] as const) {
        const state: DeploymentState = getDeploymentState(db, initial.name);
        const version = state[stage];
        if (version === null || !signedBy(db, version, keyId)) continue;
        const model = getModel(db, version);
        if (!model) continue;
        const gate = checkGate(db, stateDir, model, { now, stage });
        if (gate.ok) continue;
        const reason = `key ${keyId} was revoked; the gate now fails: ${gate.unmet.map((u) => u.code).join(', ')}`;
        const { policy } = resolvePolicy({ db, model, stateDir });
        let fallback: string | null = null;
        if (policy.onRevocation === 'pause' && stage === 'canary') {
          saveDeploymentState(db, { ...state, canary: null, canaryPercent: null }, { name: state.name, version, action: 'deploy', stage: 'candidate', percent: null, previous: state.production, actor: options.actor, gate }, now);
        } else if (policy.onRevocation === 'pause') {
          const earlier = state.history.slice(0, -1).reverse();
          fallback = earlier.find((v) => {
            const m = getModel(db, v);
            return m !== undefined && checkGate(db, stateDir, m, { now, stage: 'production' }).ok;
          }) ?? null;
          if (fallback !== null) {
            const history = state.history.slice(0, state.history.lastIndexOf(fallback) + 1);
            saveDeploymentState(db, { ...state, production: fallback, history }, { name: state.name, version: fallback, action: 'rollback', stage: 'production', percent: null, previous: version, actor: options.actor, gate: null }, now);
          }
        }
        const action = policy.onRevocation === 'pause' && (stage === 'canary' || fallback !== null) ? 'paused' : 'flagged';
        if (action === 'flagged') db.prepare('INSERT OR IGNORE INTO deployment_flags (name, version, reason, at) VALUES (?, ?, ?, ?)').run(state.name, version, reason, now.toISOString());
        appendAudit(db, {
          actor: options.actor,
          action: action === 'paused' ? AUDIT_ACTIONS.deploymentPaused : AUDIT_ACTIONS.deploymentFlagged,
          subject: version,
          details: { name: state.name, stage, revokedKey: keyId, reason, fallback, unmet: gate.unmet.map((u) => u.code) },
          time: now,
        });
        effects.push({ name: state.name, version, stage, action, reason, fallback });
      }
    }
  }).immediate();
  return effects;
}
