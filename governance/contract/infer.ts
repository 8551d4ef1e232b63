/**
 * Infers a draft contract from a reference data set, for a person to review and edit: column types,
 * plausible ranges, categories, missing-value markers, reference statistics, default transforms and label
 * balance bounds. Every heuristic below is a starting point, stated so that a reviewer knows what to check.
 */
import { basename } from 'node:path';
import { TesseraError } from '../../protocol/errors.ts';
import type { CsvTable } from '../../lib/csv.ts';
import { NUMBER } from './columns.ts';
import type { ColumnReference } from './reference-schema.ts';
import { categoricalReference, numericReference } from './reference.ts';
import type { ColumnSpec, Contract, ContractInput, FileSpec } from './schema.ts';
import { parseContract } from './schema.ts';
import type { FeatureTransform } from './transform-schema.ts';

export interface InferOptions {
  name?: string;
  version?: string;
  description?: string;
  label?: string;
  sensitive?: readonly string[];
  /** Missing-value markers; by default those of AUTO_MISSING_MARKERS that occur in the data (plus ""). */
  missingValues?: readonly string[];
  /** How the file was read (header, delimiter, …), recorded so that `check` reads new files the same way. */
  file?: Partial<Omit<FileSpec, 'missingValues' | 'extraColumns'>>;
  /** PSI bins per numeric column (default 10: deciles). */
  bins?: number;
  /** A text column with more distinct values than this is free text (type string), not a category. */
  maxCategories?: number;
  /** An integer column with at most this many distinct values is a coded category (e.g. sex 0/1, cp 1–4). */
  maxCodes?: number;
}

export const AUTO_MISSING_MARKERS: readonly string[] = ['?', 'NA', 'N/A', 'NaN', 'null', 'NULL', 'None', ''];

/** Margin around the observed range: 10% of the range each side, so a fresh sample of the same population passes. */
const RANGE_MARGIN = 0.1;
/** Margin around each class share for the balance bounds (absolute). */
const BALANCE_MARGIN = 0.1;
const OUTLIER_K = 3;

function ceilTo(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.ceil(x * f - 1e-9) / f;
}

/** Observed range widened by RANGE_MARGIN, not below 0 for non-negative data, rounded outwards. */
function widenedRange(min: number, max: number, integer: boolean): { min: number; max: number } {
  const span = max - min || Math.abs(max) || 1;
  let lo = min - RANGE_MARGIN * span;
  let hi = max + RANGE_MARGIN * span;
  if (min >= 0) lo = Math.max(0, lo);
  const step = integer ? 1 : 10 ** (Math.floor(Math.log10(span)) - 2);
  lo = Number((Math.floor(lo / step) * step).toPrecision(12));
  hi = Number((Math.ceil(hi / step) * step).toPrecision(12));
  return { min: lo, max: hi };
}

function sortKeys(keys: Iterable<string>, numeric: boolean): string[] {
  return [...keys].sort((a, b) => (numeric ? Number(a) - Number(b) : a < b ? -1 : a > b ? 1 : 0));
}

interface Inferred {
  spec: ColumnSpec;
  reference?: ColumnReference;
  feature?: FeatureTransform;
  labelCounts?: Map<string, number>;
}

