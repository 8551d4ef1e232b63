/**
 * Checking documentation examples against the job spec in STRICT mode (protocol/job/strict.ts, the same strict
 * copy `tessera jobs check` and job submission use): an example a reader copies must not contain a key the code
 * ignores, and must pass the cross-section checks a job meets when it starts.
 */
import type { z } from 'zod';
import { JobSpec } from '../../protocol/job/spec.ts';
import { StrictJobSpec, deepStrict } from '../../protocol/job/strict.ts';

import { isTesseraError } from '../../protocol/errors.ts';
import { dpPlanForJob } from '../../privacy/dp/config.ts';

export { StrictJobSpec, deepStrict };

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
