/**
 * `tessera audit verify|export|list`: the tamper-evident audit log for auditors. `verify` recomputes the hash
 * chain and checkpoint signatures (from the state database, or from an exported JSONL file) and names the
 * first entry that fails; `export` writes JSONL an external auditor can verify.
 */
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { readPublicKeyFile } from '../governance/identity/key-file.ts';
import { checkpointAudit, readAuditEntries } from '../governance/audit/log.ts';
import { exportAuditJsonl, verifyAuditJsonl, verifyAuditLog, type StateVerification } from '../governance/audit/verify.ts';
import type { AuditVerification } from '../governance/audit/chain.ts';
import { parseAnchors, toWitnessed, type WitnessedCheckpoint } from '../governance/audit/anchor.ts';
import { checkpointKeyWarning, loadCheckpointKey } from '../governance/audit/checkpoint-key.ts';
import { databasePath } from '../governance/state/database.ts';
import { collect, writeOutFile } from './out-file.ts';
import { TesseraError } from '../protocol/errors.ts';
import { action, integerOption, printJson, printLine } from './run.ts';
import { DEFAULT_STATE, STATE_HELP, parseWith, withState } from './models.ts';

interface VerifyOptions {
  state: string;
  file?: string;
  publicKey?: string;
  anchor: string[];
  checkpointKey?: string;
  json?: boolean;
}

interface ExportOptions {
  state: string;
  out?: string;
  force?: boolean;
}

/** `audit verify|export|checkpoint` read an existing state; opening a missing one would create it, empty. */
function assertStateExists(state: string): void {
  if (!existsSync(databasePath(state))) {
    throw new TesseraError('TESSERA_ERR_STATE', `No state database at ${databasePath(state)} (nothing was created): check --state`);
  }
}

function readAnchors(files: readonly string[]): WitnessedCheckpoint[] {
  return files.flatMap((f) => {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch (cause) {
      throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `Cannot read the anchor ${f}: ${String(cause)}`, { cause });
    }
    return parseAnchors(text, f);
  });
}

interface ListOptions {
  state: string;
  action?: string;
  subject?: string;
  limit?: number;
  json?: boolean;
}

