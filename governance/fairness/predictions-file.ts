/**
 * Audit any model's predictions: turn a table of (label, prediction, score?, group columns) into the same
 * fairness report a federated evaluation produces. Parsing is strict — a missing column, non-binary labels or
 * predictions, an empty group cell, or a score outside [0, 1] is a TesseraError that names the column and
 * line, never a silently wrong report.
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { CsvTable } from '../../lib/csv.ts';
import { attributesFromData, countsLayout } from './layout.ts';
import { countsFromPredictions, decodeCounts } from './counts.ts';
import { fairnessReport, type FairnessReport } from './policy.ts';

export interface PredictionColumns {
  label: string;
  prediction: string;
  score?: string;
  groups: readonly string[];
  /** The label value meaning "positive"; default 1 for 0/1 columns and true for true/false columns. */
  positive?: string;
}

export interface ParsedPredictions {
  n: number;
  labels: Uint8Array;
  predictedPositive: Uint8Array;
  scores?: Float64Array;
  groups: Record<string, string[]>;
  positive: string;
}

function bad(message: string, details?: Record<string, unknown>): TesseraError {
  return new TesseraError('TESSERA_ERR_FAIRNESS_INPUT', message, details === undefined ? undefined : { details });
}

const list = (values: Iterable<string>, max = 6): string => {
  const all = [...values];
  return all.slice(0, max).map((v) => JSON.stringify(v)).join(', ') + (all.length > max ? `, … (${all.length} in all)` : '');
};

/** Picks the positive value: --positive if given, else 1 (0/1 columns) or true (true/false columns). */
function choosePositive(values: ReadonlySet<string>, positive: string | undefined, label: string, prediction: string): string {
  if (positive !== undefined) {
    const others = [...values].filter((v) => v !== positive);
    if (others.length > 1) throw bad(`--positive ${JSON.stringify(positive)} leaves more than one other value in columns "${label}" and "${prediction}": ${list(values)}`);
    return positive;
  }
  const subset = (allowed: readonly string[]): boolean => [...values].every((v) => allowed.includes(v));
  if (subset(['0', '1'])) return '1';
  if (subset(['true', 'false'])) return 'true';
  if (subset(['True', 'False'])) return 'True';
  throw bad(`labels are not 0/1 or true/false (found ${list(values)} in "${label}" and "${prediction}"); name the positive value with --positive VALUE`);
}

/** Validates and extracts the columns of a predictions table. */
export function parsePredictions(table: CsvTable, columns: PredictionColumns): ParsedPredictions {
  const where = (row: number): string => `${table.source} line ${table.lines[row] ?? '?'}`;
  const wanted = [columns.label, columns.prediction, ...(columns.score === undefined ? [] : [columns.score]), ...columns.groups];
  if (columns.groups.length === 0) throw bad('name at least one group column (--group COL[,COL...])');
  if (new Set(columns.groups).size !== columns.groups.length) throw bad(`a group column is named twice in ${list(columns.groups)}`);
  const missing = wanted.filter((c) => !table.header.includes(c));
  if (missing.length > 0) throw bad(`${table.source} has no column${missing.length > 1 ? 's' : ''} ${list(missing)}; its columns are ${list(table.header, 30)}`, { missing });
  const index = (c: string): number => table.header.indexOf(c);
  const n = table.rows.length;
  const cell = (row: number, c: number): string => (table.rows[row] as readonly string[])[c] ?? '';

  const labelCol = index(columns.label);
  const predCol = index(columns.prediction);
  const distinct = (c: number, name: string, what: string): Set<string> => {
    const values = new Set<string>();
    for (let r = 0; r < n; r++) {
      const v = cell(r, c);
      if (v === '') throw bad(`${where(r)}: the ${what} column "${name}" is empty`, { line: table.lines[r], column: name });
      values.add(v);
    }
    if (values.size > 2) throw bad(`non-binary ${what}s: column "${name}" has ${values.size} distinct values (${list(values)}); fairness metrics here are for binary classification`, { column: name });
    return values;
  };
  const labelValues = distinct(labelCol, columns.label, 'label');
  const predValues = distinct(predCol, columns.prediction, 'prediction');
  const union = new Set([...labelValues, ...predValues]);
  if (union.size > 2) throw bad(`non-binary labels and predictions: together columns "${columns.label}" (${list(labelValues)}) and "${columns.prediction}" (${list(predValues)}) use ${union.size} values; both must use the same two`);
  const positive = choosePositive(union, columns.positive, columns.label, columns.prediction);

  const labels = new Uint8Array(n);
  const predictedPositive = new Uint8Array(n);
  for (let r = 0; r < n; r++) {
    labels[r] = cell(r, labelCol) === positive ? 1 : 0;
    predictedPositive[r] = cell(r, predCol) === positive ? 1 : 0;
  }

  let scores: Float64Array | undefined;
  if (columns.score !== undefined) {
    const c = index(columns.score);
    scores = new Float64Array(n);
    for (let r = 0; r < n; r++) {
      const text = cell(r, c);
      const s = Number(text);
      if (text === '' || !(s >= 0 && s <= 1)) throw bad(`${where(r)}: score ${JSON.stringify(text)} in column "${columns.score}" is not a probability in [0, 1]`, { line: table.lines[r], column: columns.score });
      scores[r] = s;
    }
  }

  const groups: Record<string, string[]> = {};
  for (const name of columns.groups) {
    const c = index(name);
    const values: string[] = [];
    let empty = 0;
    let firstEmpty = -1;
    for (let r = 0; r < n; r++) {
      const v = cell(r, c);
      if (v === '') {
        empty++;
        if (firstEmpty < 0) firstEmpty = r;
      }
      values.push(v);
    }
    if (empty === n) throw bad(`group column "${name}" is empty: none of its ${n} rows has a value`, { column: name });
    if (empty > 0) throw bad(`${where(firstEmpty)}: group column "${name}" is empty (${empty} of ${n} rows); fill missing groups with an explicit value such as "unknown"`, { column: name, empty });
    groups[name] = values;
  }
  return { n, labels, predictedPositive, ...(scores ? { scores } : {}), groups, positive };
}

export interface AuditOptions {
  minGroupSize?: number;
  calibrationBins?: number;
  /** Intersections of up to this many group columns. Default: all of them. */
  maxIntersectionOrder?: number;
  context?: Record<string, string | number | boolean | null>;
}

/** The fairness report of one predictions table; group values are the distinct values found in it. */
export function auditPredictions(parsed: ParsedPredictions, options: AuditOptions = {}): FairnessReport {
  const names = Object.keys(parsed.groups);
  const layout = countsLayout({
    attributes: attributesFromData(parsed.groups, names),
    calibrationBins: parsed.scores ? (options.calibrationBins ?? 10) : 0,
    maxIntersectionOrder: options.maxIntersectionOrder ?? names.length,
  });
  const vector = countsFromPredictions({ labels: parsed.labels, predictedPositive: parsed.predictedPositive, ...(parsed.scores ? { scores: parsed.scores } : {}), groups: parsed.groups, layout });
  return fairnessReport({
    counts: decodeCounts(vector, layout),
    ...(options.minGroupSize === undefined ? {} : { minGroupSize: options.minGroupSize }),
    context: { rows: parsed.n, positiveLabel: parsed.positive, ...(options.context ?? {}) },
  });
}
