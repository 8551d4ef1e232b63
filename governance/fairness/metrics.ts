/**
 * Fairness metrics as pure functions over summed counts (counts.ts). Per group: count, accuracy, selection
 * rate, TPR, FPR, FNR, precision (each with a Wilson score interval) and expected calibration error. Across
 * the groups of one attribute: Fairlearn's disparity metrics (fairlearn.metrics, "Common fairness metrics"
 * in the Fairlearn user guide, https://fairlearn.org/main/user_guide/assessment/):
 *   demographic_parity_difference = max_a SR(a) − min_a SR(a)           (SR = selection rate, P[h(X)=1 | A=a])
 *   demographic_parity_ratio      = min_a SR(a) / max_a SR(a)
 *   equal_opportunity_difference  = max_a TPR(a) − min_a TPR(a)
 *   equalized_odds_difference     = max(TPR difference, FPR difference)  (agg = "worst_case", the default)
 * plus accuracy gap = max − min group accuracy (MetricFrame(accuracy).difference()) and worst-group accuracy
 * = min group accuracy (MetricFrame(accuracy).group_min()).
 *
 * Two deliberate departures from Fairlearn, so that a report never carries a number that is not one:
 * - Fairlearn (via scikit-learn's confusion_matrix with normalize="true") reports TPR = 0 for a group without
 *   positive examples; here such a rate is null with a reason, and that group is left out of the TPR-based
 *   disparities (with a note).
 * - Groups with fewer than `minGroupSize` examples are suppressed (no numbers at all) and left out of every
 *   disparity. (Suppression limits small-cell disclosure; it does not stop differencing against the overall
 *   row, which is why counts travel through secure aggregation and reports stay coarse.)
 */
import { FAIRNESS_RULE_METRICS, type FairnessRuleMetric } from '../../protocol/job/fairness.ts';
import type { DecodedCounts, GroupCounts } from './counts.ts';
import { groupSize } from './counts.ts';
import { SCORE_SCALE } from './layout.ts';
import { Z_95, wilsonInterval } from './wilson.ts';

export const RATE_METRICS = ['accuracy', 'selectionRate', 'tpr', 'fpr', 'fnr', 'precision'] as const;
export type RateMetric = (typeof RATE_METRICS)[number];
export type GroupMetricName = RateMetric | 'expectedCalibrationError';

/** The disparity metrics are exactly the ones a policy rule can constrain (one list, in the job spec). */
export const DISPARITY_METRICS = FAIRNESS_RULE_METRICS;
export type DisparityMetric = FairnessRuleMetric;

export const DEFAULT_MIN_GROUP_SIZE = 20;

export interface GroupMetrics {
  suppressed: false;
  count: number;
  /** Examples whose true label is positive (TP + FN). */
  positives: number;
  /** Examples predicted positive (TP + FP). */
  predictedPositives: number;
  accuracy: number | null;
  selectionRate: number | null;
  tpr: number | null;
  fpr: number | null;
  fnr: number | null;
  precision: number | null;
  expectedCalibrationError: number | null;
  /** Wilson score interval [lower, upper] of each rate (null when the rate is null). */
  intervals: Record<RateMetric, readonly [number, number] | null>;
  confusion: { tp: number; fp: number; tn: number; fn: number };
  /** Why a metric is null (only the null ones are listed). */
  nullReasons: Partial<Record<GroupMetricName, string>>;
}

export interface SuppressedGroup {
  suppressed: true;
  reason: string;
}

export type GroupResult = GroupMetrics | SuppressedGroup;

export interface Disparities {
  demographicParityDifference: number | null;
  demographicParityRatio: number | null;
  equalizedOddsDifference: number | null;
  equalOpportunityDifference: number | null;
  accuracyGap: number | null;
  worstGroupAccuracy: number | null;
  /** The group with the lowest accuracy (null when none is reportable). */
  worstGroup: string | null;
  /** Groups that entered the comparison, and groups left out because they are suppressed. */
  groupsCompared: string[];
  suppressedGroups: string[];
  nullReasons: Partial<Record<DisparityMetric, string>>;
  /** Groups left out of a particular metric because their rate is undefined. */
  notes: string[];
}

