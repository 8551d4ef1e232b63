/**
 * The deployment gate (issue 6 §4): pure, given the model, the policy, the stored approval records, the
 * trust registry and the time. It names every unmet condition rather than the first, so an operator fixes
 * everything in one pass. Records that cannot count are reported with the reason; records that show
 * tampering (bad signature, malformed, about another model or lineage, evidence that differs from the
 * registry) block outright, while expired, revoked or role-less records only fail to count towards quorum.
 */
import type { DeploymentPolicy, RoleRequirement } from '../../protocol/job/governance.ts';
import type { Approver } from '../identity/approvers.ts';
import type { RegisteredModel } from '../registry/registry.ts';
import { verifyApproval, type ApprovalFailureCode } from '../approvals/record.ts';

export type GateFailureCode =
  | 'signature-invalid'
  | 'malformed'
  | 'model-mismatch'
  | 'lineage-mismatch'
  | 'evidence-mismatch'
  | 'quorum-unmet'
  | 'rejected'
  | 'epsilon-too-high'
  | 'epsilon-unknown'
  | 'fairness-failed'
  | 'fairness-missing'
  | 'contract-checks-failed'
  | 'contract-checks-missing';

export interface GateFailure {
  readonly code: GateFailureCode;
  readonly message: string;
  readonly approvalId?: string | null;
  readonly keyId?: string | null;
  readonly role?: string;
}

export interface NotCounted {
  readonly approvalId: string | null;
  readonly keyId: string | null;
  /** The role the record claims. */
  readonly role: string | null;
  readonly code: ApprovalFailureCode;
  readonly reason: string;
}

export interface RoleStatus {
  readonly role: string;
  readonly min: number;
  readonly of: number | null;
  /** Distinct valid approvers of this role. */
  readonly approvals: number;
  readonly signers: readonly string[];
}

export interface GateResult {
  readonly ok: boolean;
  readonly modelVersion: string;
  readonly evaluatedAt: string;
  readonly unmet: readonly GateFailure[];
  readonly notCounted: readonly NotCounted[];
  readonly roles: readonly RoleStatus[];
  /** Valid approving records that count. */
  readonly counted: ReadonlyArray<{ readonly approvalId: string; readonly keyId: string; readonly name: string; readonly role: string }>;
}

export interface GateInput {
  readonly model: RegisteredModel;
  readonly policy: DeploymentPolicy;
  /** Stored records for this model (anything: each is parsed and verified here). */
  readonly approvals: ReadonlyArray<{ readonly id?: string; readonly record: unknown }>;
  readonly approvers: readonly Approver[];
  readonly now: Date;
}

/** Record failures that mean the stored evidence was tampered with: they block, not merely fail to count. */
const BLOCKING: ReadonlySet<ApprovalFailureCode> = new Set(['signature-invalid', 'malformed', 'model-mismatch', 'lineage-mismatch', 'evidence-mismatch']);

/**
 * Maximum bipartite matching (Kuhn's augmenting paths; Kuhn 1955) of role slots to distinct signers, for
 * `distinctSigners` policies where one person must not fill two slots. Sizes are tiny (a few slots).
 */
function distinctQuorum(slots: readonly string[], eligible: ReadonlyMap<string, ReadonlySet<string>>): number {
  const owner = new Map<string, number>(); // signer → slot index
  const tryAssign = (slot: number, seen: Set<string>): boolean => {
    const role = slots[slot] as string;
    for (const [signer, roles] of eligible) {
      if (!roles.has(role) || seen.has(signer)) continue;
      seen.add(signer);
      const current = owner.get(signer);
      if (current === undefined || tryAssign(current, seen)) {
        owner.set(signer, slot);
        return true;
      }
    }
    return false;
  };
  let matched = 0;
  for (let s = 0; s < slots.length; s++) if (tryAssign(s, new Set())) matched++;
  return matched;
}

function fmt(x: number): string {
  return Number(x.toPrecision(6)).toString();
}

