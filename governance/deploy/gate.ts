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
import { derivedVersionFailures } from './derived-gate.ts';
import { POLICY_FLOOR } from './floor.ts';
import { reportRuleHeadlines } from '../registry/lineage.ts';

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
  | 'contract-checks-missing'
  // Issue 13 §6: held-out performance against the majority-class baseline.
  | 'performance-missing'
  | 'performance-below-baseline'
  // Review 3: a derived (int8) version has no held-out evidence of its own (derived-gate.ts).
  | 'derived-evidence-missing'
  // Issue 13: the floor and the integrity of what the gate reads.
  | 'policy-below-floor'
  | 'policy-tampered'
  | 'integrity-mismatch'
  | 'registry-broken';

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
  /** Distinct people (not keys) who validly approved in this role. */
  readonly approvals: number;
  /** Their key ids. */
  readonly signers: readonly string[];
  /** The people. */
  readonly people: readonly string[];
}

export interface GateResult {
  readonly ok: boolean;
  readonly modelVersion: string;
  readonly evaluatedAt: string;
  readonly unmet: readonly GateFailure[];
  readonly notCounted: readonly NotCounted[];
  readonly roles: readonly RoleStatus[];
  /** Valid approving records that count. */
  readonly counted: ReadonlyArray<{ readonly approvalId: string; readonly keyId: string; readonly person: string; readonly name: string; readonly role: string }>;
  /** Requirements the policy floor raised (governance/deploy/floor.ts). */
  readonly raisedByFloor: readonly string[];
}

export interface GateInput {
  readonly model: RegisteredModel;
  readonly policy: DeploymentPolicy;
  /** Stored records for this model (anything: each is parsed and verified here). */
  readonly approvals: ReadonlyArray<{ readonly id?: string; readonly record: unknown }>;
  readonly approvers: readonly Approver[];
  readonly now: Date;
  /** The stage the gate admits to: approvals signed for `canary` do not count for `production`. */
  readonly stage?: 'canary' | 'production';
  /** Problems found re-hashing the stored job spec and lineage (governance/registry/integrity.ts). */
  readonly integrity?: readonly string[];
  /** Set when the recorded policy chain or the approver registry chain does not verify. */
  readonly policyProblem?: string | null;
  readonly registryProblem?: string | null;
  readonly raisedByFloor?: readonly string[];
}

/** Record failures that mean the stored evidence was tampered with: they block, not merely fail to count. */
const BLOCKING: ReadonlySet<ApprovalFailureCode> = new Set(['signature-invalid', 'malformed', 'model-mismatch', 'lineage-mismatch', 'evidence-mismatch']);

