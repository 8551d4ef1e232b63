/**
 * Checks a data set against its contract before it reaches training or inference: schema (missing, extra
 * or miscounted columns; wrong types with row numbers and offending values, capped per column), ranges and
 * categories, missing-value rates, outliers, label integrity (unknown labels, class balance) and drift per
 * column against the reference statistics, each with its threshold and verdict.
 *
 * The report is for the data owner and may quote raw cells; what leaves the client is the summary in
 * summary.ts (codes and counts only).
 */
import type { CsvTable } from '../../lib/csv.ts';
import type { CompiledColumn, IssueKind } from './columns.ts';
import { valueKey } from './columns.ts';
import type { CompiledContract } from './compile.ts';
import { compileContract } from './compile.ts';
import type { DriftResult } from './drift.ts';
import { categoricalDrift, columnDrift, columnThresholds } from './drift.ts';
import type { Contract, ContractInput } from './schema.ts';
import { countOutside, roundTo, tukeyFences } from './stats.ts';

import type { ViolationKind } from '../../protocol/data-check.ts';
export { VIOLATION_KINDS, type ViolationKind } from '../../protocol/data-check.ts';

export interface ViolationExample {
  readonly row: number;
  readonly line: number;
  readonly value: string;
}

export interface Violation {
  readonly column: string | null;
  readonly kind: ViolationKind;
  readonly message: string;
  /** Rows (or columns, classes) concerned. */
  readonly count: number;
  readonly rate?: number;
  readonly limit?: number;
  /** The first few offending cells (capped), with their row and file line. */
  readonly examples?: readonly ViolationExample[];
}

export interface ColumnStats {
  readonly column: string;
  readonly present: boolean;
  readonly missing: number;
  readonly missingRate: number;
  readonly outliers?: number;
  readonly outlierRate?: number;
}

export interface ContractReport {
  readonly passed: boolean;
  readonly contract: { readonly name: string; readonly version: string; readonly hash: string };
  readonly data: { readonly source: string; readonly rows: number; readonly columns: number };
  readonly violations: readonly Violation[];
  readonly drift: readonly DriftResult[];
  /** Whether drift fails the check ('fail') or is only reported ('warn'). */
  readonly onDrift: 'fail' | 'warn';
  readonly columns: readonly ColumnStats[];
  readonly label: { readonly column: string; readonly counts: Readonly<Record<string, number>> } | null;
}

export interface CheckOptions {
  /** Offending cells quoted per column and kind (default 5). */
  maxExamples?: number;
}

const pct = (x: number) => `${roundTo(100 * x, 2)}%`;
const KIND_OF_ISSUE: Record<Exclude<IssueKind, 'missing'>, ViolationKind> = { type: 'type', range: 'range', category: 'category', label: 'label-unknown' };

function isCompiled(c: Contract | ContractInput | CompiledContract): c is CompiledContract {
  return 'rowSchema' in c && 'parseRows' in c;
}

function describeIssue(col: CompiledColumn, kind: ViolationKind, count: number): string {
  const s = col.spec;
  const one = count === 1;
  const what = (singular: string, plural: string) => (one ? `1 value is not ${singular}` : `${count} values are not ${plural}`);
  switch (kind) {
    case 'type': {
      const [singular, plural] = s.type === 'integer' ? ['an integer', 'integers'] : s.type === 'number' ? ['a number', 'numbers'] : s.type === 'boolean' ? ['a boolean', 'booleans'] : [`of type ${s.type}`, `of type ${s.type}`];
      return `column "${s.name}": ${what(singular, plural)}`;
    }
    case 'range':
      return `column "${s.name}": ${count} value${one ? ' is' : 's are'} outside [${s.min ?? '-∞'}, ${s.max ?? '∞'}]`;
    case 'category':
      return `column "${s.name}": ${what('an allowed category', 'allowed categories')}`;
    default:
      return `label column "${s.name}": ${what('a known label', 'known labels')}`;
  }
}

function quote(examples: readonly ViolationExample[], total: number): string {
  return examples.length === 0 ? '' : ` (${examples.map((e) => `line ${e.line}: ${JSON.stringify(e.value)}`).join(', ')}${total > examples.length ? ', …' : ''})`;
}