export interface MetricsOptions {
  /** Groups with fewer examples are suppressed. Default 20. */
  minGroupSize?: number;
  /** Standard-normal quantile for the Wilson intervals. Default 1.96 (95 %). */
  z?: number;
}

export interface FairnessMetrics {
  overall: GroupResult;
  groups: Record<string, Record<string, GroupResult>>;
  disparities: Record<string, Disparities>;
}

/**
 * Expected calibration error of the positive-class probability (Naeini, Cooper & Hauskrecht, AAAI 2015;
 * Guo et al., ICML 2017): Σ_b (n_b/n)·|pos_b/n_b − conf_b| = (1/n)·Σ_b |pos_b − Σ_{i∈b} s_i|, where conf_b is
 * the bin's mean score. Null without calibration bins.
 */
export function expectedCalibrationError(c: GroupCounts): { value: number | null; reason?: string } {
  if (c.bins.length === 0) return { value: null, reason: 'no scores were given (no calibration bins)' };
  const n = c.bins.reduce((s, b) => s + b.examples, 0);
  if (n === 0) return { value: null, reason: 'no examples' };
  const gap = c.bins.reduce((s, b) => s + Math.abs(b.positives - b.scoreSum / SCORE_SCALE), 0);
  return { value: gap / n };
}

/** Metrics of one group from its counts; suppressed when it has fewer than minGroupSize examples. */
export function groupMetrics(c: GroupCounts, options: MetricsOptions = {}): GroupResult {
  const minGroupSize = options.minGroupSize ?? DEFAULT_MIN_GROUP_SIZE;
  const z = options.z ?? Z_95;
  const n = groupSize(c);
  if (n < minGroupSize) return { suppressed: true, reason: n === 0 ? 'no examples' : `fewer than ${minGroupSize} examples` };
  const nullReasons: Partial<Record<GroupMetricName, string>> = {};
  const intervals = {} as Record<RateMetric, readonly [number, number] | null>;
  const values = {} as Record<RateMetric, number | null>;
  const rate = (name: RateMetric, k: number, d: number, whyZero: string): void => {
    values[name] = d === 0 ? null : k / d;
    intervals[name] = wilsonInterval({ successes: k, trials: d, z });
    if (d === 0) nullReasons[name] = whyZero;
  };
  const positives = c.tp + c.fn;
  const negatives = c.fp + c.tn;
  const predictedPositives = c.tp + c.fp;
  rate('accuracy', c.tp + c.tn, n, 'no examples');
  rate('selectionRate', predictedPositives, n, 'no examples');
  rate('tpr', c.tp, positives, 'no positive examples (TP + FN = 0)');
  rate('fpr', c.fp, negatives, 'no negative examples (FP + TN = 0)');
  rate('fnr', c.fn, positives, 'no positive examples (TP + FN = 0)');
  rate('precision', c.tp, predictedPositives, 'no positive predictions (TP + FP = 0)');
  const ece = expectedCalibrationError(c);
  if (ece.reason !== undefined) nullReasons.expectedCalibrationError = ece.reason;
  return {
    suppressed: false,
    count: n,
    positives,
    predictedPositives,
    accuracy: values.accuracy,
    selectionRate: values.selectionRate,
    tpr: values.tpr,
    fpr: values.fpr,
    fnr: values.fnr,
    precision: values.precision,
    expectedCalibrationError: ece.value,
    intervals,
    confusion: { tp: c.tp, fp: c.fp, tn: c.tn, fn: c.fn },
    nullReasons,
  };
}

interface Spread {
  min: number;
  max: number;
  argmin: string;
  used: number;
}

