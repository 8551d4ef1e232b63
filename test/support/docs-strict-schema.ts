/**
 * The job spec in STRICT mode for checking documentation examples: a copy of the real zod schema in which
 * every object refuses unknown keys. The real JobSpec strips unknown keys silently (which is how a README
 * example wrote `"fairness": {"rules": [...]}` for months: dropped, then "passed"); an example a reader
 * copies must not contain a key the code ignores. The copy keeps every check and refinement of the original.
 */
import { z } from 'zod';
import { JobSpec } from '../../protocol/job/spec.ts';
import { isTesseraError } from '../../protocol/errors.ts';
import { dpPlanForJob } from '../../privacy/dp/config.ts';

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

/** Top-level keys of the job spec, to recognise a fragment of one. */
export const JOB_SPEC_KEYS: ReadonlySet<string> = new Set(Object.keys(JobSpec.shape));

/** A minimal complete spec a fragment is merged onto (the built-in simulation job's required fields). */
const BASE_SPEC = { model: { kind: 'logistic', inputs: 15, classes: 2 }, data: { dataset: 'heart' }, rounds: 1, sampling: { mode: 'poisson', rate: 1 } };

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge as `tessera simulate --job` does: objects merge key by key, anything else replaces. */
export function mergeFragment(base: Record<string, unknown>, fragment: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(fragment)) {
    const b = out[k];
    out[k] = isPlainObject(b) && isPlainObject(v) && k !== 'sampling' && k !== 'model' ? mergeFragment(b, v) : v;
  }
  return out;
}

export type SpecCheck = { ok: true } | { ok: false; problems: string[] };

/**
 * The checks a job meets when it starts that the schema cannot express: the DP plan across sections
 * (privacy/dp/config.ts: Poisson sampling, a budget, uniform weighting under secure aggregation, …). The
 * population only feeds adaptive clipping's default count noise; a nominal 100 stands in for it.
 */
function crossChecks(spec: JobSpec): string[] {
  if (!spec.dp.enabled) return [];
  try {
    dpPlanForJob(spec, 100);
    return [];
  } catch (e) {
    if (isTesseraError(e)) return [`${e.code}: ${e.message}`];
    throw e;
  }
}

function problems(r: { success: true; data: JobSpec } | { success: false; error: z.ZodError }): SpecCheck {
  if (r.success) {
    const cross = crossChecks(r.data);
    return cross.length === 0 ? { ok: true } : { ok: false, problems: cross };
  }
  return { ok: false, problems: r.error.issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`) };
}

export function checkJobSpec(json: unknown): SpecCheck {
  return problems(StrictJobSpec.safeParse(json));
}

export function checkJobFragment(json: unknown): SpecCheck {
  if (!isPlainObject(json)) return { ok: false, problems: ['(root): a job-spec fragment is a JSON object'] };
  return problems(StrictJobSpec.safeParse(mergeFragment(BASE_SPEC, json)));
}
