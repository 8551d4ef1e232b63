/**
 * The job spec inside task messages, validated once per distinct spec in a process instead of once per message.
 *
 * Why: a client validated the spec with the full JobSpec schema on every task — ≈ 0.8 ms per client-task, a third
 * of the non-training time of a 200-client Adult round (issue 16). Since protocol 6 a connection is sent each
 * spec once (client/task-specs.ts holds it), but the clients of a simulation share one process and each is sent
 * the same spec — every round, under adaptive clipping's per-round specs — so the validated result is kept by the
 * spec's JSON text (≈ 0.09 ms to compute) and a repeated spec costs a lookup and a copy.
 *
 * Exactness: the cache is used only for plain JSON data — objects with Object.prototype or null prototypes,
 * arrays, strings, booleans, null and FINITE numbers, no `undefined`. For such data JSON.stringify is injective
 * and zod's result depends on nothing else, so a hit returns exactly what a fresh parse would. Anything else
 * (NaN, Infinity, undefined, class instances — which JSON.stringify would blur together) is parsed in full
 * every time. Each hit returns its own deep copy: no two tasks share mutable spec objects.
 */
import { z } from 'zod';
import { JobSpec } from './spec.ts';
import { isJsonData } from '../json-data.ts';

const validated = new Map<string, JobSpec>();
/** A client sees one job at a time, a coordinator's own clients a handful; the bound only stops growth. */
const LIMIT = 32;

/** JSON text of `raw` when it is plain JSON data with finite numbers (see the header), otherwise undefined. */
function plainJsonText(raw: unknown): string | undefined {
  if (!isJsonData(raw, { finite: true })) return undefined;
  try {
    return JSON.stringify(raw);
  } catch {
    // JSON.stringify recurses: a value nested a few thousand levels deep (JSON.parse builds one without
    // recursing) overflows the stack. Such a value is parsed in full instead: a throw out of this transform
    // escapes safeParse, and out of a client node's message handler it ends the process.
    return undefined;
  }
}

export const JobSpecOnWire = z.unknown().transform((raw, ctx): JobSpec => {
  const key = plainJsonText(raw);
  const hit = key === undefined ? undefined : validated.get(key);
  if (hit !== undefined) return structuredClone(hit);
  const r = JobSpec.safeParse(raw);
  if (!r.success) {
    // Same paths and messages as a direct JobSpec parse (zod prefixes them with the message's `job` key).
    for (const issue of r.error.issues) ctx.issues.push({ code: 'custom', message: issue.message, path: issue.path, input: raw });
    return z.NEVER;
  }
  if (key !== undefined) {
    if (validated.size >= LIMIT) validated.delete(validated.keys().next().value as string);
    validated.set(key, structuredClone(r.data));
  }
  return r.data;
});
