/**
 * The fairness report of one evaluation and its policy verdict. A report is a plain JSON object (numbers or
 * null, never NaN) hashed with SHA-256 over its RFC 8785 canonical JSON (JSON Canonicalization Scheme), so
 * that the model registry can store it with a model version and the deployment gate can refer to it by hash.
 */
import type { FairnessRule } from '../../protocol/job/fairness.ts';
import { canonicalHash, canonicalJson } from '../../lib/canonical-json.ts';
import type { DecodedCounts } from './counts.ts';
import { DEFAULT_MIN_GROUP_SIZE, fairnessMetrics, type Disparities, type FairnessMetrics } from './metrics.ts';
import { Z_95 } from './wilson.ts';

export const FAIRNESS_REPORT_SCHEMA = 'tessera.fairness-report/1';

export type RuleStatus = 'pass' | 'fail' | 'not-computable';

export interface RuleResult {
  rule: FairnessRule;
  value: number | null;
  status: RuleStatus;
  /** Why the rule failed or could not be evaluated. */
  reason?: string;
}

export interface PolicyResult {
  /** True only when every rule passes (a rule that cannot be computed does not pass). */
  passed: boolean;
  rules: RuleResult[];
}

export interface FairnessReport extends FairnessMetrics {
  schema: typeof FAIRNESS_REPORT_SCHEMA;
  settings: {
    minGroupSize: number;
    calibrationBins: number;
    z: number;
    attributes: Array<{ name: string; values: string[] }>;
    maxIntersectionOrder: number;
  };
  policy: PolicyResult;
  /** Free-form, non-sensitive identification: job, round, model version, reweighing on/off, data split. */
  context: Record<string, string | number | boolean | null>;
}

function round12(x: number): number {
  // Bounds are compared after rounding to 12 significant digits so that 0.1 − 0.0 style float noise
  // (e.g. 0.30000000000000004 against max 0.3) cannot flip a verdict.
  return Number(x.toPrecision(12));
}

/** Checks each rule against the disparities of its attribute. Bounds are inclusive. */
export function evaluatePolicy(rules: readonly FairnessRule[], disparities: Readonly<Record<string, Disparities>>): PolicyResult {
  const results = rules.map((rule): RuleResult => {
    const d = disparities[rule.attribute];
    if (d === undefined) return { rule, value: null, status: 'not-computable', reason: `the report has no attribute "${rule.attribute}"` };
    const value = d[rule.metric];
    if (value === null) return { rule, value, status: 'not-computable', reason: d.nullReasons[rule.metric] ?? 'metric is undefined' };
    const v = round12(value);
    if (rule.max !== undefined && v > rule.max) return { rule, value, status: 'fail', reason: `${rule.metric} ${v} > max ${rule.max}` };
    if (rule.min !== undefined && v < rule.min) return { rule, value, status: 'fail', reason: `${rule.metric} ${v} < min ${rule.min}` };
    return { rule, value, status: 'pass' };
  });
  return { passed: results.every((r) => r.status === 'pass'), rules: results };
}

export interface FairnessReportOptions {
  /** Summed, decoded counts of one evaluation (decodeCounts(sumCounts(vectors), layout)). */
  counts: DecodedCounts;
  rules?: readonly FairnessRule[];
  minGroupSize?: number;
  z?: number;
  context?: Record<string, string | number | boolean | null>;
}

/** Metrics, disparities and policy verdict of one evaluation, as one JSON-safe object. */
export function fairnessReport(options: FairnessReportOptions): FairnessReport {
  const minGroupSize = options.minGroupSize ?? DEFAULT_MIN_GROUP_SIZE;
  const z = options.z ?? Z_95;
  const metrics = fairnessMetrics(options.counts, { minGroupSize, z });
  const { layout } = options.counts;
  return {
    schema: FAIRNESS_REPORT_SCHEMA,
    settings: {
      minGroupSize,
      calibrationBins: layout.calibrationBins,
      z,
      attributes: layout.attributes.map((a) => ({ name: a.name, values: [...a.values] })),
      maxIntersectionOrder: layout.maxIntersectionOrder,
    },
    ...metrics,
    policy: evaluatePolicy(options.rules ?? [], metrics.disparities),
    context: { ...(options.context ?? {}) },
  };
}

/** RFC 8785 canonical JSON of a report (what the hash covers). */
export function canonicalReportJson(report: FairnessReport): string {
  return canonicalJson(report);
}

/** SHA-256 (lower-case hex) of the report's RFC 8785 canonical JSON. */
export function reportHash(report: FairnessReport): string {
  return canonicalHash(report);
}
