/**
 * One instance at inference, checked against the data contract by the SAME column rules as training data
 * (columns.ts `verdict`, through the compiled contract's columns) — "check inputs before features reach training
 * or inference" — so a value the contract refuses in a training file is refused in a prediction request too.
 *
 * An instance is a JSON object {column: value}. JSON values become the raw cell text a data file would hold
 * (numbers and booleans by their JavaScript string, null as the column's first missing marker), so the one
 * typing rule of columns.ts applies. The label column is not an input: present or absent, it is ignored.
 *
 * Schema changes are reported apart from rule violations, per column: a column the contract lists but the
 * instance lacks (`missing`; its value is then missing, which the column may or may not allow), a column the
 * contract does not list (`unexpected`; ignored by the pipeline), and a value of another type (`type`).
 */
import type { CompiledContract } from './compile.ts';
import type { IssueKind, ParsedRow } from './columns.ts';
import { missingMarkers } from './schema.ts';

export type InstanceValue = string | number | boolean | null;
export type InstanceObject = Readonly<Record<string, InstanceValue>>;

export interface InstanceIssue {
  readonly column: string;
  readonly kind: IssueKind;
  /** The offending value as the caller sent it (answered to that caller only; never logged). */
  readonly value: InstanceValue | undefined;
  readonly message: string;
}

export type SchemaChangeKind = 'missing' | 'unexpected' | 'type';
export interface SchemaChange {
  readonly column: string;
  readonly change: SchemaChangeKind;
}

export interface ParsedInstance {
  /** The typed row (every contract column but the label) when no rule is broken; null otherwise. */
  readonly row: ParsedRow | null;
  readonly issues: readonly InstanceIssue[];
  readonly changes: readonly SchemaChange[];
}

function cellText(value: InstanceValue, missing: string): string {
  if (value === null) return missing;
  return typeof value === 'string' ? value : String(value);
}

export function parseInstance(compiled: CompiledContract, instance: InstanceObject): ParsedInstance {
  const { contract } = compiled;
  const issues: InstanceIssue[] = [];
  const changes: SchemaChange[] = [];
  const row: Record<string, ParsedRow[string]> = {};
  const known = new Set(contract.columns.map((c) => c.name));
  for (const key of Object.keys(instance)) if (!known.has(key)) changes.push({ column: key, change: 'unexpected' });
  for (const col of compiled.columns) {
    if (col.isLabel) continue;
    const name = col.spec.name;
    const marker = missingMarkers(contract, col.spec)[0] ?? '';
    const present = Object.hasOwn(instance, name);
    if (!present) changes.push({ column: name, change: 'missing' });
    const value = present ? instance[name] : undefined;
    const v = col.verdict(value === undefined ? marker : cellText(value, marker));
    if (v.issue) {
      if (v.issue.kind === 'type') changes.push({ column: name, change: 'type' });
      issues.push({ column: name, kind: v.issue.kind, value, message: present ? v.issue.message : `column "${name}" is absent and not nullable` });
    }
    row[name] = v.value;
  }
  return { row: issues.length === 0 ? row : null, issues, changes };
}
