/**
 * The coordinator's side of fairness (issue 5): after every federated evaluation it decodes the clients'
 * summed count vector, computes the fairness report (per-group metrics, Fairlearn-style disparities, the job's
 * policy verdict) and its RFC 8785 hash, logs pass/fail per rule, and writes the report into the round
 * record's `fairness` slot (fairness-slot.ts). The model registry reads `extra.fairness` of the last evaluated round at the
 * end of the job (`lastRoundFairness`), so the report is stored with the model version for the deployment gate.
 *
 * The coordinator only ever sees the SUM of the count vectors: non-negative integer vectors of one layout.
 * With secure aggregation on, the secure evaluation (coordinator/secagg-exchange.ts) delivers their unmasked
 * sum as `FederatedEvaluation.fairnessCounts` and no individual vector reaches the coordinator; without it,
 * the plain evaluation sums the clients' vectors.
 */
import { BUILTIN_CONTRACTS, loadBuiltinContract } from '../../datasets/contracts/index.ts';
import { contractHash } from '../../governance/contract/schema.ts';
import { decodeCounts, maxCellValue } from '../../governance/fairness/counts.ts';
import { layoutForJob, sensitiveValuesFromContract, type CountsLayout } from '../../governance/fairness/layout.ts';
import { fairnessReport, reportHash, type FairnessReport } from '../../governance/fairness/policy.ts';
import { TesseraError } from '../../protocol/errors.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import type { RoundRecord } from '../round-records.ts';
import type { FeatureFactory } from './assemble.ts';
import type { RoundFairness, RoundFairnessRule } from './fairness-slot.ts';

export type { RoundFairness, RoundFairnessRule } from './fairness-slot.ts';

/** Categories of the sensitive attributes from the built-in data contract the job names by hash, if any. */
function builtinCategories(spec: Pick<JobSpec, 'data'>): Record<string, string[]> {
  const wanted = spec.data.contractHash;
  if (wanted === undefined) return {};
  for (const name of BUILTIN_CONTRACTS) {
    const c = loadBuiltinContract(name);
    if (contractHash(c) === wanted) return sensitiveValuesFromContract(c);
  }
  return {};
}

/**
 * The count layout of a job — the same one its clients derive (layoutForJob over the job's fairness section
 * and the data contract's categories). Throws TESSERA_ERR_FAIRNESS_INPUT when an attribute's values are
 * declared neither in `fairness.groupValues` nor in a known contract.
 */
export function fairnessLayoutForJob(spec: Pick<JobSpec, 'fairness' | 'data'>): CountsLayout {
  const missing = spec.fairness.sensitive.some((a) => spec.fairness.groupValues[a] === undefined);
  return layoutForJob(spec.fairness, missing ? builtinCategories(spec) : {});
}

/**
 * Fills `fairness.groupValues` from a data contract's categories for every sensitive attribute the job does
 * not list, so that the layout is fixed by the job spec itself (every client and the coordinator agree, and
 * the spec stored with the job says which groups were evaluated).
 */
export function withContractGroupValues(spec: JobSpec, contract: Parameters<typeof sensitiveValuesFromContract>[0] | undefined): JobSpec {
  const f = spec.fairness;
  if (!f.enabled || contract === undefined || f.sensitive.every((a) => f.groupValues[a] !== undefined)) return spec;
  const categories = sensitiveValuesFromContract({ ...contract, sensitive: contract.sensitive.filter((a) => f.sensitive.includes(a) && f.groupValues[a] === undefined) });
  return { ...spec, fairness: { ...f, groupValues: { ...categories, ...f.groupValues } } };
}

/**
 * The largest value a cell of the summed count vector can reach when `totalExamples` held-out examples are
 * counted: a secure-aggregation modulus for the counts must exceed it (maxCellValue, counts.ts).
 */
export function fairnessCountsBound(spec: Pick<JobSpec, 'fairness' | 'data'>, totalExamples: number): number {
  return maxCellValue(fairnessLayoutForJob(spec), totalExamples);
}

/** `extra.fairness` of the last round that has a report (what the registry stores with the model version). */
export function lastRoundFairness(rounds: readonly Pick<RoundRecord, 'round' | 'extra'>[]): { round: number; fairness: Extract<RoundFairness, { ok: true }> } | null {
  for (let i = rounds.length - 1; i >= 0; i--) {
    const r = rounds[i];
    const f = r?.extra.fairness;
    if (r && f?.ok === true) return { round: r.round, fairness: f };
  }
  return null;
}

export const fairnessFeature: FeatureFactory = (ctx) => {
  const spec = ctx.spec;
  if (!spec.fairness.enabled) return null;
  if (spec.fairness.sensitive.length === 0) throw new TesseraError('TESSERA_ERR_INVALID_JOB_SPEC', 'fairness.enabled needs at least one sensitive attribute in fairness.sensitive');
  // Fails at assembly, before any round, when the groups cannot be fixed in advance.
  const layout = fairnessLayoutForJob(spec);
  const log = ctx.logger.child({ feature: 'fairness' });
  return {
    name: 'fairness',
    provides: ['fairness-report'],
    afterEvaluation(round, evaluation) {
      const fail = (error: string): { fairness: RoundFairness } => {
        log.error({ round, code: 'TESSERA_ERR_FAIRNESS_INPUT' }, `no fairness report for round ${round}: ${error}`);
        ctx.metrics?.inc('tessera_fairness_report_errors_total', 'Federated evaluations whose fairness counts could not be used', { job: ctx.jobId });
        return { fairness: { ok: false, error } };
      };
      if (evaluation.fairnessCounts === undefined) return fail(evaluation.fairnessError ?? 'no client sent fairness counts');
      let report: FairnessReport;
      try {
        report = fairnessReport({
          counts: decodeCounts(evaluation.fairnessCounts, layout),
          rules: spec.fairness.policy,
          minGroupSize: spec.fairness.minGroupSize,
          context: { job: ctx.jobId, round, split: 'federated held-out', heldOutFraction: spec.fairness.heldOutFraction, clients: evaluation.clients, reweighing: spec.fairness.reweighing },
        });
      } catch (e) {
        if (e instanceof TesseraError) return fail(e.message);
        throw e;
      }
      const hash = reportHash(report);
      const rules = report.policy.rules.map((r): RoundFairnessRule => ({ ...r.rule, value: r.value, status: r.status, ...(r.reason !== undefined ? { reason: r.reason } : {}) }));
      for (const r of rules) {
        const line = `fairness rule ${r.metric} on ${r.attribute}: ${r.status}${r.reason ? ` (${r.reason})` : ''}`;
        if (r.status === 'pass') log.info({ round, metric: r.metric, attribute: r.attribute, value: r.value }, line);
        else log.warn({ round, metric: r.metric, attribute: r.attribute, value: r.value, status: r.status }, line);
      }
      ctx.metrics?.set('tessera_fairness_policy_passed', 'Whether the last fairness report passed every policy rule (1) or not (0)', { job: ctx.jobId }, report.policy.passed ? 1 : 0);
      log.info({ round, hash: hash.slice(0, 12), passed: report.policy.passed, rules: rules.length }, 'fairness report');
      return { fairness: { ok: true, hash, passed: report.policy.passed, rules, report } };
    },
  };
};
