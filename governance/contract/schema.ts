/**
 * The data contract format (`tessera.data-contract/v1`): the agreement between the team that owns a data set
 * and the teams that train on it. One JSON (or YAML) document says what each column is (type, unit,
 * range, categories, how missing values are written), what the label is, which attributes are sensitive,
 * how features are computed (the single preprocessing definition for training, evaluation and serving),
 * and what the reference data looked like (statistics and drift thresholds).
 *
 * Cross-field rules (label column exists, transforms fit their column's type, …) are checked here too, so
 * a contract that parses is one the compiler and the checker can use without further validation.
 */
import { z } from 'zod';
import { TesseraError, describeZodIssues } from '../../protocol/errors.ts';
import { canonicalHash } from '../../lib/canonical-json.ts';
import { ColumnReference, LabelReference } from './reference-schema.ts';
import { FeatureTransform, transformFitsType } from './transform-schema.ts';

export const CONTRACT_FORMAT = 'tessera.data-contract/v1';

const Name = z.string().min(1).max(200);
const Rate = z.number().min(0).max(1);

export const ColumnType = z.enum(['number', 'integer', 'category', 'boolean', 'string']);
export type ColumnType = z.infer<typeof ColumnType>;

export const ColumnDrift = z.strictObject({
  /** Set false to leave this column out of drift detection. */
  enabled: z.boolean().default(true),
  psiThreshold: z.number().positive().optional(),
  ksMinStatistic: z.number().min(0).max(1).optional(),
});

export const ColumnSpec = z.strictObject({
  name: Name,
  type: ColumnType,
  unit: z.string().optional(),
  description: z.string().optional(),
  /** Whether a missing value is acceptable in a row (the rate is then bounded by maxMissingRate). */
  nullable: z.boolean().default(false),
  /** Largest acceptable share of missing values in a data set; default 0 when not nullable, 1 when nullable. */
  maxMissingRate: Rate.optional(),
  /** Inclusive bounds for number and integer columns. */
  min: z.number().optional(),
  max: z.number().optional(),
  /** Allowed values of a category column, or of a coded integer column (written as "0", "1", …). */
  categories: z.array(z.string()).min(1).optional(),
  /** Human names for coded values (e.g. {"1": "male"}); used for sensitive-attribute values. */
  valueLabels: z.record(z.string(), z.string()).optional(),
  /** How a missing value is written in this column (replaces file.missingValues). */
  missingValues: z.array(z.string()).optional(),
  /** Well-formed values that mean "not measured" (e.g. cholesterol 0 in the Heart data); counted as missing. */
  missingSentinels: z.array(z.union([z.number(), z.string()])).optional(),
  /** Largest acceptable share of outliers (Tukey fences on the reference quartiles); absent = report only. */
  maxOutlierRate: Rate.optional(),
  drift: ColumnDrift.optional(),
});
export type ColumnSpec = z.infer<typeof ColumnSpec>;

export const FileSpec = z.strictObject({
  /** Whether the first line names the columns. Without a header, the columns are in `columns` order. */
  header: z.boolean().default(true),
  delimiter: z.string().min(1).default(','),
  trim: z.boolean().default(true),
  skipLines: z.number().int().min(0).default(0),
  commentPrefix: z.string().min(1).optional(),
  /** How missing values are written, for every column that does not say otherwise. */
  missingValues: z.array(z.string()).default(['']),
  /** Columns in the data that the contract does not list: a violation ('error') or ignored. */
  extraColumns: z.enum(['error', 'ignore']).default('error'),
});
export type FileSpec = z.infer<typeof FileSpec>;

export const ClassBounds = z.strictObject({ min: Rate, max: Rate }).refine((b) => b.min <= b.max, { message: 'min must not exceed max' });

