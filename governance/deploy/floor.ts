/**
 * The policy floor (issue 13 §1): the least any deployment policy requires, fixed in code, so no job spec,
 * policy file, state file or flag can switch the gate off. It plays the part of a Kubernetes admission
 * policy that a workload's own manifest cannot lower. Policies combine by `tighten`, which keeps the stricter
 * of each requirement, so every layer (recorded policy, state file, job spec, `--policy`) can only add.
 */
import { canonicalHash, canonicalJson } from '../../lib/canonical-json.ts';
import { DEFAULT_CANARY_MAX_TOKEN_SHARE, DEFAULT_CANARY_MIN_TOKENS } from '../monitoring/canary-evidence.ts';
import type { CanaryCriteria, DeploymentPolicy, RetentionPolicy, ReviewPolicy, RoleRequirement } from '../../protocol/job/governance.ts';

export const POLICY_FLOOR = {
  /** At least one role must approve … */
  minRoles: 1,
  /** … and approvals must come from at least two distinct people (not keys). */
  minPeople: 2,
  distinctSigners: true,
  requireFairnessPassed: true,
  requireContractChecksPassed: true,
  maxApprovalValidityDays: 365,
  /**
   * Held-out accuracy must beat the majority-class baseline by at least this (absolute); performance evidence
   * is required. Strictly positive: a model no better than always answering the commonest label never deploys.
   */
  minAccuracyOverMajority: 0.01,
  /**
   * Canary criteria, when a policy states them, judge at least this many canary requests: fewer would let a
   * handful of lucky requests declare a canary ready, or a handful of unlucky ones roll it back. (At 30 requests an
   * error rate of 0 still leaves a one-sided 95 % upper bound of 3/30 = 10 % by the rule of three, Hanley &
   * Lippman-Hand 1983 — the least evidence worth a verdict.)
   */
  canaryMinRequests: 30,
  /**
   * Review 3 (canary steering): a canary verdict needs requests from at least this many distinct tokens, and no
   * token may hold more than `canaryMaxTokenShare` of the sample counted — so one application (one token) can
   * neither roll a canary back nor declare it ready (governance/monitoring/canary-evidence.ts).
   */
  canaryMinTokens: 2,
  canaryMaxTokenShare: 0.5,
} as const;

const minOf = (a: number | undefined, b: number | undefined): number | undefined => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

/** The stricter of two sets of canary criteria: every limit the lower, every evidence requirement the larger. */
function tightenCriteria(a: CanaryCriteria | undefined, b: CanaryCriteria | undefined): CanaryCriteria | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  const limits = {
    maxErrorRate: minOf(a.maxErrorRate, b.maxErrorRate),
    maxP99LatencyMs: minOf(a.maxP99LatencyMs, b.maxP99LatencyMs),
    maxAccuracyGap: minOf(a.maxAccuracyGap, b.maxAccuracyGap),
    maxPredictionPsi: minOf(a.maxPredictionPsi, b.maxPredictionPsi),
  };
  return {
    minRequests: Math.max(a.minRequests, b.minRequests),
    windowMinutes: Math.max(a.windowMinutes, b.windowMinutes),
    minLabels: Math.max(a.minLabels, b.minLabels),
    ...Object.fromEntries(Object.entries(limits).filter(([, v]) => v !== undefined)),
    ...(a.minTokens !== undefined || b.minTokens !== undefined ? { minTokens: Math.max(a.minTokens ?? 0, b.minTokens ?? 0) } : {}),
    ...(a.maxTokenShare !== undefined || b.maxTokenShare !== undefined ? { maxTokenShare: minOf(a.maxTokenShare, b.maxTokenShare) } : {}),
  };
}

function tightenRole(a: RoleRequirement, b: RoleRequirement): RoleRequirement {
  const keyIds = a.keyIds && b.keyIds ? a.keyIds.filter((k) => b.keyIds?.includes(k)) : (a.keyIds ?? b.keyIds);
  const of = a.of === undefined ? b.of : b.of === undefined ? a.of : Math.max(a.of, b.of);
  return { role: a.role, min: Math.max(a.min, b.min), ...(of !== undefined ? { of } : {}), ...(keyIds !== undefined ? { keyIds: [...keyIds].sort() } : {}) };
}

/** The stricter review: the higher confidence threshold (more held), every group of either (same name and feature: values merged). */
function tightenReview(a: ReviewPolicy | undefined, b: ReviewPolicy | undefined): ReviewPolicy | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  const thresholds = [a.confidenceBelow, b.confidenceBelow].filter((t): t is number => t !== undefined);
  const groups = new Map<string, ReviewPolicy['groups'][number]>();
  for (const g of [...a.groups, ...b.groups]) {
    const key = `${g.name}\u0000${g.feature}`;
    const prev = groups.get(key);
    groups.set(key, { name: g.name, feature: g.feature, values: [...new Set([...(prev?.values ?? []), ...g.values])].sort((x, y) => x - y) });
  }
  const order = (x: ReviewPolicy['groups'][number]): string => `${x.name}\u0000${String(x.feature).padStart(10, '0')}`;
  return { ...(thresholds.length ? { confidenceBelow: Math.max(...thresholds) } : {}), groups: [...groups.values()].sort((x, y) => (order(x) < order(y) ? -1 : order(x) > order(y) ? 1 : 0)) };
}

/** The stricter retention: the shorter period of each kind (keeping less is the privacy-protective side). */
function tightenRetention(a: RetentionPolicy | undefined, b: RetentionPolicy | undefined): RetentionPolicy | undefined {
  if (a === undefined || b === undefined) return a ?? b;
  const out: RetentionPolicy = {};
  for (const k of ['servedInputsDays', 'feedbackDays', 'reviewRecordsDays'] as const) {
    const v = [a[k], b[k]].filter((d): d is number => d !== undefined);
    if (v.length) out[k] = Math.min(...v);
  }
  return out;
}