/** Time of a UTC instant in ms; records are compared as instants, never as strings (issue 13 §5). */
function instant(iso: string): number {
  return Date.parse(iso);
}

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
  const stage = input.stage ?? 'production';
  for (const p of input.integrity ?? []) unmet.push({ code: 'integrity-mismatch', message: p });
  if (input.policyProblem) unmet.push({ code: 'policy-tampered', message: input.policyProblem });
  if (input.registryProblem) unmet.push({ code: 'registry-broken', message: input.registryProblem });
  if (policy.roles.length < POLICY_FLOOR.minRoles) {
    unmet.push({ code: 'policy-below-floor', message: `the policy names no approving role; the floor requires at least ${POLICY_FLOOR.minRoles} role and ${POLICY_FLOOR.minPeople} distinct people (an empty role list cannot switch the gate off)` });
  }
  // Latest valid decision per (person, role): a person may reject and later approve, or the reverse, with any of their keys.
  const latest = new Map<string, { approvalId: string; keyId: string; person: string; name: string; role: string; decision: 'approve' | 'reject'; issuedAt: string; reason: string | null }>();
  for (const a of input.approvals) {
    const check = verifyApproval(a.record, { approvers: input.approvers, model, now, stage, maxValidityMs: policy.maxApprovalValidityDays * 86_400_000 });
    if (!check.ok) {
      const nc: NotCounted = { approvalId: check.id ?? a.id ?? null, keyId: check.keyId, role: check.role, code: check.code, reason: check.reason };
      notCounted.push(nc);
      if (BLOCKING.has(check.code)) unmet.push({ code: check.code as GateFailureCode, message: `approval ${nc.approvalId ?? '(unparseable)'}: ${check.reason}`, approvalId: nc.approvalId, keyId: nc.keyId });
      continue;
    }
    const p = check.approval.payload;
    const key = `${check.approver.person}/${p.role}`;
    const prev = latest.get(key);
    // Ties (same instant) resolve to the rejection, so a signer cannot mask their own rejection by re-signing.
    if (!prev || instant(prev.issuedAt) < instant(p.issuedAt) || (instant(prev.issuedAt) === instant(p.issuedAt) && p.decision === 'reject')) {
      latest.set(key, { approvalId: check.id, keyId: p.signer.keyId, person: check.approver.person, name: check.approver.name, role: p.role, decision: p.decision, issuedAt: p.issuedAt, reason: p.reason });
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
    const valid = approvals.filter((d) => d.role === r.role && (r.keyIds === undefined || r.keyIds.includes(d.keyId)));
    const people = [...new Set(valid.map((d) => d.person))].sort();
    return { role: r.role, min: r.min, of: r.of ?? null, approvals: people.length, signers: [...new Set(valid.map((d) => d.keyId))].sort(), people };
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
    for (const r of roles) for (const s of r.people) eligible.set(s, (eligible.get(s) ?? new Set()).add(r.role));
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
  const derived = model.lineage.derivedFrom;
  // A derived version is judged on its own held-out evidence, never on the parent's copies (derived-gate.ts).
  if (derived !== undefined) unmet.push(...derivedVersionFailures(model.version, derived, policy));
  else if (policy.requireFairnessPassed) {
    const f = model.lineage.fairness;
    if (f === null) unmet.push({ code: 'fairness-missing', message: 'the lineage holds no fairness report (the policy requires one that passes; set requireFairnessPassed to false to waive)' });
    else if (reportRuleHeadlines(f.report).length === 0) {
      // An empty rule list checks nothing: "not evaluated", never "passed" (issue 13 §5).
      unmet.push({ code: 'fairness-missing', message: `the fairness report ${f.reportHash.slice(0, 12)}… was not evaluated against any rule (the job's fairness policy is empty)` });
    } else if (!f.passed) unmet.push({ code: 'fairness-failed', message: `the fairness report ${f.reportHash.slice(0, 12)}… failed the job's fairness policy` });
  }
  if (policy.requireContractChecksPassed) {
    const c = model.lineage.contractChecks;
    if (c === null) unmet.push({ code: 'contract-checks-missing', message: 'the lineage holds no data-contract check result (set requireContractChecksPassed to false to waive)' });
    else if (!c.passed) unmet.push({ code: 'contract-checks-failed', message: `data-contract checks failed (${c.violations} violation${c.violations === 1 ? '' : 's'}${c.summary ? `: ${c.summary}` : ''})` });
  }

  if (derived === undefined) unmet.push(...performanceFailures(model, policy));

  const counted = approvals
    .filter((d) => roles.some((r) => r.role === d.role && r.signers.includes(d.keyId)))
    .map((d) => ({ approvalId: d.approvalId, keyId: d.keyId, person: d.person, name: d.name, role: d.role }));
  const people = new Set(counted.map((c) => c.person));
  if (people.size < POLICY_FLOOR.minPeople && policy.roles.length >= POLICY_FLOOR.minRoles) {
    unmet.push({ code: 'quorum-unmet', message: `the policy floor requires approvals from ${POLICY_FLOOR.minPeople} distinct people; ${people.size} counted${people.size ? ` (${[...people].join(', ')})` : ''} — several keys of one person count once` });
  }
  return { ok: unmet.length === 0, modelVersion: model.version, evaluatedAt: now.toISOString(), unmet, notCounted, roles, counted, raisedByFloor: input.raisedByFloor ?? [] };
}

/**
 * The performance floor (issue 13 §6): the lineage must hold held-out evidence, and its accuracy must beat the
 * majority-class baseline on the same held-out examples by the policy's margin (never less than the floor's).
 */
function performanceFailures(model: RegisteredModel, policy: DeploymentPolicy): GateFailure[] {
  const perf = model.lineage.performance;
  const margin = Math.max(policy.minAccuracyOverMajority ?? 0, POLICY_FLOOR.minAccuracyOverMajority);
  if (perf === undefined) {
    return [{ code: 'performance-missing', message: 'the lineage holds no held-out performance evidence (accuracy, loss, calibration and the majority-class baseline from a federated evaluation); the floor requires it' }];
  }
  const m = perf.baselines.majority;
  const gain = perf.model.accuracy - m.accuracy;
  if (gain >= margin) return [];
  return [{
    code: 'performance-below-baseline',
    message: `held-out accuracy ${fmt(perf.model.accuracy)} does not beat the majority-class baseline ${fmt(m.accuracy)} (always predicting class ${m.class}) by the required ${fmt(margin)}: the difference is ${fmt(gain)} on the same ${perf.examples} held-out examples (${perf.clients} clients, round ${perf.round})`,
  }];
}
