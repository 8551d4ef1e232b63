/**
 * A column's rules, compiled once from its contract entry: how a raw cell becomes a typed value, when it
 * counts as missing, and which rule (type, range, category, label) it breaks. The zod row schema
 * (compile.ts) and the data check (check.ts) both call `verdict`, so each rule is written in one place.
 */
import type { ColumnSpec, Contract } from './schema.ts';
import { missingMarkers } from './schema.ts';

export type CellValue = number | string | boolean | null;
export type ParsedRow = Record<string, CellValue>;
export type IssueKind = 'type' | 'missing' | 'range' | 'category' | 'label';

export interface CellVerdict {
  /** The typed value (for the label column: the normalised class name); null when missing or untypeable. */
  readonly value: CellValue;
  readonly missing: boolean;
  readonly issue?: { readonly kind: IssueKind; readonly message: string };
}

export interface CompiledColumn {
  readonly spec: ColumnSpec;
  readonly isLabel: boolean;
  /** Numeric values are compared and binned as numbers; the others by their canonical string. */
  readonly numeric: boolean;
  verdict(raw: string): CellVerdict;
}

/** Decimal numbers as written in data files: 12, -3.5, .7, 1e3 (no hex, no "Infinity", no blanks). */
export const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const BOOLEANS: Readonly<Record<string, boolean>> = { true: true, false: false, yes: true, no: false, t: true, f: false, '1': true, '0': false };

/** The canonical string of a typed value: how categories, sentinels, labels and one-hot keys are compared. */
export function valueKey(value: Exclude<CellValue, null>): string {
  return typeof value === 'string' ? value : String(value);
}

type Typed = { ok: true; value: Exclude<CellValue, null> } | { ok: false; message: string };

function typeCell(type: ColumnSpec['type'], raw: string): Typed {
  switch (type) {
    case 'number':
    case 'integer': {
      if (!NUMBER.test(raw)) return { ok: false, message: `expected a number, got ${JSON.stringify(raw)}` };
      const n = Number(raw);
      if (!Number.isFinite(n)) return { ok: false, message: `expected a finite number, got ${JSON.stringify(raw)}` };
      if (type === 'integer' && !Number.isInteger(n)) return { ok: false, message: `expected an integer, got ${JSON.stringify(raw)}` };
      return { ok: true, value: n };
    }
    case 'boolean': {
      const b = BOOLEANS[raw.toLowerCase()];
      return b === undefined ? { ok: false, message: `expected true/false, got ${JSON.stringify(raw)}` } : { ok: true, value: b };
    }
    default:
      return { ok: true, value: raw };
  }
}

export function compileColumn(contract: Contract, spec: ColumnSpec): CompiledColumn {
  const markers = new Set(missingMarkers(contract, spec));
  const sentinels = new Set((spec.missingSentinels ?? []).map((s) => String(s)));
  const categories = spec.categories ? new Set(spec.categories) : undefined;
  const label = contract.label?.column === spec.name ? contract.label : undefined;
  const labelValues = label ? new Set(label.values) : undefined;
  const normalise = new Map(Object.entries(label?.normalise ?? {}));
  const nullable = spec.nullable && !label;
  const { min, max } = spec;
  const MISSING: CellVerdict = { value: null, missing: true };
  const MISSING_NOT_ALLOWED: CellVerdict = { value: null, missing: true, issue: { kind: 'missing', message: `missing value in column "${spec.name}", which is not nullable` } };

  function verdict(raw: string): CellVerdict {
    if (markers.has(raw)) return nullable ? MISSING : MISSING_NOT_ALLOWED;
    const typed = typeCell(spec.type, raw);
    if (!typed.ok) return { value: null, missing: false, issue: { kind: 'type', message: `column "${spec.name}": ${typed.message}` } };
    const value = typed.value;
    const key = valueKey(value);
    if (sentinels.has(key)) return nullable ? MISSING : MISSING_NOT_ALLOWED;
    if (label && labelValues) {
      const cls = normalise.get(key) ?? key;
      if (!labelValues.has(cls)) {
        return { value: key, missing: false, issue: { kind: 'label', message: `label ${JSON.stringify(key)} is not one of ${label.values.join(', ')}${normalise.size > 0 ? ' (after normalisation)' : ''}` } };
      }
      return { value: cls, missing: false };
    }
    if (typeof value === 'number') {
      if (min !== undefined && value < min) return { value, missing: false, issue: { kind: 'range', message: `column "${spec.name}": ${value} is below the minimum ${min}` } };
      if (max !== undefined && value > max) return { value, missing: false, issue: { kind: 'range', message: `column "${spec.name}": ${value} is above the maximum ${max}` } };
    }
    if (categories && !categories.has(key)) {
      return { value, missing: false, issue: { kind: 'category', message: `column "${spec.name}": ${JSON.stringify(key)} is not an allowed category` } };
    }
    return { value, missing: false };
  }

  return { spec, isLabel: label !== undefined, numeric: (spec.type === 'number' || spec.type === 'integer') && !categories && !label, verdict };
}
