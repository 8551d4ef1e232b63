/**
 * The job spec in STRICT mode: the real zod schema rebuilt so that every object refuses unknown keys. The plain
 * JobSpec strips unknown keys silently (a README example wrote `"fairness": {"rules": [...]}` for months: dropped,
 * then "passed"); what people write — job files submitted to a coordinator, `tessera jobs check`, the docs'
 * examples — is parsed with this copy, which keeps every check and refinement of the original.
 * An unknown key is reported with the nearest valid key at its place (`unknownKeyHint`).
 */
import { z } from 'zod';
import { JobSpec } from './spec.ts';

type AnySchema = z.core.$ZodType;

/** Rebuilds `schema` with `catchall: never` on every object, recursing through wrappers, arrays, unions. */
export function deepStrict(schema: AnySchema, seen = new Map<AnySchema, AnySchema>()): AnySchema {
  const done = seen.get(schema);
  if (done) return done;
  const def = schema._zod.def;
  const rebuild = (patch: Record<string, unknown>): AnySchema => {
    const copy = (schema as z.ZodType).clone({ ...def, ...patch } as typeof def);
    seen.set(schema, copy);
    return copy;
  };
  switch (def.type) {
    case 'object': {
      const d = def as z.core.$ZodObjectDef;
      const shape: Record<string, AnySchema> = {};
      for (const [k, v] of Object.entries(d.shape)) shape[k] = deepStrict(v, seen);
      return rebuild({ shape, catchall: z.never() });
    }
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'nonoptional':
    case 'catch':
      return rebuild({ innerType: deepStrict((def as z.core.$ZodOptionalDef).innerType, seen) });
    case 'array':
      return rebuild({ element: deepStrict((def as z.core.$ZodArrayDef).element, seen) });
    case 'record':
      return rebuild({ valueType: deepStrict((def as z.core.$ZodRecordDef).valueType, seen) });
    case 'union':
      return rebuild({ options: (def as z.core.$ZodUnionDef).options.map((o) => deepStrict(o, seen)) });
    case 'tuple': {
      const d = def as z.core.$ZodTupleDef;
      return rebuild({ items: d.items.map((o) => deepStrict(o, seen)), rest: d.rest === null ? null : deepStrict(d.rest, seen) });
    }
    case 'pipe': {
      const d = def as z.core.$ZodPipeDef;
      return rebuild({ in: deepStrict(d.in, seen), out: deepStrict(d.out, seen) });
    }
    default:
      return schema;
  }
}

export const StrictJobSpec = deepStrict(JobSpec) as typeof JobSpec;

/** The object keys a schema accepts at `path` (through wrappers, arrays, records, unions); empty when unknown. */
export function keysAt(schema: AnySchema, path: readonly PropertyKey[]): string[] {
  const def = schema._zod.def;
  switch (def.type) {
    case 'object': {
      const shape = (def as z.core.$ZodObjectDef).shape;
      if (path.length === 0) return Object.keys(shape);
      const next = shape[String(path[0])];
      return next ? keysAt(next, path.slice(1)) : [];
    }
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'nonoptional':
    case 'catch':
      return keysAt((def as z.core.$ZodOptionalDef).innerType, path);
    case 'pipe':
      return keysAt((def as z.core.$ZodPipeDef).in, path);
    case 'array':
      return path.length === 0 ? [] : keysAt((def as z.core.$ZodArrayDef).element, path.slice(1));
    case 'record':
      return path.length === 0 ? [] : keysAt((def as z.core.$ZodRecordDef).valueType, path.slice(1));
    case 'union':
      return [...new Set((def as z.core.$ZodUnionDef).options.flatMap((o) => keysAt(o, path)))];
    default:
      return [];
  }
}

/** Levenshtein distance (Wagner–Fischer 1974), case-insensitive: keys are short, O(|a|·|b|) is nothing. */
export function editDistance(a: string, b: string): number {
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  let prev = Array.from({ length: y.length + 1 }, (_, j) => j);
  for (let i = 1; i <= x.length; i++) {
    const cur = [i];
    for (let j = 1; j <= y.length; j++) cur[j] = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (x[i - 1] === y[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[y.length] ?? 0;
}

/** The valid key nearest to `key` at `path` of the job spec, and every valid key there (null: no object there). */
export function nearestKey(key: string, path: readonly PropertyKey[]): { key: string; close: boolean; valid: string[] } | null {
  const valid = keysAt(JobSpec, path);
  let best: { key: string; d: number } | null = null;
  for (const k of valid) {
    const d = editDistance(key, k);
    if (best === null || d < best.d) best = { key: k, d };
  }
  // "Close" when at most half the key differs: then it is most likely a typo of that key.
  return best === null ? null : { key: best.key, close: best.d <= Math.max(2, Math.ceil(key.length / 2)), valid };
}
