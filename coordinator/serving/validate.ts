/**
 * Step 2 of a prediction — validate: the request's instances against the routed version's data contract, and
 * into model inputs by the contract's own transforms (governance/contract/instance.ts, compile.ts
 * `writeFeatures`) — the one feature pipeline training used, so serving cannot drift from it. A version without a
 * contract takes input vectors of its input size.
 *
 * A refused request answers 422 TESSERA_ERR_INSTANCE_INVALID naming the first offending instance, its column, the
 * rule and the value sent (the caller's own value; it is never logged). Every issue of every instance is
 * returned for the per-column metrics, and schema changes (missing, unexpected, retyped columns) are returned
 * whether or not the request is refused.
 */
import type { ParsedRow } from '../../governance/contract/columns.ts';
import { parseInstance, type InstanceValue, type SchemaChange } from '../../governance/contract/instance.ts';
import type { Instance } from '../../protocol/serving.ts';
import type { ServedVersion } from './router.ts';

export interface ValidInput {
  readonly ok: true;
  /** Model inputs, one row of `inputSize` numbers per instance. */
  readonly features: number[][];
  /** The typed rows (contract models only): what the served-input drift windows take. */
  readonly rows: readonly ParsedRow[] | null;
  readonly changes: readonly SchemaChange[];
}

export interface RefusedInput {
  readonly ok: false;
  readonly status: 400 | 422;
  readonly refusal: { code: 'TESSERA_ERR_INSTANCE_INVALID' | 'TESSERA_ERR_MESSAGE_INVALID'; message: string; instance: number; column: string | null; kind: string; value?: InstanceValue };
  /** Every broken rule, per column (for the metrics). */
  readonly violations: ReadonlyArray<{ column: string; kind: string }>;
  readonly changes: readonly SchemaChange[];
}

const isVector = (x: Instance): x is number[] => Array.isArray(x);

export function validateInstances(target: ServedVersion, instances: readonly Instance[], model: string): ValidInput | RefusedInput {
  const { contract } = target;
  if (contract === null) {
    const bad = instances.findIndex((x) => !isVector(x) || x.length !== target.inputSize);
    if (bad < 0) return { ok: true, features: instances as number[][], rows: null, changes: [] };
    const x = instances[bad];
    if (x !== undefined && isVector(x)) {
      return { ok: false, status: 400, refusal: { code: 'TESSERA_ERR_MESSAGE_INVALID', message: `instances[${bad}] has ${x.length} features; model '${model}' takes ${target.inputSize}`, instance: bad, column: null, kind: 'shape' }, violations: [], changes: [] };
    }
    const why = target.missingContract !== null ? `names data contract ${target.missingContract.slice(0, 12)}…, which this coordinator does not hold (start it with --contract FILE)` : 'has no data contract';
    return { ok: false, status: 422, refusal: { code: 'TESSERA_ERR_INSTANCE_INVALID', message: `instances[${bad}] is a row of named columns, but model '${model}' ${why}: send its ${target.inputSize} input numbers`, instance: bad, column: null, kind: 'form' }, violations: [], changes: [] };
  }
  const d = contract.featureCount;
  const out = new Float32Array(instances.length * d);
  const rows: ParsedRow[] = [];
  const changes: SchemaChange[] = [];
  const violations: Array<{ column: string; kind: string }> = [];
  let first: RefusedInput['refusal'] | null = null;
  instances.forEach((x, i) => {
    if (isVector(x)) {
      first ??= { code: 'TESSERA_ERR_INSTANCE_INVALID', message: `instances[${i}] is an input vector, but model '${model}' takes rows of named columns checked against its data contract ${contract.contract.name} ${contract.contract.version} (e.g. {"${contract.columns[0]?.spec.name ?? 'column'}": …})`, instance: i, column: null, kind: 'form' };
      return;
    }
    const parsed = parseInstance(contract, x);
    changes.push(...parsed.changes);
    for (const issue of parsed.issues) violations.push({ column: issue.column, kind: issue.kind });
    const issue = parsed.issues[0];
    if (issue !== undefined) first ??= { code: 'TESSERA_ERR_INSTANCE_INVALID', message: `instances[${i}]: ${issue.message}`, instance: i, column: issue.column, kind: issue.kind, ...(issue.value !== undefined ? { value: issue.value } : {}) };
    if (parsed.row === null) return;
    rows.push(parsed.row);
    contract.writeFeatures(parsed.row, out, i * d);
  });
  if (first !== null) return { ok: false, status: 422, refusal: first, violations, changes };
  const features = Array.from({ length: instances.length }, (_, i) => Array.from(out.subarray(i * d, (i + 1) * d)));
  return { ok: true, features, rows, changes };
}