export function evaluateGate(input: GateInput): GateResult {
  const { model, policy, now } = input;
  const unmet: GateFailure[] = [];
  const notCounted: NotCounted[] = [];
  // Latest valid decision per (signer, role): a signer may reject and later approve, or the reverse.
  const latest = new Map<string, { approvalId: string; keyId: string; name: string; role: string; decision: 'approve' | 'reject'; issuedAt: string; reason: string | null }>();
  for (const a of input.approvals) {
    const check = verifyApproval(a.record, { approvers: input.approvers, model, now });
    if (!check.ok) {
      const nc: NotCounted = { approvalId: check.id ?? a.id ?? null, keyId: check.keyId, role: check.role, code: check.code, reason: check.reason };
      notCounted.push(nc);
      if (BLOCKING.has(check.code)) unmet.push({ code: check.code as GateFailureCode, message: `approval ${nc.approvalId ?? '(unparseable)'}: ${check.reason}`, approvalId: nc.approvalId, keyId: nc.keyId });
      continue;
    }
    const p = check.approval.payload;
    const key = `${p.signer.keyId}/${p.role}`;
    const prev = latest.get(key);
    if (!prev || prev.issuedAt < p.issuedAt) {
      latest.set(key, { approvalId: check.id, keyId: p.signer.keyId, name: check.approver.name, role: p.role, decision: p.decision, issuedAt: p.issuedAt, reason: p.reason });
    }
  }

  const decisions = [...latest.values()];
  const required = new Map<string, RoleRequirement>(policy.roles.map((r) => [r.role, r]));
  for (const d of decisions) {
    if (d.decision === 'reject' && required.has(d.role)) {
      unmet.push({ code: 'rejected', message: `${d.name} (${d.keyId}) rejected the model as ${d.role}: ${d.reason ?? 'no reason given'}`, approvalId: d.approvalId, keyId: d.keyId, role: d.role });
    }
  }

  const approvals = decisions.filter((d) => d.decision === 'approve');
  const roles: RoleStatus[] = policy.roles.map((r) => {
    const signers = [...new Set(approvals.filter((d) => d.role === r.role && (r.keyIds === undefined || r.keyIds.includes(d.keyId))).map((d) => d.keyId))].sort();
    return { role: r.role, min: r.min, of: r.of ?? null, approvals: signers.length, signers };
  });
  for (const r of roles) {
    if (r.approvals >= r.min) continue;
    const lost = notCounted.filter((n) => n.role === r.role);
    const why = lost.length ? `; not counted: ${lost.map((n) => `${n.code} (${n.reason})`).join('; ')}` : '';
    unmet.push({ code: 'quorum-unmet', role: r.role, message: `${r.role}: ${r.approvals} of ${r.min} required approval${r.min === 1 ? '' : 's'}${r.of !== null ? ` (from a panel of ${r.of})` : ''}${why}` });
  }
  if (policy.distinctSigners && roles.every((r) => r.approvals >= r.min) && roles.length > 0) {
    const slots = policy.roles.flatMap((r) => Array.from({ length: r.min }, () => r.role));
    const eligible = new Map<string, Set<string>>();
    for (const r of roles) for (const s of r.signers) eligible.set(s, (eligible.get(s) ?? new Set()).add(r.role));
    const matched = distinctQuorum(slots, eligible);
    if (matched < slots.length) {
      unmet.push({ code: 'quorum-unmet', message: `the policy needs ${slots.length} distinct approvers across roles, but only ${matched} can fill them without one person holding two places` });
    }
  }

  const eps = model.lineage.privacy.epsilon;
  if (policy.maxEpsilon !== undefined) {
    if (eps === null) unmet.push({ code: 'epsilon-unknown', message: `the model was trained without differential privacy, but the policy caps ε at ${fmt(policy.maxEpsilon)}` });
    else if (eps > policy.maxEpsilon) unmet.push({ code: 'epsilon-too-high', message: `ε = ${fmt(eps)} spent exceeds the policy's maximum ${fmt(policy.maxEpsilon)}` });
  }
  if (policy.requireFairnessPassed) {
    const f = model.lineage.fairness;
    if (f === null) unmet.push({ code: 'fairness-missing', message: 'the lineage holds no fairness report (the policy requires one that passes; set requireFairnessPassed to false to waive)' });
    else if (!f.passed) unmet.push({ code: 'fairness-failed', message: `the fairness report ${f.reportHash.slice(0, 12)}… failed the job's fairness policy` });
  }
  if (policy.requireContractChecksPassed) {
    const c = model.lineage.contractChecks;
    if (c === null) unmet.push({ code: 'contract-checks-missing', message: 'the lineage holds no data-contract check result (set requireContractChecksPassed to false to waive)' });
    else if (!c.passed) unmet.push({ code: 'contract-checks-failed', message: `data-contract checks failed (${c.violations} violation${c.violations === 1 ? '' : 's'}${c.summary ? `: ${c.summary}` : ''})` });
  }

  const counted = approvals
    .filter((d) => roles.some((r) => r.role === d.role && r.signers.includes(d.keyId)))
    .map((d) => ({ approvalId: d.approvalId, keyId: d.keyId, name: d.name, role: d.role }));
  return { ok: unmet.length === 0, modelVersion: model.version, evaluatedAt: now.toISOString(), unmet, notCounted, roles, counted };
}