/** max/min of a rate over reportable groups that define it; notes the groups left out. */
function spread(groups: ReadonlyArray<[string, GroupMetrics]>, metric: RateMetric, notes: string[]): Spread | null {
  let s: Spread | null = null;
  for (const [name, g] of groups) {
    const v = g[metric];
    if (v === null) {
      notes.push(`${metric}: ${name} left out (${g.nullReasons[metric] ?? 'undefined'})`);
      continue;
    }
    if (s === null) s = { min: v, max: v, argmin: name, used: 1 };
    else {
      if (v < s.min) {
        s.min = v;
        s.argmin = name;
      }
      s.max = Math.max(s.max, v);
      s.used += 1;
    }
  }
  return s;
}

/** Fairlearn-style disparities across the groups of one attribute (or intersection). */
export function disparities(groups: Readonly<Record<string, GroupResult>>): Disparities {
  const reportable = Object.entries(groups).filter((e): e is [string, GroupMetrics] => !e[1].suppressed);
  const suppressedGroups = Object.entries(groups)
    .filter(([, g]) => g.suppressed)
    .map(([name]) => name);
  const notes: string[] = [];
  const nullReasons: Partial<Record<DisparityMetric, string>> = {};
  const tooFew = (s: Spread | null): boolean => s === null || s.used < 2;
  const few = 'fewer than two reportable groups define this rate';

  const sr = spread(reportable, 'selectionRate', notes);
  const tpr = spread(reportable, 'tpr', notes);
  const fpr = spread(reportable, 'fpr', notes);
  const acc = spread(reportable, 'accuracy', notes);

  const diff = (s: Spread | null, name: DisparityMetric): number | null => {
    if (tooFew(s) || s === null) {
      nullReasons[name] = few;
      return null;
    }
    return s.max - s.min;
  };
  const demographicParityDifference = diff(sr, 'demographicParityDifference');
  let demographicParityRatio: number | null = null;
  if (tooFew(sr) || sr === null) nullReasons.demographicParityRatio = few;
  else if (sr.max === 0) nullReasons.demographicParityRatio = 'every group has selection rate 0 (0/0)';
  else demographicParityRatio = sr.min / sr.max;
  const equalOpportunityDifference = diff(tpr, 'equalOpportunityDifference');
  let equalizedOddsDifference: number | null = null;
  if (tooFew(tpr) || tooFew(fpr) || tpr === null || fpr === null) nullReasons.equalizedOddsDifference = 'fewer than two reportable groups define both TPR and FPR';
  else equalizedOddsDifference = Math.max(tpr.max - tpr.min, fpr.max - fpr.min);
  const accuracyGap = diff(acc, 'accuracyGap');
  let worstGroupAccuracy: number | null = null;
  if (acc === null) nullReasons.worstGroupAccuracy = 'no reportable group';
  else worstGroupAccuracy = acc.min;

  return {
    demographicParityDifference,
    demographicParityRatio,
    equalizedOddsDifference,
    equalOpportunityDifference,
    accuracyGap,
    worstGroupAccuracy,
    worstGroup: acc?.argmin ?? null,
    groupsCompared: reportable.map(([name]) => name),
    suppressedGroups,
    nullReasons,
    notes: [...new Set(notes)],
  };
}

/** Every per-group metric and every disparity of one evaluation's (summed) counts. */
export function fairnessMetrics(counts: DecodedCounts, options: MetricsOptions = {}): FairnessMetrics {
  const groups: Record<string, Record<string, GroupResult>> = {};
  const disp: Record<string, Disparities> = {};
  for (const [grouping, values] of Object.entries(counts.groupings)) {
    const results: Record<string, GroupResult> = {};
    for (const [value, c] of Object.entries(values)) results[value] = groupMetrics(c, options);
    groups[grouping] = results;
    disp[grouping] = disparities(results);
  }
  return { overall: groupMetrics(counts.overall, options), groups, disparities: disp };
}
