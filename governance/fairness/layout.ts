/**
 * The fixed layout of a fairness count vector. Every client derives the same layout from the declared
 * sensitive attributes and their allowed values (job spec or data contract), never from its local data, so
 * the vectors of all clients have the same length and meaning and can be summed element-wise — in the clear
 * or through secure aggregation, which only ever reveals the sum.
 *
 * Vector = [overall block, then one block per (grouping, value)], where the groupings are each attribute in
 * declared order, then every intersection of 2..maxIntersectionOrder attributes (in lexicographic order of
 * their positions), and the values of an intersection are the Cartesian product in declared order.
 * A block is [TP, FP, TN, FN, then per calibration bin b: examples_b, positives_b, scoreSum_b], where
 * scoreSum_b is the sum over the bin's examples of round(score · SCORE_SCALE) — an integer, so that sums
 * stay exact and fit secure aggregation — needed for the mean confidence of each bin in the expected
 * calibration error (Naeini et al. 2015; Guo et al. 2017).
 */
import { TesseraError } from '../../protocol/errors.ts';
import { INTERSECTION_SEPARATOR, type FairnessSection } from '../../protocol/job/fairness.ts';
import { sha256Hex } from '../../lib/hash.ts';
import type { Contract } from '../contract/schema.ts';

/** Scores are stored in units of 1/1000 per example (rounding error of a bin's mean confidence ≤ 0.0005). */
export const SCORE_SCALE = 1000;
/** Cells before the calibration bins in each block: TP, FP, TN, FN. */
export const CONFUSION_CELLS = 4;
/** Cells per calibration bin: examples, positives, scoreSum. */
export const BIN_CELLS = 3;
/** Refuse layouts that would make every client upload an absurd vector (intersections multiply). */
export const MAX_LAYOUT_LENGTH = 1_000_000;

export interface SensitiveAttribute {
  readonly name: string;
  /** Allowed values in a fixed order (e.g. the data contract's categories). */
  readonly values: readonly string[];
}

export interface Grouping {
  /** `sex`, or `sex×race` for an intersection. */
  readonly name: string;
  /** The attributes joined, in declared order. */
  readonly attributes: readonly string[];
  /** Value labels (`Female`, or `Female×Black` for an intersection), in layout order. */
  readonly values: readonly string[];
  /** Index of this grouping's first block in the vector (block index, not cell index). */
  readonly firstBlock: number;
}

export interface CountsLayout {
  readonly version: 1;
  readonly attributes: readonly SensitiveAttribute[];
  readonly calibrationBins: number;
  readonly maxIntersectionOrder: number;
  readonly groupings: readonly Grouping[];
  /** Cells per block: 4 + 3·calibrationBins. */
  readonly blockSize: number;
  /** Number of blocks including the overall block (block 0). */
  readonly blocks: number;
  /** Vector length in cells. */
  readonly length: number;
}

export interface CountsLayoutOptions {
  attributes: readonly SensitiveAttribute[];
  /** Predicted-probability bins (0 = no calibration counts; then scores are not accepted). Default 10. */
  calibrationBins?: number;
  /** Intersections of up to this many attributes (1 = none). Default: all attributes. */
  maxIntersectionOrder?: number;
}

function combinations(n: number, k: number): number[][] {
  const out: number[][] = [];
  const pick = (start: number, acc: number[]): void => {
    if (acc.length === k) {
      out.push([...acc]);
      return;
    }
    for (let i = start; i < n; i++) pick(i + 1, [...acc, i]);
  };
  pick(0, []);
  return out;
}

function product(lists: readonly (readonly string[])[]): string[] {
  return lists.reduce<string[]>((acc, values) => acc.flatMap((prefix) => values.map((v) => (prefix === '' ? v : `${prefix}${INTERSECTION_SEPARATOR}${v}`))), ['']);
}

function invalid(message: string): TesseraError {
  return new TesseraError('TESSERA_ERR_FAIRNESS_INPUT', message);
}

