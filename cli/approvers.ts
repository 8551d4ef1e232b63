/** `tessera approvers add|revoke|list`: the trust registry of who may sign approvals, for which roles. */
import type { Command } from 'commander';
import { readPublicKeyFile } from '../governance/identity/key-file.ts';
import { KNOWN_ROLES, addApprover, listApprovers, revokeApprover, type Approver } from '../governance/identity/approvers.ts';
import { action, printJson, printLine } from './run.ts';
import { DEFAULT_STATE, STATE_HELP, cliActor, withState } from './models.ts';

interface AddOptions {
  state: string;
  name: string;
  publicKey: string;
  roles: string;
  json?: boolean;
}

interface RevokeOptions {
  state: string;
  reason: string;
  json?: boolean;
}

interface ListOptions {
  state: string;
  json?: boolean;
}

function line(a: Approver): string {
  const status = a.revokedAt === null ? 'active' : `REVOKED ${a.revokedAt} (${a.revokedReason ?? ''})`;
  return `${a.keyId}  ${a.name.padEnd(24).slice(0, 24)}  ${a.roles.join(',').padEnd(36)}  ${status}`;
}

export function registerApprovers(program: Command): void {
  const approvers = program.command('approvers').description('The trust registry of approvers (public keys, names, roles, revocation).');

  approvers
    .command('add')
    .description(`Register an approver's public key with roles (e.g. ${KNOWN_ROLES.join(', ')}).`)
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .requiredOption('--name <name>', "the approver's name, as it appears on model cards")
    .requiredOption('--public-key <file>', 'public key file written by `tessera keys generate` (FILE.pub)')
    .requiredOption('--roles <a,b>', 'comma-separated roles')
    .option('--json', 'print the registered approver as one JSON document')
    .action(
      action(async (o: AddOptions) =>
        withState(
          o.state,
          (db) => {
            const a = addApprover(db, { name: o.name, publicKey: readPublicKeyFile(o.publicKey), roles: o.roles.split(','), actor: cliActor() });
            if (o.json) return printJson(a);
            printLine(`registered ${a.name} with key ${a.keyId} for roles ${a.roles.join(', ')}`);
          },
          { checkpoint: true },
        ),
      ),
    );

  approvers
    .command('revoke')
    .argument('<keyId>', 'key id of the approver (see `tessera approvers list`)')
    .description('Revoke a key: its approvals stop counting at once, including ones already recorded.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .requiredOption('--reason <text>', 'why the key is revoked (recorded and audited)')
    .option('--json', 'print the revoked approver as one JSON document')
    .action(
      action(async (keyId: string, o: RevokeOptions) =>
        withState(
          o.state,
          (db) => {
            const a = revokeApprover(db, keyId, { reason: o.reason, actor: cliActor() });
            if (o.json) return printJson(a);
            printLine(`revoked ${a.name}'s key ${a.keyId} at ${a.revokedAt ?? ''}`);
          },
          { checkpoint: true },
        ),
      ),
    );

  approvers
    .command('list')
    .description('List approvers, their roles and whether their keys are revoked.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .option('--json', 'print one JSON document: {"approvers": [...]}')
    .action(
      action(async (o: ListOptions) =>
        withState(o.state, (db) => {
          const all = listApprovers(db);
          if (o.json) return printJson({ approvers: all });
          if (all.length === 0) return printLine('no approvers registered');
          for (const a of all) printLine(line(a));
        }),
      ),
    );
}