export function checkData(input: Contract | ContractInput | CompiledContract, table: CsvTable, options: CheckOptions = {}): ContractReport {
  const compiled = isCompiled(input) ? input : compileContract(input);
  const { contract } = compiled;
  const maxExamples = options.maxExamples ?? 5;
  const violations: Violation[] = [];
  const drift: DriftResult[] = [];
  const stats: ColumnStats[] = [];
  const rows = table.rows;
  const n = rows.length;
  let labelSummary: ContractReport['label'] = null;

  // 1. Columns: by name with a header, by position without one.
  const position = new Map<string, number>();
  if (table.hasHeader) {
    table.header.forEach((h, i) => position.set(h, i));
    for (const c of contract.columns) if (!position.has(c.name)) violations.push({ column: c.name, kind: 'missing-column', message: `column "${c.name}" is missing from the data`, count: n });
    if (contract.file.extraColumns === 'error') {
      const known = new Set(contract.columns.map((c) => c.name));
      for (const h of table.header) if (!known.has(h)) violations.push({ column: h, kind: 'extra-column', message: `column "${h}" is not in contract "${contract.name}"`, count: n });
    }
  } else if (table.header.length !== contract.columns.length) {
    const width = table.header.length;
    const names = contract.columns.map((c) => c.name);
    violations.push({
      column: null,
      kind: 'column-count',
      message: `the data has ${width} field${width === 1 ? '' : 's'} per row but contract "${contract.name}" lists ${names.length} columns (${names.join(', ')}); without a header, columns are matched by position`,
      count: Math.abs(names.length - width),
    });
  } else {
    contract.columns.forEach((c, i) => position.set(c.name, i));
  }

  // 2. Cells, column by column: the same verdicts the row schema uses.
  for (const col of compiled.columns) {
    const name = col.spec.name;
    const pos = position.get(name);
    if (pos === undefined) {
      stats.push({ column: name, present: false, missing: 0, missingRate: 0 });
      continue;
    }
    let missing = 0;
    const missingExamples: ViolationExample[] = [];
    const issues = new Map<ViolationKind, { count: number; examples: ViolationExample[] }>();
    const numbers: number[] = [];
    const counts = new Map<string, number>();
    for (let r = 0; r < n; r++) {
      const raw = rows[r]?.[pos] ?? '';
      const v = col.verdict(raw);
      const example = () => ({ row: r + 1, line: table.lines[r] ?? r + 1, value: raw });
      if (v.missing) {
        missing++;
        if (missingExamples.length < maxExamples) missingExamples.push(example());
        continue;
      }
      if (v.issue) {
        const kind = KIND_OF_ISSUE[v.issue.kind as Exclude<IssueKind, 'missing'>];
        const entry = issues.get(kind) ?? { count: 0, examples: [] };
        entry.count++;
        if (entry.examples.length < maxExamples) entry.examples.push(example());
        issues.set(kind, entry);
      }
      if (v.value === null) continue;
      if (col.numeric && typeof v.value === 'number') numbers.push(v.value);
      else counts.set(valueKey(v.value), (counts.get(valueKey(v.value)) ?? 0) + 1);
    }
    for (const [kind, { count, examples }] of issues) {
      violations.push({ column: name, kind, message: `${describeIssue(col, kind, count)}${quote(examples, count)}`, count, rate: roundTo(count / n), examples });
    }
    const missingRate = n === 0 ? 0 : missing / n;
    const missingLimit = col.spec.nullable && !col.isLabel ? (col.spec.maxMissingRate ?? 1) : 0;
    if (missingRate > missingLimit) {
      violations.push({
        column: name,
        kind: 'missing-rate',
        message: `column "${name}": ${pct(missingRate)} missing (${missing} of ${n} rows), limit ${pct(missingLimit)}${col.spec.nullable ? '' : ' (not nullable)'}${quote(missingExamples, missing)}`,
        count: missing,
        rate: roundTo(missingRate),
        limit: missingLimit,
        examples: missingExamples,
      });
    }

    // 3. Outliers (Tukey fences on the reference quartiles) and drift against the reference.
    const ref = col.isLabel ? undefined : contract.reference?.columns[name];
    let outlierStats: Pick<ColumnStats, 'outliers' | 'outlierRate'> = {};
    const sorted = Float64Array.from(numbers).sort();
    if (ref?.kind === 'numeric' && col.numeric && sorted.length > 0) {
      const fences = tukeyFences(ref.quartiles, contract.outliers.k);
      const outliers = countOutside(sorted, fences);
      const rate = outliers / sorted.length;
      outlierStats = { outliers, outlierRate: roundTo(rate) };
      const limit = col.spec.maxOutlierRate;
      if (limit !== undefined && rate > limit) {
        violations.push({ column: name, kind: 'outliers', message: `column "${name}": ${pct(rate)} outliers (${outliers} values outside [${roundTo(fences.low)}, ${roundTo(fences.high)}], Tukey k = ${contract.outliers.k}), limit ${pct(limit)}`, count: outliers, rate: roundTo(rate), limit });
      }
    }
    stats.push({ column: name, present: true, missing, missingRate: roundTo(missingRate), ...outlierStats });

    const { enabled, psiThreshold } = columnThresholds(contract, col);
    drift.push(...columnDrift(contract, col, { sorted, counts }));

    // 4. Label integrity: class balance within bounds, and label drift.
    if (col.isLabel && contract.label) {
      const label = contract.label;
      const valid = label.values.reduce((s, v) => s + (counts.get(v) ?? 0), 0);
      labelSummary = { column: name, counts: Object.fromEntries(label.values.map((v) => [v, counts.get(v) ?? 0])) };
      for (const [cls, bounds] of Object.entries(label.balance)) {
        if (valid === 0) break;
        const share = (counts.get(cls) ?? 0) / valid;
        if (share < bounds.min || share > bounds.max) {
          violations.push({ column: name, kind: 'label-balance', message: `label "${cls}": share ${pct(share)} of ${valid} rows is outside [${pct(bounds.min)}, ${pct(bounds.max)}]`, count: counts.get(cls) ?? 0, rate: roundTo(share), limit: share < bounds.min ? bounds.min : bounds.max });
        }
      }
      const expected = contract.reference?.label?.frequencies;
      if (enabled && expected) {
        const d = categoricalDrift({ column: name, expected, counts, psiThreshold });
        if (d) drift.push(d);
      }
    }
  }

  const driftFails = contract.drift.onDrift === 'fail' && drift.some((d) => d.drifted);
  return {
    passed: violations.length === 0 && !driftFails,
    contract: { name: contract.name, version: contract.version, hash: compiled.hash },
    data: { source: table.source, rows: n, columns: table.header.length },
    violations,
    drift,
    onDrift: contract.drift.onDrift,
    columns: stats,
    label: labelSummary,
  };
}
