/**
 * `tessera tokens`: API tokens for the coordinator's operator API (governance/identity/operator-tokens.ts).
 * The token text is printed once, at creation; the state directory keeps only its SHA-256 hash.
 */
import type { Command } from 'commander';
import { TOKEN_ROLES, TokenRole, createOperatorToken, readTokenRecords, revokeOperatorToken } from '../governance/identity/operator-tokens.ts';
import { TesseraError } from '../protocol/errors.ts';
import { action, printJson, printLine } from './run.ts';

export function registerTokens(program: Command): void {
  const tokens = program.command('tokens').description(`API tokens, one role each: operator roles (viewer, operator, privacy-officer, auditor, ml-lead) predict, the serving credential, or reviewer, the human-review credential; stored hashed in <state>/operator-tokens.json.`);
  tokens
    .command('create')
    .description('Create a token and print it once: give it to the person or system as Authorization: Bearer <token>.')
    .requiredOption('--state <dir>', 'the coordinator state directory')
    .requiredOption('--name <name>', 'who or what holds the token')
    .requiredOption('--role <role>', `one of ${TOKEN_ROLES.join(', ')} (predict: may only call POST /v1/models/:name/predict and poll its held predictions; reviewer: may only review held predictions)`)
    .option('--json', 'print one JSON document: {"token", "id", "name", "role"}')
    .action(
      action((o: { state: string; name: string; role: string; json?: boolean }) => {
        const role = TokenRole.safeParse(o.role);
        if (!role.success) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--role must be one of ${TOKEN_ROLES.join(', ')}, got "${o.role}"`);
        const { token, record } = createOperatorToken(o.state, { name: o.name, role: role.data });
        if (o.json) return printJson({ token, id: record.id, name: record.name, role: record.role });
        printLine(`token ${token}`);
        printLine(`id ${record.id} (${record.role}, ${record.name}); the token is not stored and cannot be shown again`);
      }),
    );
  tokens
    .command('list')
    .description('List tokens (ids, names, roles, revocation; never the tokens).')
    .requiredOption('--state <dir>', 'the coordinator state directory')
    .option('--json', 'print one JSON document')
    .action(
      action((o: { state: string; json?: boolean }) => {
        const list = readTokenRecords(o.state).map(({ sha256: _hash, ...t }) => t);
        if (o.json) return printJson({ tokens: list });
        for (const t of list) printLine(`${t.id}  ${t.role.padEnd(15)} ${t.name}${t.revokedAt ? `  (revoked ${t.revokedAt})` : ''}`);
      }),
    );
  tokens
    .command('revoke')
    .description('Revoke a token: the coordinator refuses it from the next request on.')
    .requiredOption('--state <dir>', 'the coordinator state directory')
    .requiredOption('--id <id>', 'the token id (tessera tokens list)')
    .action(
      action((o: { state: string; id: string }) => {
        const t = revokeOperatorToken(o.state, o.id);
        printLine(`revoked ${t.id} (${t.role}, ${t.name})`);
      }),
    );
}
