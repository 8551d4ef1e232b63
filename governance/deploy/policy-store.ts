/**
 * The coordinator's recorded deployment policy (deploy-002): a chain of policy versions, each bound to the
 * one before. A new version that is at least as strict as the current one (governance/deploy/floor.ts
 * `isAtLeastAsStrict`) is recorded by anyone with the CLI; one that relaxes anything needs an admin-quorum
 * signed `policy.set` change (governance/identity/admin-changes.ts) naming both policy hashes. The chain is
 * re-verified on every read, so a laxer row written straight into SQLite is reported, not used.
 */
import { canonicalJson } from '../../lib/canonical-json.ts';
import { TesseraError } from '../../protocol/errors.ts';
import type { DeploymentPolicy } from '../../protocol/job/governance.ts';
import type { Db } from '../state/database.ts';
import { AUDIT_ACTIONS } from '../audit/actions.ts';
import { appendAudit } from '../audit/log.ts';
import type { AuditAttest } from '../audit/attribution.ts';
import { SignedAdminChange, adminSigners, assertAdminQuorum, requiredAdminSignatures, type Registry } from '../identity/admin-changes.ts';
import { readRegistry } from '../identity/registry-store.ts';
import { isAtLeastAsStrict, normalisePolicy, policyHash } from './floor.ts';
import { parsePolicy } from './policy.ts';

export interface RecordedPolicy {
  /** The current recorded policy, or the schema default when none was recorded (or the chain is broken). */
  readonly policy: DeploymentPolicy;
  readonly hash: string | null;
  readonly version: number;
  /** Set when a stored version does not verify; the gate refuses while it is set. */
  readonly problem: string | null;
}

interface Row {
  id: number;
  policy: string;
  policy_hash: string;
  previous_hash: string | null;
  change: string | null;
}

export function defaultPolicy(): DeploymentPolicy {
  return parsePolicy({}, 'defaults');
}

function registryAt(history: readonly Registry[], head: string): Registry | undefined {
  return history.find((r) => r.head === head);
}

/** Reads and re-verifies the chain of recorded policies. */
export function recordedPolicy(db: Db): RecordedPolicy {
  const rows = db.prepare('SELECT id, policy, policy_hash, previous_hash, change FROM deployment_policies ORDER BY id').all() as Row[];
  let current = defaultPolicy();
  let hash: string | null = null;
  const { history } = readRegistry(db);
  for (const [i, r] of rows.entries()) {
    const fail = (why: string): RecordedPolicy => ({ policy: current, hash, version: i, problem: `recorded policy version ${i + 1}: ${why}` });
    let policy: DeploymentPolicy;
    try {
      policy = parsePolicy(JSON.parse(r.policy), `recorded policy version ${i + 1}`);
    } catch {
      return fail('it is not a valid policy');
    }
    if (policyHash(policy) !== r.policy_hash) return fail('its hash does not match its contents (edited in storage)');
    if (r.previous_hash !== hash) return fail('it is not bound to the version before it (versions removed or inserted)');
    if (!isAtLeastAsStrict(policy, current)) {
      const change = SignedAdminChange.safeParse(r.change === null ? null : JSON.parse(r.change));
      if (!change.success) return fail('it relaxes the policy before it without an admin-quorum signed change');
      const c = change.data.payload.change;
      if (c.op !== 'policy.set' || c.policyHash !== r.policy_hash || c.previousPolicyHash !== hash) return fail('its signed change names other policy hashes');
      const signedAgainst = registryAt(history, change.data.payload.registryHead);
      if (!signedAgainst || adminSigners(signedAgainst, change.data).length < requiredAdminSignatures(signedAgainst)) return fail('its signed change lacks the admin quorum');
    }
    current = policy;
    hash = r.policy_hash;
  }
  return { policy: current, hash, version: rows.length, problem: null };
}

/**
 * Records a new coordinator policy. Stricter-or-equal: recorded as is. Laxer: only with `change`, a
 * `policy.set` signed by the admin quorum for exactly this policy and the current one.
 */
export function setRecordedPolicy(db: Db, value: unknown, options: { actor: string; attest?: AuditAttest; change?: unknown; now?: Date }): RecordedPolicy & { relaxed: boolean; signers: string[] } {
  const now = options.now ?? new Date();
  const policy = normalisePolicy(parsePolicy(value, 'the new policy'));
  return db
    .transaction(() => {
      const current = recordedPolicy(db);
      if (current.problem !== null) throw new TesseraError('TESSERA_ERR_STATE', `The recorded policy chain does not verify: ${current.problem}`);
      const hash = policyHash(policy);
      const relaxed = !isAtLeastAsStrict(policy, current.policy);
      let signers: string[] = [];
      let changeText: string | null = null;
      if (relaxed) {
        if (options.change === undefined) {
          throw new TesseraError('TESSERA_ERR_APPROVAL', `The new policy relaxes the current one (${current.hash ?? 'defaults'}); that needs a policy.set change signed by the admin quorum (policyHash ${hash}, previousPolicyHash ${current.hash ?? 'null'})`, {
            details: { policyHash: hash, previousPolicyHash: current.hash },
          });
        }
        const change = SignedAdminChange.parse(options.change);
        const c = change.payload.change;
        if (c.op !== 'policy.set' || c.policyHash !== hash || c.previousPolicyHash !== current.hash) throw new TesseraError('TESSERA_ERR_APPROVAL', 'The signed change is not a policy.set for this policy over the current one');
        signers = assertAdminQuorum(readRegistry(db).registry, change);
        changeText = canonicalJson(change);
      }
      db.prepare('INSERT INTO deployment_policies (policy, policy_hash, previous_hash, recorded_at, actor, change) VALUES (?, ?, ?, ?, ?, ?)').run(canonicalJson(policy), hash, current.hash, now.toISOString(), options.actor, changeText);
      appendAudit(db, { actor: relaxed ? `admins:${signers.join('+')}` : options.actor, action: AUDIT_ACTIONS.policyChanged, subject: 'deployment-policy', details: { policyHash: hash, previousPolicyHash: current.hash, relaxed, signers, policy }, time: now, attest: relaxed ? undefined : options.attest });
      return { policy, hash, version: current.version + 1, problem: null, relaxed, signers };
    })
    .immediate();
}
