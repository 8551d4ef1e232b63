/**
 * Verification and export of the audit log for auditors: `verifyAuditLog` recomputes the chain and the
 * checkpoint signatures from storage; `exportAuditJsonl` writes entries and checkpoints as JSON Lines that
 * `verifyAuditJsonl` (or any RFC 8785 + Ed25519 implementation) can check away from the coordinator.
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';
import { TesseraError } from '../../protocol/errors.ts';
import type { Db } from '../state/database.ts';
import { readPrivateKeyFile } from '../identity/key-file.ts';
import { readRegistry } from '../identity/registry-store.ts';
import { int8ArtifactProblems, registryIntegrityProblems } from '../registry/integrity.ts';
import { recordedPolicy } from '../deploy/policy-store.ts';
import { verifyAuditChain, type AuditCheckpoint, type AuditEntry, type AuditVerification } from './chain.ts';
import { readAuditCheckpoints, readAuditEntries } from './log.ts';
import { checkAnchors, type WitnessedCheckpoint } from './anchor.ts';
import { checkpointKeyLocation } from './checkpoint-key.ts';
import { attributionProblem } from './attribution.ts';
import { adminActorProblems, capProblems } from './governance-consistency.ts';
import { trustedApprovers } from '../identity/registry-store.ts';

export interface VerifyOptions {
  /** The coordinator public key to trust; by default the checkpoint key's (checkpoint-key.ts). */
  readonly trustedKey?: Uint8Array;
  /** Without `trustedKey`: the checkpoint key file to trust (a command's `--checkpoint-key`); else the env, else the default. */
  readonly checkpointKeyFile?: string;
  /** Checkpoints witnessed outside the state (issue 13 §2): the log must still reach each with the same hash. */
  readonly anchors?: readonly WitnessedCheckpoint[];
}

export interface StateVerification extends AuditVerification {
  /** Everything else that failed: anchors beyond the first, registry rows, the approver and policy chains. */
  readonly problems: readonly string[];
  readonly anchors: number;
}

function defaultTrustedKey(db: Db, keyFile: string | undefined): Uint8Array | undefined {
  if (db.memory) return undefined;
  const { path } = checkpointKeyLocation(dirname(db.name), keyFile);
  return existsSync(path) ? readPrivateKeyFile(path).publicKey : undefined;
}

/**
 * Verifies the chain and its checkpoints, then the witnessed anchors, then what the gate relies on: every
 * model row re-hashed against its audited registration, the approver registry chain and the policy chain.
 * An empty log fails: a state with models, approvals or deployments always has entries.
 */
export function verifyAuditLog(db: Db, options: VerifyOptions = {}): StateVerification {
  const trustedKey = options.trustedKey ?? defaultTrustedKey(db, options.checkpointKeyFile);
  const entries = readAuditEntries(db);
  const chain = verifyAuditChain(entries, readAuditCheckpoints(db), trustedKey ? { trustedKey } : {});
  const anchorFailures = checkAnchors(entries, options.anchors ?? [], trustedKey);
  // Signed attributions (issue 13 §6): each attestation verifies over its own entry and names its actor.
  const people = new Map(trustedApprovers(db).map((a) => [a.keyId, a.person]));
  const problems = [
    ...anchorFailures.map((f) => f.reason),
    ...entries.map((e) => attributionProblem(e, (k) => people.get(k))).filter((p): p is string => p !== null),
    ...adminActorProblems(db, entries),
    ...capProblems(db, entries),
    ...registryIntegrityProblems(db),
    ...(db.memory ? [] : int8ArtifactProblems(db, dirname(db.name))),
    ...[readRegistry(db).problem, recordedPolicy(db).problem].filter((p): p is string => p !== null),
  ];
  const anchors = options.anchors?.length ?? 0;
  if (!chain.ok) return { ...chain, problems, anchors };
  const firstAnchor = anchorFailures[0];
  if (firstAnchor) return { ok: false, entries: chain.entries, checkpoints: chain.checkpoints, firstBadEntry: firstAnchor.firstBadEntry, reason: firstAnchor.reason, problems, anchors };
  if (entries.length === 0) return { ok: false, entries: 0, checkpoints: chain.checkpoints, firstBadEntry: 1, reason: 'the audit log is empty (a state that was ever used has entries: they were deleted, or this is not the right state)', problems, anchors };
  if (problems.length) return { ok: false, entries: chain.entries, checkpoints: chain.checkpoints, firstBadEntry: null, reason: problems[0] as string, problems, anchors };
  return { ...chain, problems, anchors };
}

/** One JSON document per line: `{"kind":"entry",…}` in sequence order, each checkpoint after its entry. */
export function exportAuditJsonl(db: Db): string {
  const checkpoints = readAuditCheckpoints(db);
  const lines: string[] = [];
  let cp = 0;
  for (const e of readAuditEntries(db)) {
    lines.push(JSON.stringify({ kind: 'entry', ...e }));
    for (; cp < checkpoints.length && (checkpoints[cp]?.seq ?? Infinity) <= e.seq; cp++) lines.push(JSON.stringify({ kind: 'checkpoint', ...checkpoints[cp] }));
  }
  for (; cp < checkpoints.length; cp++) lines.push(JSON.stringify({ kind: 'checkpoint', ...checkpoints[cp] }));
  return lines.length ? `${lines.join('\n')}\n` : '';
}

const ExportedEntry = z.object({
  kind: z.literal('entry'),
  seq: z.number().int(),
  time: z.string(),
  actor: z.string(),
  action: z.string(),
  subject: z.string(),
  details: z.unknown(),
  prevHash: z.string(),
  hash: z.string(),
});

const ExportedCheckpoint = z.object({
  kind: z.literal('checkpoint'),
  seq: z.number().int(),
  hash: z.string(),
  time: z.string(),
  keyId: z.string(),
  publicKey: z.string(),
  signature: z.string(),
});

const ExportedLine = z.discriminatedUnion('kind', [ExportedEntry, ExportedCheckpoint]);

/** Verifies an export made by `exportAuditJsonl` (entries in the order the file lists them). */
export function verifyAuditJsonl(text: string, options: VerifyOptions = {}): AuditVerification {
  const entries: AuditEntry[] = [];
  const checkpoints: AuditCheckpoint[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `Audit export line ${i + 1} is not JSON`);
    }
    const r = ExportedLine.safeParse(value);
    if (!r.success) throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `Audit export line ${i + 1} is neither an entry nor a checkpoint`);
    if (r.data.kind === 'entry') {
      const { kind: _kind, ...entry } = r.data;
      entries.push(entry);
    } else {
      const { kind: _kind, ...checkpoint } = r.data;
      checkpoints.push(checkpoint);
    }
  }
  return verifyAuditChain(entries, checkpoints, options.trustedKey ? { trustedKey: options.trustedKey } : {});
}