function inferColumn(name: string, raws: readonly string[], markers: ReadonlySet<string>, opts: Required<Pick<InferOptions, 'bins' | 'maxCategories' | 'maxCodes'>> & { isLabel: boolean }): Inferred {
  const present = raws.filter((r) => !markers.has(r));
  const missing = raws.length - present.length;
  const missingRate = missing / raws.length;
  const nullable = missing > 0 && !opts.isLabel;
  const base = { name, nullable, ...(nullable ? { maxMissingRate: Math.min(1, ceilTo(Math.max(0.05, 2 * missingRate))) } : {}) };
  if (present.length === 0) return { spec: { ...base, type: 'string', nullable: true, maxMissingRate: 1 } };

  const counts = new Map<string, number>();
  const allNumbers = present.every((r) => NUMBER.test(r));
  const numbers = allNumbers ? present.map(Number) : [];
  const integer = allNumbers && numbers.every(Number.isInteger);
  // Canonical keys: "1.0" and "1" are the same code in an integer column.
  for (const r of present) {
    const key = integer ? String(Number(r)) : r;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const distinct = counts.size;

  if (opts.isLabel) {
    if (allNumbers && !integer) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Label column "${name}" holds non-integer numbers; a label must name a class`);
    return { spec: { ...base, type: integer ? 'integer' : 'category' }, labelCounts: counts };
  }

  if (allNumbers && !(integer && distinct <= opts.maxCodes)) {
    const sorted = Float64Array.from(numbers).sort();
    const reference = numericReference({ sorted, missing, outlierK: OUTLIER_K, bins: opts.bins });
    const spec: ColumnSpec = {
      ...base,
      type: integer ? 'integer' : 'number',
      ...widenedRange(reference.min, reference.max, integer),
      maxOutlierRate: Math.min(1, ceilTo(Math.max(0.01, 2 * reference.outlierRate))),
    };
    return { spec, reference, feature: { column: name, transform: 'standardise', mean: reference.mean, std: reference.std > 0 ? reference.std : 1 } };
  }

  const booleans = !allNumbers && present.every((r) => /^(true|false)$/i.test(r));
  if (booleans) {
    const lower = new Map<string, number>();
    for (const [k, c] of counts) lower.set(k.toLowerCase(), (lower.get(k.toLowerCase()) ?? 0) + c);
    return { spec: { ...base, type: 'boolean' }, reference: categoricalReference({ counts: lower, missing }), feature: { column: name, transform: 'passthrough' } };
  }
  if (!allNumbers && distinct > opts.maxCategories) return { spec: { ...base, type: 'string' } };

  const categories = sortKeys(counts.keys(), integer);
  const reference = categoricalReference({ counts, missing });
  const binary = integer && categories.length === 2 && categories[0] === '0' && categories[1] === '1';
  return {
    spec: { ...base, type: integer ? 'integer' : 'category', categories },
    reference,
    feature: binary ? { column: name, transform: 'passthrough' } : { column: name, transform: 'onehot', categories },
  };
}

/** Infers a draft contract from a reference table (the header names the columns). */
export function inferContract(table: CsvTable, options: InferOptions = {}): Contract {
  const header = table.header;
  const need = (col: string, what: string) => {
    if (!header.includes(col)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `${what} "${col}" is not among the columns: ${header.join(', ')}`);
  };
  if (options.label !== undefined) need(options.label, 'Label column');
  for (const s of options.sensitive ?? []) need(s, 'Sensitive attribute');

  let markers: string[];
  if (options.missingValues) markers = [...new Set([...options.missingValues, ''])];
  else {
    const seen = new Set<string>();
    for (const row of table.rows) for (const cell of row) if (AUTO_MISSING_MARKERS.includes(cell)) seen.add(cell);
    markers = AUTO_MISSING_MARKERS.filter((m) => m === '' || seen.has(m));
  }
  const markerSet = new Set(markers);
  const opts = { bins: options.bins ?? 10, maxCategories: options.maxCategories ?? 100, maxCodes: options.maxCodes ?? 10 };

  const inferred = header.map((name, j) => inferColumn(name, table.rows.map((r) => r[j] ?? ''), markerSet, { ...opts, isLabel: name === options.label }));

  const n = table.rows.length;
  const referenceColumns: Record<string, ColumnReference> = {};
  for (const c of inferred) if (c.reference) referenceColumns[c.spec.name] = c.reference;

  let label: ContractInput['label'];
  let labelReference: Record<string, number> | undefined;
  const labelCounts = inferred.find((c) => c.labelCounts)?.labelCounts;
  if (options.label !== undefined && labelCounts) {
    const values = sortKeys(labelCounts.keys(), inferred.find((c) => c.labelCounts)?.spec.type === 'integer');
    if (values.length < 2) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Label column "${options.label}" holds a single value; a label needs at least two classes`);
    const total = [...labelCounts.values()].reduce((a, b) => a + b, 0);
    labelReference = {};
    const balance: Record<string, { min: number; max: number }> = {};
    for (const v of values) {
      const share = (labelCounts.get(v) ?? 0) / total;
      labelReference[v] = Math.round(share * 1e6) / 1e6;
      balance[v] = { min: Math.max(0, Math.floor((share - BALANCE_MARGIN) * 1000) / 1000), max: Math.min(1, Math.ceil((share + BALANCE_MARGIN) * 1000) / 1000) };
    }
    // The positive class of a binary label defaults to the rarer one (the event of interest, usually).
    const positive = values.length === 2 ? [...values].sort((a, b) => (labelCounts.get(a) ?? 0) - (labelCounts.get(b) ?? 0))[0] : undefined;
    label = { column: options.label, values, normalise: {}, balance, ...(positive === undefined ? {} : { positive }) };
  }

  const input: ContractInput = {
    name: options.name ?? 'inferred',
    version: options.version ?? '0.1.0',
    description: options.description ?? `Inferred from ${basename(table.source)} (${n} rows). Review types, units, ranges, categories, transforms and thresholds before use.`,
    file: { header: table.hasHeader, ...options.file, missingValues: markers },
    columns: inferred.map((c) => c.spec),
    ...(label ? { label } : {}),
    sensitive: [...(options.sensitive ?? [])],
    features: inferred.flatMap((c) => (c.feature ? [c.feature] : [])),
    reference: { rows: n, columns: referenceColumns, ...(labelReference ? { label: { frequencies: labelReference } } : {}) },
  };
  return parseContract(input, 'inferred contract');
}
