/**
 * `tessera consent sign|record|grant|revoke|list`: what each organisation allows its data to be used for.
 * An organisation signs its consent with its roster key (`sign`); the operator records the signed file
 * (`record --roster`), which a coordinator accepts. `grant` enters unsigned terms, which count only in
 * simulations: a coordinator with a consortium roster excludes them (CONSENT_UNSIGNED, issue 12 §6).
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { grantConsent, listConsents, recordSignedConsent, revokeConsent } from '../governance/consent/store.ts';
import { signConsent } from '../governance/consent/signed.ts';
import { readClientRoster } from '../governance/identity/client-roster.ts';
import { readPrivateKeyFile } from '../governance/identity/key-file.ts';
import { parseJsonStrict } from '../lib/canonical-json.ts';
import { writeOutFile } from './out-file.ts';
import type { ConsentRecord } from '../governance/consent/terms.ts';
import { action, integerOption, numberOption, printJson, printLine } from './run.ts';
import { DEFAULT_STATE, KEY_HELP, STATE_HELP, parseWith, withState } from './models.ts';
import { attributeTo } from '../governance/audit/attribution.ts';

interface GrantOptions {
  state: string;
  org: string;
  dataset: string;
  purposes: string;
  expires: string;
  maxEpsilon: number;
  retention: number;
  key?: string;
  json?: boolean;
}

interface RevokeOptions {
  state: string;
  org: string;
  dataset?: string;
  reason: string;
  key?: string;
  json?: boolean;
}

interface ListOptions {
  state: string;
  org?: string;
  json?: boolean;
}

function status(c: ConsentRecord, now: Date): string {
  if (c.revokedAt !== null && Date.parse(c.revokedAt) <= now.getTime()) return `revoked ${c.revokedAt}`;
  if (Date.parse(c.expiresAt) <= now.getTime()) return `expired ${c.expiresAt}`;
  return 'in force';
}

export function registerConsent(program: Command): void {
  const consent = program.command('consent').description('Consent records per organisation and data set (purposes, expiry, maximum ε, retention).');

  consent
    .command('sign')
    .description("For an organisation: sign its consent terms with its roster key (the key its client proves when it connects).")
    .requiredOption('--org <id>', 'your organisation id (as in the consortium roster)')
    .requiredOption('--client <id>', "your client id in the roster (whose key is --key)")
    .requiredOption('--key <file>', 'your private key file (tessera keys generate)')
    .requiredOption('--dataset <name>', "data set name (a job's data.dataset, e.g. heart)")
    .requiredOption('--purposes <a,b>', "comma-separated purposes allowed (a job's purpose must be one of them)")
    .requiredOption('--expires <date>', 'end of the consent: ISO date or date-time (exclusive; recorded in UTC)')
    .requiredOption('--max-epsilon <e>', 'largest job ε the organisation accepts', parseWith(numberOption('--max-epsilon', 0)))
    .requiredOption('--retention <days>', 'days records derived from the contribution may be kept', parseWith(integerOption('--retention', 0)))
    .requiredOption('--out <file>', 'write the signed record here (never overwrites without --force, never follows a link)')
    .option('--force', 'overwrite --out')
    .action(
      action(async (o: { org: string; client: string; key: string; dataset: string; purposes: string; expires: string; maxEpsilon: number; retention: number; out: string; force?: boolean }) => {
        const signed = signConsent(
          { organisation: o.org, clientId: o.client, dataset: o.dataset, purposes: o.purposes.split(','), expiresAt: o.expires, maxEpsilon: o.maxEpsilon, retentionDays: o.retention },
          readPrivateKeyFile(o.key),
        );
        writeOutFile(o.out, `${JSON.stringify(signed, null, 2)}\n`, { force: o.force ?? false });
        printLine(`signed consent of ${o.org} for ${o.dataset} (${signed.payload.purposes.join(', ')}) until ${signed.payload.expiresAt}, ε ≤ ${o.maxEpsilon}: ${o.out}`);
      }),
    );

  consent
    .command('record')
    .description("For the operator: record an organisation's signed consent after verifying it against the consortium roster.")
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .requiredOption('--file <signed.json>', 'the signed record (tessera consent sign)')
    .requiredOption('--roster <file>', 'the consortium roster the coordinator admits clients by (tessera keys roster)')
    .option('--key <file>', KEY_HELP)
    .option('--json', 'print the record as one JSON document')
    .action(
      action(async (o: { state: string; file: string; roster: string; key?: string; json?: boolean }) =>
        withState(
          o.state,
          (db) => {
            const who = attributeTo(db, o.key, 'consent record', 'privacy-officer');
            const raw = parseJsonStrict(readFileSync(o.file, 'utf8'), o.file);
            const c = recordSignedConsent(db, raw, { roster: readClientRoster(o.roster), actor: who.actor, attest: who.attest });
            if (o.json) return printJson(c);
            printLine(`signed consent recorded: ${c.organisation} / ${c.dataset} for ${c.purposes.join(', ')} until ${c.expiresAt}, ε ≤ ${c.maxEpsilon}, retention ${c.retentionDays} days`);
          },
          { checkpoint: true },
        ),
      ),
    );

  consent
    .command('grant')
    .description("Enter an organisation's consent unsigned (simulations only: a coordinator with a roster counts signed consent only; see `consent record`).")
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .requiredOption('--org <id>', 'organisation id (as its clients register)')
    .requiredOption('--dataset <name>', "data set name (a job's data.dataset, e.g. heart)")
    .requiredOption('--purposes <a,b>', 'comma-separated purposes allowed (a job\'s purpose must be one of them)')
    .requiredOption('--expires <date>', 'end of the consent: ISO date or date-time (exclusive)')
    .requiredOption('--max-epsilon <e>', 'largest job ε the organisation accepts', parseWith(numberOption('--max-epsilon', 0)))
    .requiredOption('--retention <days>', 'days records derived from the contribution may be kept', parseWith(integerOption('--retention', 0)))
    .option('--key <file>', KEY_HELP)
    .option('--json', 'print the record as one JSON document')
    .action(
      action(async (o: GrantOptions) =>
        withState(
          o.state,
          (db) => {
            const who = attributeTo(db, o.key, 'consent grant', 'privacy-officer');
            const c = grantConsent(db, { organisation: o.org, dataset: o.dataset, purposes: o.purposes.split(','), expiresAt: o.expires, maxEpsilon: o.maxEpsilon, retentionDays: o.retention, actor: who.actor, attest: who.attest });
            if (o.json) return printJson(c);
            process.stderr.write('note: unsigned consent counts in simulations only; a coordinator with a roster needs `tessera consent record` of a record the organisation signed\n');
            printLine(`consent recorded: ${c.organisation} / ${c.dataset} for ${c.purposes.join(', ')} until ${c.expiresAt}, ε ≤ ${c.maxEpsilon}, retention ${c.retentionDays} days`);
          },
          { checkpoint: true },
        ),
      ),
    );

  consent
    .command('revoke')
    .description('Revoke an organisation\'s consent (one data set or all); it is not sampled from the next round on.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .requiredOption('--org <id>', 'organisation id')
    .option('--dataset <name>', 'only this data set (default: all of the organisation\'s consents)')
    .requiredOption('--reason <text>', 'why (recorded in the audit log)')
    .option('--key <file>', KEY_HELP)
    .option('--json', 'print one JSON document: {"revoked": [...]}')
    .action(
      action(async (o: RevokeOptions) =>
        withState(
          o.state,
          (db) => {
            const who = attributeTo(db, o.key, 'consent revoke', 'privacy-officer');
            const revoked = revokeConsent(db, { organisation: o.org, reason: o.reason, actor: who.actor, attest: who.attest, ...(o.dataset !== undefined ? { dataset: o.dataset } : {}) });
            if (o.json) return printJson({ revoked });
            for (const c of revoked) printLine(`revoked: ${c.organisation} / ${c.dataset} at ${c.revokedAt ?? ''}`);
          },
          { checkpoint: true },
        ),
      ),
    );

  consent
    .command('list')
    .description('List the current consent of each organisation and data set, and whether it is in force.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .option('--org <id>', 'only this organisation')
    .option('--json', 'print one JSON document: {"consents": [...]}')
    .action(
      action(async (o: ListOptions) =>
        withState(o.state, (db) => {
          const now = new Date();
          const all = listConsents(db, o.org !== undefined ? { organisation: o.org } : {});
          if (o.json) return printJson({ consents: all.map((c) => ({ ...c, status: status(c, now) })) });
          if (all.length === 0) return printLine('no consent records');
          for (const c of all) printLine(`${c.organisation.padEnd(16)}  ${c.dataset.padEnd(10)}  ${c.purposes.join(',').padEnd(30)}  ε ≤ ${String(c.maxEpsilon).padEnd(5)}  until ${c.expiresAt}  retention ${c.retentionDays}d  ${status(c, now)}`);
        }),
      ),
    );
}
