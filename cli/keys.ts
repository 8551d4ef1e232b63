/** `tessera keys generate`: an Ed25519 identity for signing approvals (tweetnacl-compatible seed). */
import type { Command } from 'commander';
import { generateKeyFile } from '../governance/identity/key-file.ts';
import { toBase64 } from '../governance/identity/ed25519.ts';
import { action, printJson, printLine } from './run.ts';

interface GenerateOptions {
  out: string;
  json?: boolean;
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('Ed25519 signing keys for approvers.');
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
        printLine('Give the .pub file to your registry administrator: tessera approvers add --name NAME --public-key FILE.pub --roles ROLE');
      }),
    );
}
