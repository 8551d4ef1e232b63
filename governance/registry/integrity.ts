/**
 * Re-hashing what the registry stores (issue 13 §1): a model row's lineage must still hash to its
 * lineage hash, its job spec to the lineage's jobSpecHash, and both hashes must be the ones the audit log
 * recorded when the model was registered. An insider who edits `deployment.roles` in a stored job spec, or
 * the lineage and its hash together, is caught here; the gate and `audit verify` both refuse on a mismatch.
 */
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { canonicalHash } from '../../lib/canonical-json.ts';
import { sha256Hex } from '../../lib/hash.ts';
import type { Db } from '../state/database.ts';
import { int8Path } from './quantize.ts';

interface StoredRow {
  version: string;
  lineage: string;
  lineage_hash: string;
  job_spec: string | null;
}

const RegisteredDetails = z.object({ lineageHash: z.string(), jobSpecHash: z.string() });

function parse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The problems with one stored model row (empty when intact). */
export function modelIntegrityProblems(db: Db, version: string): string[] {
  const r = db.prepare('SELECT version, lineage, lineage_hash, job_spec FROM models WHERE version = ?').get(version) as StoredRow | undefined;
  if (!r) return [`model ${version} is not in the registry`];
  const problems: string[] = [];
  const lineage = parse(r.lineage);
  if (canonicalHash(lineage) !== r.lineage_hash) problems.push(`model ${version.slice(0, 12)}: the stored lineage no longer hashes to its lineage hash (edited in storage)`);
  const specHash = z.object({ jobSpecHash: z.string() }).safeParse(lineage);
  if (r.job_spec !== null && (!specHash.success || canonicalHash(parse(r.job_spec)) !== specHash.data.jobSpecHash)) {
    problems.push(`model ${version.slice(0, 12)}: the stored job spec no longer hashes to the lineage's jobSpecHash (edited in storage)`);
  }
  const entries = db.prepare("SELECT details FROM audit_log WHERE action = 'model.registered' AND subject = ? ORDER BY seq").pluck().all(version) as string[];
  if (entries.length === 0) problems.push(`model ${version.slice(0, 12)}: the audit log has no model.registered entry for it`);
  else {
    const d = RegisteredDetails.safeParse(parse(entries[0] as string));
    if (!d.success || d.data.lineageHash !== r.lineage_hash) problems.push(`model ${version.slice(0, 12)}: its lineage hash differs from the one audited at registration`);
    else if (specHash.success && d.data.jobSpecHash !== specHash.data.jobSpecHash) problems.push(`model ${version.slice(0, 12)}: its jobSpecHash differs from the one audited at registration`);
  }
  return problems;
}

/** Every registered model's problems, for `audit verify`. */
export function registryIntegrityProblems(db: Db): string[] {
  return (db.prepare('SELECT version FROM models ORDER BY registered_at, version').pluck().all() as string[]).flatMap((v) => modelIntegrityProblems(db, v));
}

const DerivedInt8 = z.object({ derivedFrom: z.object({ transform: z.literal('int8-weights'), int8Sha256: z.string() }) });

/**
 * Review 3: the packed int8 file of each derived version (`<state>/artifacts/int8/<version>.bin`, written by
 * governance/registry/quantize.ts) must still hash to the `int8Sha256`
 * its signed lineage records. It is the file a constrained deployment ships, and nothing else re-hashes it: a file
 * swapped or deleted in the state directory would otherwise pass for the approved version.
 */
export function int8ArtifactProblems(db: Db, stateDir: string): string[] {
  const rows = db.prepare('SELECT version, lineage FROM models ORDER BY registered_at, version').all() as Array<{ version: string; lineage: string }>;
  return rows.flatMap((r) => {
    const d = DerivedInt8.safeParse(parse(r.lineage));
    if (!d.success) return [];
    const path = int8Path(stateDir, r.version);
    if (!existsSync(path)) return [`model ${r.version.slice(0, 12)}: its int8 file ${path} is missing (the lineage records sha256 ${d.data.derivedFrom.int8Sha256.slice(0, 12)}…)`];
    const actual = sha256Hex(readFileSync(path));
    return actual === d.data.derivedFrom.int8Sha256 ? [] : [`model ${r.version.slice(0, 12)}: its int8 file ${path} no longer hashes to the int8Sha256 of its lineage (replaced or edited in storage)`];
  });
}
