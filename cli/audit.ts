/**
 * `tessera audit verify|export|list`: the tamper-evident audit log for auditors. `verify` recomputes the hash
 * chain and checkpoint signatures (from the state database, or from an exported JSONL file) and names the
 * first entry that fails; `export` writes JSONL an external auditor can verify.
 */
import type { Command } from 'commander';
import { readFileSync, writeFileSync } from 'node:fs';
import { readPublicKeyFile } from '../governance/identity/key-file.ts';
import { readAuditEntries } from '../governance/audit/log.ts';
import { exportAuditJsonl, verifyAuditJsonl, verifyAuditLog } from '../governance/audit/verify.ts';
import type { AuditVerification } from '../governance/audit/chain.ts';
import { TesseraError } from '../protocol/errors.ts';
import { action, integerOption, printJson, printLine } from './run.ts';
import { DEFAULT_STATE, STATE_HELP, parseWith, withState } from './models.ts';

interface VerifyOptions {
  state: string;
  file?: string;
  publicKey?: string;
  json?: boolean;
}

interface ExportOptions {
  state: string;
  out?: string;
}

interface ListOptions {
  state: string;
  action?: string;
  subject?: string;
  limit?: number;
  json?: boolean;
}

function report(r: AuditVerification, json: boolean | undefined): number {
  if (json) printJson({ ok: r.ok, entries: r.entries, firstBadEntry: r.firstBadEntry, reason: r.reason });
  else if (r.ok) printLine(`audit log intact: ${r.entries} entries, ${r.checkpoints} signed checkpoints`);
  else printLine(`audit log FAILED at entry ${r.firstBadEntry ?? '?'}: ${r.reason ?? ''}`);
  return r.ok ? 0 : 1;
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('The hash-chained audit log: verify, export, list.');

  audit
    .command('verify')
    .description('Recompute the hash chain and checkpoint signatures; exit 1 and name the first bad entry if anything was changed, deleted or reordered.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .option('--file <jsonl>', 'verify an export (from `tessera audit export`) instead of the state database')
    .option('--public-key <file>', "pin the coordinator's public key (default: the key in the state dir; with --file: the key each checkpoint names)")
    .option('--json', 'print one JSON document: {"ok", "entries", "firstBadEntry", "reason"}')
    .action(
      action(async (o: VerifyOptions) => {
        const trusted = o.publicKey !== undefined ? { trustedKey: readPublicKeyFile(o.publicKey) } : {};
        if (o.file !== undefined) {
          let text: string;
          try {
            text = readFileSync(o.file, 'utf8');
          } catch (cause) {
            throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `Cannot read ${o.file}: ${String(cause)}`, { cause });
          }
          return report(verifyAuditJsonl(text, trusted), o.json);
        }
        return withState(o.state, (db) => report(verifyAuditLog(db, trusted), o.json));
      }),
    );

  audit
    .command('export')
    .description('Write the log (entries and signed checkpoints) as JSON Lines for external auditors.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .option('--out <file>', 'write to FILE (default: stdout)')
    .action(
      action(async (o: ExportOptions) =>
        withState(o.state, (db) => {
          const text = exportAuditJsonl(db);
          if (o.out === undefined) return void process.stdout.write(text);
          writeFileSync(o.out, text);
          process.stderr.write(`wrote ${text === '' ? 0 : text.trimEnd().split('\n').length} lines to ${o.out}\n`);
        }),
      ),
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