function report(r: AuditVerification | StateVerification, json: boolean | undefined): number {
  const extra = 'problems' in r ? { problems: r.problems, anchors: r.anchors } : {};
  if (json) printJson({ ok: r.ok, entries: r.entries, firstBadEntry: r.firstBadEntry, reason: r.reason, ...extra });
  else if (r.ok) printLine(`audit log intact: ${r.entries} entries, ${r.checkpoints} signed checkpoints${'anchors' in r && r.anchors ? `, consistent with ${r.anchors} witnessed checkpoint(s)` : ''}`);
  else {
    printLine(`audit log FAILED${r.firstBadEntry !== null ? ` at entry ${r.firstBadEntry}` : ''}: ${r.reason ?? ''}`);
    for (const p of 'problems' in r ? r.problems.filter((x) => x !== r.reason) : []) printLine(`  also: ${p}`);
  }
  return r.ok ? 0 : 1;
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('The hash-chained audit log: verify, export, list.');

  audit
    .command('verify')
    .description('Recompute the hash chain and checkpoint signatures; exit 1 and name the first bad entry if anything was changed, deleted or reordered.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .option('--file <jsonl>', 'verify an export (from `tessera audit export`) instead of the state database')
    .option('--public-key <file>', "pin the checkpoint key's public half (default: the configured checkpoint key; required with --file)")
    .option('--anchor <file>', 'a witnessed checkpoint (from `audit checkpoint --out`, a witness log, or the HTTP endpoint); repeatable', collect, [])
    .option('--checkpoint-key <file>', `the checkpoint key file to trust when --public-key is not given (default $TESSERA_CHECKPOINT_KEY, else <state>/keys/coordinator.key)`)
    .option('--json', 'print one JSON document: {"ok", "entries", "firstBadEntry", "reason", "problems", "anchors"}')
    .action(
      action(async (o: VerifyOptions) => {
        const trusted = o.publicKey !== undefined ? { trustedKey: readPublicKeyFile(o.publicKey) } : {};
        if (o.file !== undefined) {
          // Without a pinned key, whoever wrote the file chose the key that "verifies" it.
          if (o.publicKey === undefined) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', "--file needs --public-key: an export names its own checkpoint key, so only a key you obtained separately proves anything");
          let text: string;
          try {
            text = readFileSync(o.file, 'utf8');
          } catch (cause) {
            throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `Cannot read ${o.file}: ${String(cause)}`, { cause });
          }
          return report(verifyAuditJsonl(text, trusted), o.json);
        }
        assertStateExists(o.state);
        const anchors = readAnchors(o.anchor);
        if (o.publicKey === undefined) {
          const warning = checkpointKeyWarning(o.state, o.checkpointKey);
          if (warning) process.stderr.write(`${warning}\n`);
        }
        const keyFile = o.checkpointKey !== undefined ? { checkpointKeyFile: o.checkpointKey } : {};
        return withState(o.state, (db) => report(verifyAuditLog(db, { ...trusted, ...keyFile, anchors }), o.json));
      }),
    );

  audit
    .command('export')
    .description('Write the log (entries and signed checkpoints) as JSON Lines for external auditors.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .option('--out <file>', 'write to FILE (default: stdout; never overwrites without --force, never follows a link)')
    .option('--force', 'overwrite FILE')
    .action(
      action(async (o: ExportOptions) => {
        assertStateExists(o.state);
        return withState(o.state, (db) => {
          const text = exportAuditJsonl(db);
          if (o.out === undefined) return void process.stdout.write(text);
          writeOutFile(o.out, text, { force: o.force ?? false });
          process.stderr.write(`wrote ${text === '' ? 0 : text.trimEnd().split('\n').length} lines to ${o.out}\n`);
        });
      }),
    );

  audit
    .command('checkpoint')
    .description('Sign a checkpoint over the current head (sequence, head hash) and export it for a witness to keep outside the state directory.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .option('--out <file>', 'write the checkpoint to FILE (default: stdout; never overwrites without --force, never follows a link)')
    .option('--force', 'overwrite FILE')
    .option('--checkpoint-key <file>', 'the signing key (default $TESSERA_CHECKPOINT_KEY, else <state>/keys/coordinator.key, with a warning); created 0600 if absent')
    .option('--json', 'print the checkpoint as one JSON document on stdout even with --out')
    .action(
      action(async (o: { state: string; out?: string; force?: boolean; checkpointKey?: string; json?: boolean }) => {
        assertStateExists(o.state);
        const warning = checkpointKeyWarning(o.state, o.checkpointKey);
        if (warning) process.stderr.write(`${warning}\n`);
        return withState(o.state, (db) => {
          const c = checkpointAudit(db, new Date(), o.checkpointKey);
          if (c === undefined) throw new TesseraError('TESSERA_ERR_STATE', `The audit log in ${resolve(o.state)} is empty: nothing to checkpoint`);
          const key = loadCheckpointKey(o.state, o.checkpointKey);
          if (c.keyId !== key.keyId) process.stderr.write(`note: the head was already checkpointed with key ${c.keyId}, not the configured ${key.keyId}\n`);
          const text = `${JSON.stringify(toWitnessed(c), null, 2)}\n`;
          if (o.out === undefined || o.json) process.stdout.write(text);
          if (o.out !== undefined) {
            writeOutFile(o.out, text, { force: o.force ?? false });
            process.stderr.write(`wrote checkpoint of entry ${c.seq} (${c.hash.slice(0, 16)}…) to ${o.out}\n`);
          }
        });
      }),
    );

  audit
    .command('list')
    .description('Show audit entries, optionally for one action or subject.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .option('--action <action>', 'e.g. deployment, rollback, consent.revoked, round.committed')
    .option('--subject <subject>', 'a model version, organisation, job id …')
    .option('--limit <n>', 'at most N entries', parseWith(integerOption('--limit', 1)))
    .option('--json', 'print one JSON document: {"entries": [...]}')
    .action(
      action(async (o: ListOptions) =>
        withState(o.state, (db) => {
          const entries = readAuditEntries(db, { ...(o.action !== undefined ? { action: o.action } : {}), ...(o.subject !== undefined ? { subject: o.subject } : {}), ...(o.limit !== undefined ? { limit: o.limit } : {}) });
          if (o.json) return printJson({ entries });
          for (const e of entries) printLine(`${String(e.seq).padStart(6)}  ${e.time}  ${e.action.padEnd(18)}  ${e.actor.padEnd(20).slice(0, 32)}  ${e.subject}  ${JSON.stringify(e.details)}`);
        }),
      ),
    );
}
