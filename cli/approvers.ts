/**
 * `tessera approvers init|add|revoke|roles|sign|apply|list`: the trust registry of who may sign approvals.
 * Approvers are people with one or more keys; the registry is a chain of signed changes. `init` happens once
 * and is signed by the founding admin; every later change (add a key, revoke a key, change a person's roles)
 * needs signatures from the admin quorum of distinct people: give `--admin-key FILE` once per admin present,
 * or write the change with `--propose FILE`, let each admin `sign` it, then `apply` it.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { parseJsonStrict } from '../lib/canonical-json.ts';
import { readPrivateKeyFile, readPublicKeyFile } from '../governance/identity/key-file.ts';
import { KNOWN_ROLES, personIdOf, type Approver } from '../governance/identity/approvers.ts';
import { toBase64 } from '../governance/identity/ed25519.ts';
import { ADMIN_ROLE, founder, newAdminChange, signAdminChange, requiredAdminSignatures, type AdminChangeBody, type SignedAdminChange } from '../governance/identity/admin-changes.ts';
import { applyRegistryChange, readRegistry, unbackedApproverRows } from '../governance/identity/registry-store.ts';
import { revocationImpact } from '../governance/deploy/revocation.ts';
import { TesseraError } from '../protocol/errors.ts';
import { action, integerOption, printJson, printLine } from './run.ts';
import { DEFAULT_STATE, STATE_HELP, parseWith, withState } from './models.ts';
import { collect, writeOutFile } from './out-file.ts';

interface ChangeOptions {
  state: string;
  adminKey?: string[];
  propose?: string;
  force?: boolean;
  json?: boolean;
}

function line(a: Approver): string {
  const status = a.revokedAt === null ? 'active' : `REVOKED ${a.revokedAt} (${a.revokedReason ?? ''})`;
  return `${a.keyId}  ${a.person.padEnd(20).slice(0, 20)}  ${a.name.padEnd(24).slice(0, 24)}  ${a.roles.join(',').padEnd(36)}  ${status}`;
}

function readChange(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `Cannot read ${path}: ${String(cause)}`, { cause });
  }
  return parseJsonStrict(text, path);
}

function roleList(text: string): string[] {
  return [...new Set(text.split(',').map((r) => r.trim()).filter((r) => r !== ''))];
}

/** Builds a change bound to the registry head, signs it with each --admin-key, then applies it or writes it out. */
async function runChange(o: ChangeOptions, body: AdminChangeBody): Promise<number | void> {
  return withState(
    o.state,
    (db) => {
      const { registry } = readRegistry(db);
      let change: SignedAdminChange = newAdminChange(body, registry.head);
      for (const k of o.adminKey ?? []) change = signAdminChange(change, readPrivateKeyFile(k));
      if (o.propose !== undefined) {
        writeOutFile(o.propose, `${JSON.stringify(change, null, 2)}\n`, { force: o.force ?? false });
        printLine(`wrote the change to ${o.propose} with ${change.signatures.length} signature(s); ${requiredAdminSignatures(registry)} admin people must sign (tessera approvers sign ${o.propose} --key FILE), then: tessera approvers apply ${o.propose}`);
        return 0;
      }
      return report(db, o, change);
    },
    { checkpoint: true },
  );
}

function report(db: Parameters<typeof applyRegistryChange>[0], o: { json?: boolean }, change: unknown): number {
  const { result, signers } = applyRegistryChange(db, change);
  const c = (change as SignedAdminChange).payload.change;
  const impact = c.op === 'approver.revoke' ? revocationImpact(db, c.keyId, { actor: `admins:${signers.join('+')}` }) : null;
  if (o.json) {
    printJson({ op: c.op, signers, head: result.registry.head, approvers: result.registry.approvers, ...(impact ? { impact } : {}) });
    return 0;
  }
  printLine(`${c.op} recorded, signed by ${signers.join(', ')}; registry head ${result.registry.head.slice(0, 16)}…`);
  for (const d of impact ?? []) printLine(`  ${d.action === 'paused' ? 'PAUSED' : 'FLAGGED'} ${d.name} ${d.stage} ${d.version.slice(0, 12)}: ${d.reason}`);
  return 0;
}

function changeCommand(cmd: Command): Command {
  return cmd
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .option('--admin-key <file>', 'an admin private key that signs the change (repeat once per admin present)', collect, [])
    .option('--propose <file>', 'write the (partly) signed change to FILE for other admins to sign, instead of applying it')
    .option('--force', 'with --propose: overwrite FILE')
    .option('--json', 'print one JSON document');
}