/** Builds the layout; throws TESSERA_ERR_FAIRNESS_INPUT for duplicate names/values or a separator inside a name. */
export function countsLayout(options: CountsLayoutOptions): CountsLayout {
  const { attributes } = options;
  const calibrationBins = options.calibrationBins ?? 10;
  const maxIntersectionOrder = Math.min(options.maxIntersectionOrder ?? attributes.length, attributes.length);
  if (!Number.isInteger(calibrationBins) || calibrationBins < 0) throw invalid(`calibrationBins must be a non-negative integer, got ${calibrationBins}`);
  const names = new Set<string>();
  for (const a of attributes) {
    if (a.name === '' || a.name === '__proto__' || a.name.includes(INTERSECTION_SEPARATOR)) throw invalid(`sensitive attribute name "${a.name}" is empty or contains "${INTERSECTION_SEPARATOR}"`);
    if (names.has(a.name)) throw invalid(`sensitive attribute "${a.name}" is declared twice`);
    names.add(a.name);
    if (a.values.length === 0) throw invalid(`sensitive attribute "${a.name}" has no allowed values`);
    const seen = new Set<string>();
    for (const v of a.values) {
      // `__proto__` would corrupt the plain objects reports are built from.
      if (v === '__proto__') throw invalid(`value "__proto__" of "${a.name}" is not allowed`);
      if (v.includes(INTERSECTION_SEPARATOR)) throw invalid(`value "${v}" of "${a.name}" contains "${INTERSECTION_SEPARATOR}"`);
      if (seen.has(v)) throw invalid(`value "${v}" of "${a.name}" is listed twice`);
      seen.add(v);
    }
  }
  const groupings: Grouping[] = [];
  let block = 1; // block 0 is the overall block
  for (let order = 1; order <= Math.max(1, maxIntersectionOrder); order++) {
    for (const combo of combinations(attributes.length, order)) {
      const parts = combo.map((i) => attributes[i] as SensitiveAttribute);
      const values = product(parts.map((p) => p.values));
      groupings.push({ name: parts.map((p) => p.name).join(INTERSECTION_SEPARATOR), attributes: parts.map((p) => p.name), values, firstBlock: block });
      block += values.length;
      if (block * (CONFUSION_CELLS + BIN_CELLS * calibrationBins) > MAX_LAYOUT_LENGTH) {
        throw invalid(`the fairness count layout would exceed ${MAX_LAYOUT_LENGTH} cells; lower maxIntersectionOrder or the number of values`);
      }
    }
  }
  const blockSize = CONFUSION_CELLS + BIN_CELLS * calibrationBins;
  return { version: 1, attributes, calibrationBins, maxIntersectionOrder, groupings, blockSize, blocks: block, length: block * blockSize };
}

/**
 * The layout a job's clients use: values from `fairness.groupValues`, else from the data contract's
 * categories (`categories[attr]`). Throws when an attribute has neither.
 */
export function layoutForJob(fairness: Pick<FairnessSection, 'sensitive' | 'groupValues' | 'calibrationBins' | 'maxIntersectionOrder'>, categories: Readonly<Record<string, readonly string[]>> = {}): CountsLayout {
  const attributes = fairness.sensitive.map((name) => {
    const values = fairness.groupValues[name] ?? categories[name];
    if (values === undefined) throw invalid(`sensitive attribute "${name}" has no declared values (set fairness.groupValues.${name} or declare its categories in the data contract)`);
    return { name, values };
  });
  return countsLayout({ attributes, calibrationBins: fairness.calibrationBins, maxIntersectionOrder: fairness.maxIntersectionOrder });
}

/**
 * The allowed values of each sensitive attribute a data contract declares, as they appear in
 * Examples.sensitive: the column's categories through its valueLabels (e.g. Heart's "1" → "male"), plus
 * "missing" when the column is nullable (governance/contract/compile.ts writes that for a missing value).
 * Pass the result as `categories` to layoutForJob.
 */
export function sensitiveValuesFromContract(contract: Pick<Contract, 'sensitive' | 'columns' | 'name'>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const name of contract.sensitive) {
    const column = contract.columns.find((c) => c.name === name);
    if (column?.categories === undefined) throw invalid(`sensitive attribute "${name}" of contract "${contract.name}" has no categories, so its groups cannot be fixed in advance`);
    const values = column.categories.map((v) => column.valueLabels?.[v] ?? v);
    out[name] = column.nullable ? [...values, 'missing'] : values;
  }
  return out;
}

/**
 * Attributes whose values are the distinct values found in `groups` (sorted by code unit). Only for a
 * single party's data (the CLI audit of one predictions file); a federation must declare its values.
 */
export function attributesFromData(groups: Readonly<Record<string, readonly string[]>>, names: readonly string[] = Object.keys(groups)): SensitiveAttribute[] {
  return names.map((name) => {
    const column = groups[name];
    if (column === undefined) throw invalid(`no group column "${name}"`);
    return { name, values: [...new Set(column)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)) };
  });
}

/** SHA-256 over the layout's defining fields: clients and coordinator compare it before summing vectors. */
export function layoutFingerprint(layout: CountsLayout): string {
  return sha256Hex(JSON.stringify({ v: layout.version, a: layout.attributes.map((a) => [a.name, a.values]), b: layout.calibrationBins, k: layout.maxIntersectionOrder }));
}
