/** `tessera consent grant|revoke|list`: what each organisation allows its data to be used for. */
import type { Command } from 'commander';
import { grantConsent, listConsents, revokeConsent } from '../governance/consent/store.ts';
import type { ConsentRecord } from '../governance/consent/terms.ts';
import { action, integerOption, numberOption, printJson, printLine } from './run.ts';
import { DEFAULT_STATE, STATE_HELP, cliActor, parseWith, withState } from './models.ts';

interface GrantOptions {
  state: string;
  org: string;
  dataset: string;
  purposes: string;
  expires: string;
  maxEpsilon: number;
  retention: number;
  json?: boolean;
}

interface RevokeOptions {
  state: string;
  org: string;
  dataset?: string;
  reason: string;
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
    .command('grant')
    .description('Record (or replace) an organisation\'s consent for a data set.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .requiredOption('--org <id>', 'organisation id (as its clients register)')
    .requiredOption('--dataset <name>', "data set name (a job's data.dataset, e.g. heart)")
    .requiredOption('--purposes <a,b>', 'comma-separated purposes allowed (a job\'s purpose must be one of them)')
    .requiredOption('--expires <date>', 'end of the consent: ISO date or date-time (exclusive)')
    .requiredOption('--max-epsilon <e>', 'largest job ε the organisation accepts', parseWith(numberOption('--max-epsilon', 0)))
    .requiredOption('--retention <days>', 'days records derived from the contribution may be kept', parseWith(integerOption('--retention', 0)))
    .option('--json', 'print the record as one JSON document')
    .action(
      action(async (o: GrantOptions) =>
        withState(
          o.state,
          (db) => {
            const c = grantConsent(db, { organisation: o.org, dataset: o.dataset, purposes: o.purposes.split(','), expiresAt: o.expires, maxEpsilon: o.maxEpsilon, retentionDays: o.retention, actor: cliActor() });
            if (o.json) return printJson(c);
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
    .option('--json', 'print one JSON document: {"revoked": [...]}')
    .action(
      action(async (o: RevokeOptions) =>
        withState(
          o.state,
          (db) => {
            const revoked = revokeConsent(db, { organisation: o.org, reason: o.reason, actor: cliActor(), ...(o.dataset !== undefined ? { dataset: o.dataset } : {}) });
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