export function registerApprovers(program: Command): void {
  const approvers = program.command('approvers').description('The trust registry: people, their keys and roles, changed only with admin-quorum signatures.');

  approvers
    .command('init')
    .description(`Bootstrap the registry once: the founding admin (role ${ADMIN_ROLE}) signs it; recorded in the audit log.`)
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .requiredOption('--name <name>', "the founding admin's name")
    .requiredOption('--key <file>', "the founding admin's private key (signs the init; only its public half is stored)")
    .option('--person <id>', 'person id (default: derived from the name)')
    .option('--roles <a,b>', `roles besides ${ADMIN_ROLE} (e.g. ${KNOWN_ROLES.join(', ')})`, '')
    .option('--admin-quorum <n>', 'distinct admin people who must sign each later change (capped by the number of admins)', parseWith(integerOption('--admin-quorum', 1)), 2)
    .option('--json', 'print one JSON document')
    .action(
      action(async (o: { state: string; name: string; key: string; person?: string; roles: string; adminQuorum: number; json?: boolean }) =>
        withState(
          o.state,
          (db) => {
            const key = readPrivateKeyFile(o.key);
            const body: AdminChangeBody = { op: 'init', admins: [founder(o.name, key.publicKey, roleList(o.roles), o.person)], adminQuorum: o.adminQuorum };
            return report(db, o, signAdminChange(newAdminChange(body, readRegistry(db).registry.head), key));
          },
          { checkpoint: true },
        ),
      ),
    );

  changeCommand(approvers.command('add'))
    .description('Add a key for a person (a new person, or another key of an existing one, who keeps their roles).')
    .requiredOption('--name <name>', "the approver's name, as it appears on model cards")
    .requiredOption('--public-key <file>', 'public key file written by `tessera keys generate` (FILE.pub)')
    .requiredOption('--roles <a,b>', 'comma-separated roles')
    .option('--person <id>', 'person id (default: derived from the name)')
    .action(
      action(async (o: ChangeOptions & { name: string; publicKey: string; roles: string; person?: string }) =>
        runChange(o, { op: 'approver.add', person: o.person ?? personIdOf(o.name), name: o.name.trim(), publicKey: toBase64(readPublicKeyFile(o.publicKey)), roles: roleList(o.roles) }),
      ),
    );

  changeCommand(approvers.command('revoke'))
    .argument('<keyId>', 'key id (see `tessera approvers list`)')
    .description('Revoke a key: its approvals stop counting at once; deployments that depended on it are paused or flagged.')
    .requiredOption('--reason <text>', 'why the key is revoked (signed and audited)')
    .action(action(async (keyId: string, o: ChangeOptions & { reason: string }) => runChange(o, { op: 'approver.revoke', keyId, reason: o.reason.trim() })));

  changeCommand(approvers.command('roles'))
    .argument('<person>', 'person id (see `tessera approvers list`)')
    .description("Replace a person's roles (all their keys).")
    .requiredOption('--roles <a,b>', 'comma-separated roles')
    .action(action(async (person: string, o: ChangeOptions & { roles: string }) => runChange(o, { op: 'approver.roles', person, roles: roleList(o.roles) })));

  approvers
    .command('sign')
    .argument('<file>', 'a change written with --propose')
    .description('Add your admin signature to a proposed change (rewrites FILE).')
    .requiredOption('--key <file>', 'your admin private key')
    .action(
      action(async (file: string, o: { key: string }) => {
        const change = signAdminChange(readChange(file) as SignedAdminChange, readPrivateKeyFile(o.key));
        writeOutFile(file, `${JSON.stringify(change, null, 2)}\n`, { force: true });
        printLine(`${file}: ${change.signatures.length} signature(s)`);
      }),
    );

  approvers
    .command('apply')
    .argument('<file>', 'a change signed by the admin quorum')
    .description('Verify and record a change signed elsewhere.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .option('--json', 'print one JSON document')
    .action(action(async (file: string, o: { state: string; json?: boolean }) => withState(o.state, (db) => report(db, o, readChange(file)), { checkpoint: true })));

  approvers
    .command('list')
    .description('List approvers (people, keys, roles, revocation) from the verified registry chain.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .option('--json', 'print one JSON document: {"approvers": [...], "problem", "unbacked"}')
    .action(
      action(async (o: { state: string; json?: boolean }) =>
        withState(o.state, (db) => {
          const { registry, problem } = readRegistry(db);
          const unbacked = unbackedApproverRows(db);
          if (o.json) return printJson({ initialised: registry.initialised, adminQuorum: registry.adminQuorum, approvers: registry.approvers, problem, unbacked });
          if (!registry.initialised) printLine('registry not initialised (run `tessera approvers init`)');
          for (const a of registry.approvers) printLine(line(a));
          if (problem) printLine(`REGISTRY CHAIN BROKEN: ${problem}`);
          for (const a of unbacked) printLine(`NOT BACKED BY THE SIGNED REGISTRY (ignored): ${line(a)}`);
          return problem || unbacked.length ? 1 : 0;
        }),
      ),
    );
}