export const LabelSpec = z.strictObject({
  column: Name,
  /** Class names in class-index order (after normalisation). */
  values: z.array(z.string().min(1)).min(2),
  /** Raw value → class name, e.g. {">50K.": ">50K"} for adult.test, or {"2": "present"}. */
  normalise: z.record(z.string(), z.string()).default({}),
  /** The positive class for binary metrics. */
  positive: z.string().optional(),
  /** Acceptable share of each class in a data set. */
  balance: z.record(z.string(), ClassBounds).default({}),
});
export type LabelSpec = z.infer<typeof LabelSpec>;

export const DriftSpec = z.strictObject({
  /** PSI above this is drift; 0.25 is the usual "significant shift" line (Yurdakul 2018; Siddiqi 2006). */
  psiThreshold: z.number().positive().default(0.25),
  /** Significance level of the two-sample Kolmogorov–Smirnov test. */
  ksAlpha: z.number().gt(0).lt(1).default(0.05),
  /** KS statistic below this is never drift, however large the samples (practical significance). */
  ksMinStatistic: z.number().min(0).max(1).default(0.1),
  /** Whether drift fails the check ('fail') or is only reported ('warn', e.g. for non-IID federations). */
  onDrift: z.enum(['fail', 'warn']).default('fail'),
});

export const OutlierSpec = z.strictObject({
  /** Tukey's fences: outside [Q1 − k·IQR, Q3 + k·IQR] (Tukey 1977, Exploratory Data Analysis; k = 3 is "far out"). */
  rule: z.literal('tukey').default('tukey'),
  k: z.number().positive().default(3),
});

export const ReferenceSpec = z.strictObject({
  /** Rows in the reference data set. */
  rows: z.number().int().positive(),
  columns: z.record(z.string(), ColumnReference).default({}),
  label: LabelReference.optional(),
});

const ContractObject = z.strictObject({
  format: z.literal(CONTRACT_FORMAT).default(CONTRACT_FORMAT),
  name: Name,
  /** The contract's own version (e.g. "1.0.0"); bump it when the agreement changes. */
  version: z.string().min(1),
  description: z.string().optional(),
  owner: z.string().optional(),
  file: FileSpec.prefault({}),
  columns: z.array(ColumnSpec).min(1),
  label: LabelSpec.optional(),
  sensitive: z.array(Name).default([]),
  features: z.array(FeatureTransform).default([]),
  reference: ReferenceSpec.optional(),
  drift: DriftSpec.prefault({}),
  outliers: OutlierSpec.prefault({}),
});

type ContractShape = z.infer<typeof ContractObject>;

