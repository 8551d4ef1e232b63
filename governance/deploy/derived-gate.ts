/**
 * The gate's evidence rules for a derived version (review 3's finding: an int8 version deployed on its parent's
 * evidence). A version made by transforming another's weights (governance/registry/quantize.ts) carries copies of
 * its parent's performance and fairness sections in its lineage — true statements about the parent's weights,
 * not about its own. So for a derived version the gate reads only `derivedFrom.evidence` (its own held-out
 * figures, governance/registry/derived-evidence.ts) and applies the same rules to them as to any version:
 *
 * - no evidence of its own: `derived-evidence-missing`, naming the command that produces it;
 * - the performance floor (issue 13 §6) on its own rows: its accuracy must beat the majority class of those rows
 *   by the policy's margin (never below the floor's) — else `performance-below-baseline`, with the parent's
 *   accuracy on the same rows beside it;
 * - the fairness requirement on its own report under the parent job's fairness policy: `fairness-missing` when
 *   there is none or it evaluated no rule, `fairness-failed` when it fails.
 * Privacy and the data-contract checks are training facts and stay the parent's (post-processing; quantize.ts).
 * Approvals are unaffected: each signs one version and its lineage hash (governance/approvals/record.ts), so a
 * parent's approval never counts for a derived version — its approvers sign the derived lineage, own evidence
 * included. Pure.
 */
import type { DeploymentPolicy } from '../../protocol/job/governance.ts';
import type { DerivedFrom } from '../registry/lineage.ts';
import { reportRuleHeadlines } from '../registry/lineage.ts';
import { POLICY_FLOOR } from './floor.ts';

export interface DerivedGateFailure {
  readonly code: 'derived-evidence-missing' | 'performance-below-baseline' | 'fairness-missing' | 'fairness-failed';
  readonly message: string;
}

function fmt(x: number): string {
  return Number(x.toPrecision(6)).toString();
}

export function derivedVersionFailures(version: string, derived: DerivedFrom, policy: DeploymentPolicy): DerivedGateFailure[] {
  const e = derived.evidence;
  const parent = derived.parent.slice(0, 12);
  if (e === undefined) {
    return [{
      code: 'derived-evidence-missing',
      message: `model ${version.slice(0, 12)} is an ${derived.transform} version of ${parent}: the parent's held-out performance and fairness evidence describe other weights and do not count for it, and it has none of its own. Produce it with \`tessera models quantize ${parent} --dataset NAME\` (measures the new version, and the parent on the same rows, on that data set's held-out split), then have the new version approved`,
    }];
  }
  const out: DerivedGateFailure[] = [];
  const margin = Math.max(policy.minAccuracyOverMajority ?? 0, POLICY_FLOOR.minAccuracyOverMajority);
  const gain = e.model.accuracy - e.majority.accuracy;
  if (gain < margin) {
    out.push({
      code: 'performance-below-baseline',
      message: `the ${derived.transform} version's own held-out accuracy ${fmt(e.model.accuracy)} (parent ${parent}: ${fmt(e.parent.accuracy)} on the same ${e.examples} rows of ${e.dataset}) does not beat the majority-class baseline ${fmt(e.majority.accuracy)} (always predicting class ${e.majority.class}) by the required ${fmt(margin)}: the difference is ${fmt(gain)}`,
    });
  }
  if (policy.requireFairnessPassed) {
    const f = e.fairness;
    if (f === null) out.push({ code: 'fairness-missing', message: `the ${derived.transform} version has no fairness report of its own (the parent's job states no fairness evaluation, or the held-out rows of ${e.dataset} lack its sensitive attributes); the parent's report does not count for it` });
    else if (reportRuleHeadlines(f.report).length === 0) out.push({ code: 'fairness-missing', message: `the ${derived.transform} version's fairness report ${f.reportHash.slice(0, 12)}… was not evaluated against any rule (the job's fairness policy is empty)` });
    else if (!f.passed) out.push({ code: 'fairness-failed', message: `the ${derived.transform} version's own fairness report ${f.reportHash.slice(0, 12)}… on ${e.examples} rows of ${e.dataset} fails the job's fairness policy (the parent's report on the same rows ${f.parentPassed ? 'passes' : 'fails too'})` });
  }
  return out;
}
