/**
 * A job spec's hash: sha-256 hex of its RFC 8785 form (lib/canonical-json.ts) — the `specHash` tasks name their
 * spec by (protocol/messages.ts), the audit log records and the registry's lineage calls `jobSpecHash`.
 *
 * Computed once per deeply frozen spec object (lib/deep-freeze.ts: the job runner freezes the spec it sends each
 * round, a client node the specs it holds), since a frozen spec cannot change after it was hashed; any other
 * object is hashed afresh on every call. Hashing a 1.4 KB spec for each of 200 tasks was a measurable part of a
 * round (issue 16).
 */
import { canonicalHash } from './canonical-json.ts';
import { isDeepFrozen } from './deep-freeze.ts';
import type { JobSpec } from '../protocol/job/spec.ts';

const known = new WeakMap<object, string>();

export function jobSpecHash(spec: JobSpec): string {
  if (!isDeepFrozen(spec)) return canonicalHash(spec);
  let hash = known.get(spec);
  if (hash === undefined) {
    hash = canonicalHash(spec);
    known.set(spec, hash);
  }
  return hash;
}