/** The cross-field rules that a per-field schema cannot say. */
function checkConsistency(c: ContractShape, ctx: z.RefinementCtx): void {
  const issue = (path: PropertyKey[], message: string) => ctx.addIssue({ code: 'custom', path, message });
  const byName = new Map<string, ColumnSpec>();
  c.columns.forEach((col, i) => {
    if (byName.has(col.name)) issue(['columns', i, 'name'], `duplicate column "${col.name}"`);
    byName.set(col.name, col);
    const numeric = col.type === 'number' || col.type === 'integer';
    if (!col.nullable && col.maxMissingRate !== undefined && col.maxMissingRate > 0) issue(['columns', i, 'maxMissingRate'], 'maxMissingRate applies to nullable columns; set nullable: true');
    if (!numeric && (col.min !== undefined || col.max !== undefined)) issue(['columns', i], `min/max apply to number and integer columns, not ${col.type}`);
    if (col.min !== undefined && col.max !== undefined && col.min > col.max) issue(['columns', i], `min ${col.min} exceeds max ${col.max}`);
    if (col.categories !== undefined && col.type !== 'category' && col.type !== 'integer') issue(['columns', i, 'categories'], `categories apply to category and integer columns, not ${col.type}`);
    if (col.type === 'integer' && col.categories?.some((v) => !/^-?\d+$/.test(v))) issue(['columns', i, 'categories'], 'categories of an integer column must be integers written as "0", "1", …');
    if (c.label?.column === col.name && col.categories !== undefined) issue(['columns', i, 'categories'], 'the label column takes its allowed values from label.values, not categories');
  });
  if (c.label) {
    const lab = c.label;
    const col = byName.get(lab.column);
    if (!col) issue(['label', 'column'], `label column "${lab.column}" is not among the columns`);
    else if (col.type === 'number') issue(['label', 'column'], 'the label column must be a category, integer, boolean or string column');
    if (new Set(lab.values).size !== lab.values.length) issue(['label', 'values'], 'label values must be distinct');
    for (const [from, to] of Object.entries(lab.normalise)) if (!lab.values.includes(to)) issue(['label', 'normalise', from], `"${to}" is not one of label.values`);
    if (lab.positive !== undefined && !lab.values.includes(lab.positive)) issue(['label', 'positive'], `"${lab.positive}" is not one of label.values`);
    for (const cls of Object.keys(lab.balance)) if (!lab.values.includes(cls)) issue(['label', 'balance', cls], `"${cls}" is not one of label.values`);
  }
  c.sensitive.forEach((s, i) => {
    if (!byName.has(s)) issue(['sensitive', i], `sensitive attribute "${s}" is not among the columns`);
  });
  c.features.forEach((f, i) => {
    const col = byName.get(f.column);
    if (!col) return issue(['features', i, 'column'], `feature column "${f.column}" is not among the columns`);
    if (c.label?.column === f.column) return issue(['features', i, 'column'], `the label column "${f.column}" cannot be a feature`);
    if (!transformFitsType(f.transform, col.type)) issue(['features', i, 'transform'], `transform "${f.transform}" does not fit ${col.type} column "${f.column}"`);
    if (f.transform === 'onehot' && col.categories) {
      const unknown = f.categories.filter((v) => !col.categories?.includes(v));
      if (unknown.length > 0) issue(['features', i, 'categories'], `one-hot categories not allowed by column "${f.column}": ${unknown.slice(0, 5).join(', ')}`);
    }
  });
  for (const [name, ref] of Object.entries(c.reference?.columns ?? {})) {
    const col = byName.get(name);
    if (!col) {
      issue(['reference', 'columns', name], `reference statistics for unknown column "${name}"`);
      continue;
    }
    const numeric = (col.type === 'number' || col.type === 'integer') && col.categories === undefined;
    if ((ref.kind === 'numeric') !== numeric) issue(['reference', 'columns', name, 'kind'], `${ref.kind} reference statistics do not fit ${col.type} column "${name}"${col.categories ? ' with categories' : ''}`);
  }
}

export const DataContract = ContractObject.superRefine(checkConsistency);
export type Contract = z.output<typeof DataContract>;
export type ContractInput = z.input<typeof DataContract>;

/** Parses an untrusted contract document, naming every failing field (TESSERA_ERR_CONTRACT_INVALID). */
export function parseContract(input: unknown, source = 'data contract'): Contract {
  const r = DataContract.safeParse(input);
  if (!r.success) {
    const more = r.error.issues.length > 5 ? ` (and ${r.error.issues.length - 5} more)` : '';
    throw new TesseraError('TESSERA_ERR_CONTRACT_INVALID', `Invalid ${source}: ${describeZodIssues(r.error.issues)}${more}`, {
      details: { issues: r.error.issues.slice(0, 20).map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) },
    });
  }
  return r.data;
}

/**
 * SHA-256 over the RFC 8785 canonical JSON of the parsed contract (defaults filled in), so the same agreement
 * has the same hash whether written in JSON or YAML, in any key order, with or without default fields.
 * This is the `data.contractHash` of a job spec.
 */
export function contractHash(contract: Contract | ContractInput): string {
  return canonicalHash(parseContract(contract));
}

/** The missing-value markers that apply to a column. */
export function missingMarkers(contract: Pick<Contract, 'file'>, col: ColumnSpec): readonly string[] {
  return col.missingValues ?? contract.file.missingValues;
}
