/**
 * `tessera certs dev`: a local CA, the coordinator's TLS certificate and optional client certificates, for
 * trials of a federation over TLS (governance/identity/dev-certificates.ts). Production deployments use
 * certificates from the consortium's own CA.
 */
import type { Command } from 'commander';
import { makeDevCertificates } from '../governance/identity/dev-certificates.ts';
import { action, integerOption, printJson, printLine } from './run.ts';

interface DevOptions {
  out: string;
  host: string[];
  client?: string[];
  days: number;
  json?: boolean;
}

export function registerCerts(program: Command): void {
  const certs = program.command('certs').description('TLS certificates for the coordinator and, for mutual TLS, its clients.');
  certs
    .command('dev')
    .description('Make a local CA and certificates for trials: ca.pem, coordinator.pem/.key (for --tls-cert/--tls-key) and clients/<id>.pem/.key. Keys are 0600 in a 0700 directory; an existing CA is never overwritten.')
    .requiredOption('--out <dir>', 'directory to write the CA and certificates to')
    .option('--host <name...>', 'host names and IP addresses clients reach the coordinator at', ['localhost', '127.0.0.1'])
    .option('--client <id...>', 'client ids to issue client certificates for (mutual TLS)')
    .option('--days <n>', 'validity in days', integerOption('--days', 1, 3650), 30)
    .option('--json', 'print one JSON document with the file paths')
    .action(
      action((o: DevOptions) => {
        const made = makeDevCertificates({ outDir: o.out, hosts: o.host, clients: o.client ?? [], days: o.days });
        if (o.json) return printJson(made);
        printLine(`CA certificate      ${made.caCert}   (give it to clients: tessera client --ca)`);
        printLine(`coordinator         ${made.serverCert}, ${made.serverKey}   (tessera coordinator --tls-cert --tls-key)`);
        for (const c of made.clients) printLine(`client ${c.clientId.padEnd(12)} ${c.cert}, ${c.key}   (tessera client --tls-cert --tls-key)`);
      }),
    );
}
