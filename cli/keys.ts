/**
 * `tessera keys generate`: an Ed25519 identity (tweetnacl-compatible seed) for signing approvals or for a
 * client's secure-aggregation identity; `tessera keys roster`: the consortium's secure-aggregation roster.
 */
import type { Command } from 'commander';
import { generateKeyFile, readPublicKeyFile } from '../governance/identity/key-file.ts';
import { clientRoster, clientRosterDocument } from '../governance/identity/client-roster.ts';
import { toBase64 } from '../governance/identity/ed25519.ts';
import { writeSecAggRoster } from '../governance/identity/secagg-roster.ts';
import { TesseraError } from '../protocol/errors.ts';
import { action, printJson, printLine } from './run.ts';

interface GenerateOptions {
  out: string;
  json?: boolean;
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('Ed25519 keys: approvers\' signing keys and clients\' secure-aggregation identities.');
  keys
    .command('generate')
    .description('Generate a key pair: the private key in FILE (created with mode 0600, never overwritten) and the public key in FILE.pub.')
    .requiredOption('--out <file>', 'where to write the private key (the public key goes to FILE.pub)')
    .option('--state <dir>', 'accepted like every governance command; keys are written only where --out says')
    .option('--json', 'print one JSON document: {"keyId", "publicKey", "privateKeyFile", "publicKeyFile"}')
    .action(
      action((o: GenerateOptions) => {
        const pair = generateKeyFile(o.out);
        const out = { keyId: pair.keyId, publicKey: toBase64(pair.publicKey), privateKeyFile: o.out, publicKeyFile: `${o.out}.pub` };
        if (o.json) return printJson(out);
        printLine(`key id      ${out.keyId}`);
        printLine(`public key  ${out.publicKey}`);
        printLine(`private key written to ${out.privateKeyFile} (mode 0600); public key to ${out.publicKeyFile}`);
        printLine('Give the .pub file to your registry administrators; they enrol it with their signatures: tessera approvers add --name NAME --public-key FILE.pub --roles ROLE --admin-key ADMIN.key (docs/governance-integrity.md)');
      }),
    );
  keys
    .command('roster')
    .description(
      "Build the consortium roster from each client's public key file and organisation: the coordinator admits exactly these clients (each proves its key when it connects) and secure aggregation uses the same keys. Distribute it out of band: every client node reads its own copy (tessera client --roster), the coordinator reads --roster FILE or <state>/secagg-identities.json.",
    )
    .requiredOption('--out <file>', 'where to write the roster (never overwritten)')
    .requiredOption('--client <id=file.pub...>', 'a client id and its public key file; repeat for every client')
    .requiredOption('--org <id=org...>', 'a client id and the organisation it speaks for; one for every --client')
    .option('--json', 'print one JSON document: {"rosterFile", "clients"}')
    .action(
      action((o: { out: string; client: string[]; org: string[]; json?: boolean }) => {
        const pairs = (values: string[], flag: string, right: string) =>
          new Map(
            values.map((c) => {
              const eq = c.indexOf('=');
              if (eq <= 0 || eq === c.length - 1) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `${flag} must be CLIENT_ID=${right}, got "${c}"`);
              return [c.slice(0, eq), c.slice(eq + 1)] as const;
            }),
          );
        const files = pairs(o.client, '--client', 'PUBLIC_KEY_FILE');
        const orgs = pairs(o.org, '--org', 'ORGANISATION');
        if (files.size !== o.client.length || orgs.size !== o.org.length) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'a client id is named twice in --client or --org');
        for (const id of orgs.keys()) if (!files.has(id)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--org names ${id}, which no --client lists`);
        const entries = [...files].map(([clientId, publicKeyFile]) => {
          const orgId = orgs.get(clientId);
          if (orgId === undefined) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--client ${clientId} has no --org ${clientId}=ORGANISATION: the coordinator takes a client's organisation from the roster only`);
          return { clientId, orgId, publicKey: readPublicKeyFile(publicKeyFile) };
        });
        const document = clientRosterDocument(entries);
        clientRoster(document); // the same checks the coordinator applies (ids, duplicates) before anything is written
        writeSecAggRoster(o.out, document);
        if (o.json) return printJson({ rosterFile: o.out, clients: entries.map((e) => e.clientId) });
        printLine(`roster of ${entries.length} client(s) written to ${o.out}`);
      }),
    );
}
