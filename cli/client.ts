/**
 * `tessera client`: the client node an organisation runs next to its data. It reads the local file through
 * the data set's built-in data contract (or `--contract FILE`), connects to the coordinator over socket.io,
 * answers training and evaluation tasks with updates and counts only, and runs until SIGINT — reconnecting by
 * itself when the coordinator restarts. With `--consent FILE` it declines every job its local consent does
 * not cover (purpose, data set, expiry, ε), whatever the coordinator decided. It runs under the organisation's
 * policy (`--policy FILE`, else the strict default: docs/client-policy.md) and keeps its participation record
 * under `--state DIR` (else in memory, with a warning). Each job's evaluation runs on a held-out share of the rows
 * (the job's `fairness.heldOutFraction`, drawn from the job seed and the client id) that never trains; with
 * `--no-holdout` every row trains and evaluation tasks are declined (TESSERA_ERR_NO_HELD_OUT), never answered from
 * training rows.
 */
import type { Command } from 'commander';
import { TesseraError, describeZodIssues } from '../protocol/errors.ts';
import { createLogger } from '../lib/logger.ts';
import { action, printLine, readJsonFile } from './run.ts';
import { TrainingTurns } from '../client/training-turns.ts';

interface ClientOptions {
  coordinator: string;
  org: string;
  data: string;
  dataset?: string;
  contract?: string;
  consent?: string;
  clientId?: string;
  /** false with --no-holdout; true or absent (commander leaves it unset when both flags are declared) keeps the split. */
  holdout?: boolean;
  identity?: string;
  roster?: string;
  policy?: string;
  state?: string;
  ca?: string;
  tlsCert?: string;
  tlsKey?: string;
}

const ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export function registerClient(program: Command): void {
  program
    .command('client')
    .description("Run a client node on this organisation's data: connect to the coordinator and take part in its jobs until SIGINT.")
    .requiredOption('--coordinator <url>', 'coordinator URL, e.g. http://coordinator.example:8740')
    .requiredOption('--org <id>', 'organisation id (what consent records and the audit log name)')
    .requiredOption('--data <file>', 'local data file, read through the data contract')
    .option('--dataset <name>', 'built-in data set whose contract reads the file: adult | heart')
    .option('--contract <file>', 'data contract JSON to read and check the file with (instead of a built-in one)')
    .option('--consent <file>', 'local consent JSON: decline jobs it does not cover ({"organisation", "consents": [...]})')
    .option('--client-id <id>', 'client id (default: <org>-client)')
    .option('--holdout', "keep each job's held-out split for federated evaluation (the default): fairness.heldOutFraction of the rows (default 0.2), drawn from the job seed and client id, never trained on")
    .option('--no-holdout', 'train on every row; evaluation tasks are then declined (TESSERA_ERR_NO_HELD_OUT) rather than answered from training rows')
    .option('--identity <keyfile>', "this organisation's Ed25519 key file (tessera keys generate; mode 0600): proves the client to the coordinator, whose roster lists its public key, and signs in secure aggregation. Required")
    .option('--roster <file>', "this organisation's copy of the secure-aggregation identity roster (client id → public key)")
    .option('--policy <file>', "this organisation's client policy JSON (version 1; see `tessera policy show`); default: the strict default policy")
    .option('--state <dir>', "this client's own state directory: its participation record (default: kept in memory, forgotten on restart)")
    .option('--ca <file>', "PEM CA certificate to verify an https:// coordinator with (tessera certs dev writes ca.pem)")
    .option('--tls-cert <file>', 'PEM client certificate for a coordinator that requires mutual TLS (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .action(
      action(async (o: ClientOptions) => {
        if (!ID.test(o.org)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--org must be letters, digits, '.', '_', ':' or '-' (at most 64), got "${o.org}"`);
        const clientId = o.clientId ?? `${o.org}-client`;
        const holdout = o.holdout !== false;
        if (!ID.test(clientId)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--client-id must be letters, digits, '.', '_', ':' or '-' (at most 64), got "${clientId}"`);
        if (o.dataset === undefined && o.contract === undefined) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'give --dataset adult|heart (its built-in contract) or --contract FILE');
        if (o.identity === undefined) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'give --identity KEYFILE: the coordinator admits only clients that prove the key its roster lists (tessera keys generate)');
        if ((o.tlsCert === undefined) !== (o.tlsKey === undefined)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'mutual TLS needs both --tls-cert and --tls-key');
        let url: URL;
        try {
          url = new URL(o.coordinator);
        } catch {
          throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--coordinator is not a URL: "${o.coordinator}"`);
        }
        // Loaded on use, so other commands do not pay for TensorFlow.js and socket.io.
        const { loadContract, readExamples } = await import('../governance/contract/load.ts');
        const { loadBuiltinContract } = await import('../datasets/contracts/index.ts');
        const { LocalConsentFile } = await import('../governance/consent/local-consent.ts');
        const { declineEvaluationMod, heldOutSplitForJob } = await import('../client/held-out-split.ts');
        const { SecureAggregation } = await import('../client/secure-aggregation.ts');
        const { readSecAggRoster, secAggIdentityFromKeyFile } = await import('../governance/identity/secagg-roster.ts');
        const { standardClientMods } = await import('../client/mods/index.ts');
        const { ClientNode } = await import('../client/node.ts');
        const { socketIoClientTransport } = await import('../client/transport/socketio-client.ts');
        const { initBackend } = await import('../ml/backend.ts');
        const { PROTOCOL_VERSION } = await import('../protocol/version.ts');
        const { loadClientPolicy } = await import('../client/policy/load.ts');
        const { secAggClientPolicy } = await import('../client/policy/schema.ts');
        const { fileParticipationRecord, memoryParticipationRecord } = await import('../client/policy/participation.ts');

        const policy = loadClientPolicy(o.policy);
        const record = o.state !== undefined ? fileParticipationRecord(o.state) : memoryParticipationRecord();

        const contract = o.contract !== undefined ? loadContract(o.contract) : loadBuiltinContract(o.dataset ?? '');
        let consent: unknown;
        if (o.consent !== undefined) {
          consent = readJsonFile(o.consent, 'consent file');
          const parsed = LocalConsentFile.safeParse(consent);
          if (!parsed.success) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `consent file ${o.consent} is invalid: ${describeZodIssues(parsed.error.issues)}`);
          if (parsed.data.organisation !== o.org) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `consent file ${o.consent} is for organisation "${parsed.data.organisation}", not --org ${o.org}`);
        }
        const logger = createLogger();
        const { examples, rejected, table } = readExamples(contract, o.data);
        if (rejected.length > 0) logger.warn({ rejected: rejected.length }, `${rejected.length} row(s) break contract ${contract.name} and are not used (the contract check reports them to the coordinator as counts)`);
        // The held-out split depends on the job (its seed, fraction and sensitive attributes): derived per job.
        const data = holdout ? (job: Parameters<typeof heldOutSplitForJob>[1]) => heldOutSplitForJob(examples, job, clientId) : { train: examples };
        const { readPrivateKeyFile } = await import('../governance/identity/key-file.ts');
        const { readFileSync } = await import('node:fs');
        const identity = readPrivateKeyFile(o.identity);
        const pem = (path: string | undefined, what: string): string | undefined => {
          if (path === undefined) return undefined;
          try {
            return readFileSync(path, 'utf8');
          } catch (cause) {
            throw new TesseraError('TESSERA_ERR_FILE_UNREADABLE', `cannot read the ${what} ${path}: ${String(cause)}`, { cause });
          }
        };
        const [ca, cert, key] = [pem(o.ca, '--ca certificate'), pem(o.tlsCert, '--tls-cert certificate'), pem(o.tlsKey, '--tls-key key')];
        const tls = { ...(ca !== undefined ? { ca } : {}), ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) };
        // The organisation's secure-aggregation floors go to the SecAgg client, which enforces them at setup.
        // Round ids go to the participation record (under --state: durable), so a replayed round is refused after a restart too.
        const secureOptions = o.roster !== undefined ? { clientId, identity: secAggIdentityFromKeyFile(o.identity), resolveIdentity: readSecAggRoster(o.roster), logger, policy: secAggClientPolicy(policy), roundIds: record } : undefined;
        const secure = secureOptions ? new SecureAggregation(secureOptions) : undefined;
        const backend = await initBackend();
        logger.info({ backend: backend.name, examples: examples.n, holdout, secureAggregation: secure !== undefined }, 'TensorFlow.js backend; local data read');
        logger.info({ policy: policy.source, participationRecord: record.location }, 'client policy in force');
        if (policy.secagg.required && secure === undefined) logger.warn({ code: 'TESSERA_ERR_POLICY_SECAGG_REQUIRED' }, 'the client policy requires secure aggregation but no --identity/--roster was given: every task will be declined');
        if (o.state === undefined) logger.warn({ code: 'TESSERA_ERR_POLICY_RECORD' }, 'no --state: the participation record is kept in memory and forgotten on restart (the once-per-round and cumulative-ε rules then hold only for this process)');
        // Without a held-out split, evaluation tasks are declined before any work (a mod, first in line).
        const mods = [...(holdout ? [] : [declineEvaluationMod()]), ...standardClientMods({ policy, record, contract, table, ...(consent !== undefined ? { consent } : {}) })];
        const transport = socketIoClientTransport({
          url: url.toString().replace(/\/$/, ''),
          // The exact example count is sent only when the policy opts in (disclose.exampleCount).
          handshake: { protocolVersion: PROTOCOL_VERSION, clientId, orgId: o.org, ...(policy.disclose.exampleCount ? { examples: examples.n } : {}), dataset: (o.dataset ?? contract.name).slice(0, 64) },
          identity,
          ...(Object.keys(tls).length > 0 ? { tls } : {}),
        });
        let refused: { code: string; message: string } | undefined;
        const nodes: Array<{ close(): void }> = [];
        const done = new Promise<void>((resolve) => {
          process.once('SIGINT', () => resolve());
          process.once('SIGTERM', () => resolve());
          const node = new ClientNode(
            { clientId, orgId: o.org, transport, data, mods, logger, disclosure: policy.disclose, turns: new TrainingTurns(), ...(secure ? { secure } : {}) },
            {
              onRefused(code, message) {
                refused = { code, message };
                resolve();
              },
            },
          );
          nodes.push(node);
        });
        const evaluation = holdout ? "evaluating on each job's held-out split (fairness.heldOutFraction of the rows, never trained on)" : 'training on every row and declining evaluation (--no-holdout)';
        printLine(`client ${clientId} (${o.org}) connecting to ${url.origin} with ${examples.n} rows${secure ? ', secure aggregation ready' : ''}; ${evaluation}; policy: ${policy.source}; Ctrl-C to stop`);
        await done;
        for (const n of nodes) n.close();
        if (refused) {
          process.stderr.write(`error [${refused.code}]: the coordinator refused this client: ${refused.message}\n`);
          return 1;
        }
        return 0;
      }),
    );
}