/** The stricter of two policies, requirement by requirement (roles: union, larger minimum, narrower panel). */
export function tighten(a: DeploymentPolicy, b: DeploymentPolicy): DeploymentPolicy {
  const roles = new Map<string, RoleRequirement>();
  for (const r of [...a.roles, ...b.roles]) {
    const prev = roles.get(r.role);
    roles.set(r.role, prev ? tightenRole(prev, r) : tightenRole(r, r));
  }
  const eps = [a.maxEpsilon, b.maxEpsilon].filter((e): e is number => e !== undefined);
  const margins = [a.minAccuracyOverMajority, b.minAccuracyOverMajority].filter((m): m is number => m !== undefined);
  return {
    roles: [...roles.values()].sort((x, y) => (x.role < y.role ? -1 : x.role > y.role ? 1 : 0)),
    distinctSigners: a.distinctSigners || b.distinctSigners,
    ...(eps.length ? { maxEpsilon: Math.min(...eps) } : {}),
    requireFairnessPassed: a.requireFairnessPassed || b.requireFairnessPassed,
    requireContractChecksPassed: a.requireContractChecksPassed || b.requireContractChecksPassed,
    ...(margins.length ? { minAccuracyOverMajority: Math.max(...margins) } : {}),
    canaryPercent: Math.min(a.canaryPercent, b.canaryPercent),
    maxApprovalValidityDays: Math.min(a.maxApprovalValidityDays, b.maxApprovalValidityDays),
    onRevocation: a.onRevocation === 'pause' || b.onRevocation === 'pause' ? 'pause' : 'flag',
    ...(() => {
      const review = tightenReview(a.review, b.review);
      const retention = tightenRetention(a.retention, b.retention);
      return { ...(review ? { review } : {}), ...(retention ? { retention } : {}) };
    })(),
    ...(a.canaryCriteria !== undefined || b.canaryCriteria !== undefined ? { canaryCriteria: tightenCriteria(a.canaryCriteria, b.canaryCriteria) } : {}),
  };
}

/** The normal form of a policy (roles sorted, panels sorted), so equal policies hash alike. */
export function normalisePolicy(p: DeploymentPolicy): DeploymentPolicy {
  return tighten(p, p);
}

export function policyHash(p: DeploymentPolicy): string {
  return canonicalHash(normalisePolicy(p));
}

/** Canary criteria raised to the floor, with the token rules made explicit (DEFAULT_CANARY_MIN_TOKENS and share when unstated). */
function canaryCriteriaAtFloor(c: CanaryCriteria): CanaryCriteria {
  return {
    ...c,
    minRequests: Math.max(c.minRequests, POLICY_FLOOR.canaryMinRequests),
    minTokens: Math.max(c.minTokens ?? DEFAULT_CANARY_MIN_TOKENS, POLICY_FLOOR.canaryMinTokens),
    maxTokenShare: Math.min(c.maxTokenShare ?? DEFAULT_CANARY_MAX_TOKEN_SHARE, POLICY_FLOOR.canaryMaxTokenShare),
  };
}

/** True when `next` requires at least everything `current` does. */
export function isAtLeastAsStrict(next: DeploymentPolicy, current: DeploymentPolicy): boolean {
  return canonicalJson(tighten(next, current)) === canonicalJson(normalisePolicy(next));
}

/** Raises a policy to the floor's booleans and validity cap; reports what it raised, for the gate result. */
export function raiseToFloor(p: DeploymentPolicy): { policy: DeploymentPolicy; raised: string[] } {
  const raised: string[] = [];
  if (!p.distinctSigners) raised.push('distinctSigners: false → true');
  if (!p.requireFairnessPassed) raised.push('requireFairnessPassed: false → true');
  if (!p.requireContractChecksPassed) raised.push('requireContractChecksPassed: false → true');
  const margin = p.minAccuracyOverMajority;
  if (margin !== undefined && margin < POLICY_FLOOR.minAccuracyOverMajority) raised.push(`minAccuracyOverMajority: ${margin} → ${POLICY_FLOOR.minAccuracyOverMajority}`);
  const criteria = p.canaryCriteria;
  if (criteria !== undefined && criteria.minRequests < POLICY_FLOOR.canaryMinRequests) raised.push(`canaryCriteria.minRequests: ${criteria.minRequests} → ${POLICY_FLOOR.canaryMinRequests}`);
  if (criteria?.minTokens !== undefined && criteria.minTokens < POLICY_FLOOR.canaryMinTokens) raised.push(`canaryCriteria.minTokens: ${criteria.minTokens} → ${POLICY_FLOOR.canaryMinTokens}`);
  if (criteria?.maxTokenShare !== undefined && criteria.maxTokenShare > POLICY_FLOOR.canaryMaxTokenShare) raised.push(`canaryCriteria.maxTokenShare: ${criteria.maxTokenShare} → ${POLICY_FLOOR.canaryMaxTokenShare}`);
  return {
    policy: {
      ...normalisePolicy(p),
      distinctSigners: true,
      requireFairnessPassed: true,
      requireContractChecksPassed: true,
      maxApprovalValidityDays: Math.min(p.maxApprovalValidityDays, POLICY_FLOOR.maxApprovalValidityDays),
      minAccuracyOverMajority: Math.max(margin ?? 0, POLICY_FLOOR.minAccuracyOverMajority),
      ...(criteria !== undefined ? { canaryCriteria: canaryCriteriaAtFloor(criteria) } : {}),
    },
    raised,
  };
}
