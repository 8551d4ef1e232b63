/**
 * `tessera coordinator`: the coordinator service (issue 15). It listens for clients and hosts jobs submitted over
 * its API (`tessera jobs submit`), running them one after another; `--job FILE` submits one job at start and
 * exits when it ends (unless --serve) — the way a single job always ran.
 */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { createLogger } from '../lib/logger.ts';
import { ERROR_CODES, TesseraError, type ErrorCode } from '../protocol/errors.ts';
import { action, integerOption, printJson, printLine, readJsonFile } from './run.ts';
import type { AccessFlags } from './coordinator-access.ts';

interface CoordinatorOptions extends AccessFlags {
  job?: string;
  contract?: string;
  host: string;
  port: number;
  waitClientsMs: number;
  resumeGraceMs: number;
  serve?: boolean;
  state?: string;
  fresh?: boolean;
  json?: boolean;
}

const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(ERROR_CODES, code);

export function registerCoordinator(program: Command): void {
  program
    .command('coordinator')
    .description('Start the coordinator service (fastify + socket.io): it hosts the jobs submitted with tessera jobs submit, one after another; --job FILE runs one job and exits.')
    .option('--job <file>', 'submit this job spec (JSON) at start and exit when it ends (with --serve: keep hosting)')
    .option('--contract <file>', "a data contract jobs name (data.contractHash), when it is not a built-in one: it lays out and names the clients' contract-check sums (needed under secure aggregation) for the jobs that name it")
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', integerOption('--port', 0, 65535), 8740)
    .option('--wait-clients-ms <ms>', 'how long a round waits for enough eligible clients before the job fails with the reasons', integerOption('--wait-clients-ms', 1), 300_000)
    .option('--resume-grace-ms <ms>', 'after a restart, how long a resumed job waits for the roster\'s clients to reconnect before its first round', integerOption('--resume-grace-ms', 0), 15_000)
    .option('--state <dir>', 'state directory (SQLite: jobs and their queue, ledger, audit log, consent, registry; model artifacts): consent is enforced, the model is registered, deployed models are served, queued jobs survive a restart')
    .option('--fresh', 'with --job and --state: start that job over instead of resuming it (refused once its privacy budget is partly spent)')
    .option('--serve', 'with --job: keep hosting jobs and serving after it ends (admin API; with --state, POST /v1/models/:name/predict) until SIGINT')
    .option('--json', 'with --job: print the job result as one JSON document')
    .option('--roster <file>', 'consortium roster (tessera keys roster): the clients admitted, their public keys and organisations (default <state>/secagg-identities.json)')
    .option('--tls-cert <file>', 'PEM certificate chain: serve HTTPS/WSS (with --tls-key)')
    .option('--tls-key <file>', 'PEM private key of --tls-cert')
    .option('--tls-client-ca <file>', 'PEM CA: require mutual TLS, admitting only client certificates it issued')
    .option('--insecure', 'allow plain HTTP on a non-loopback --host (announced at start and on /v1/health)')
    .option('--max-connections <n>', 'open connections in total', integerOption('--max-connections', 1), 1024)
    .option('--max-connections-per-address <n>', 'open connections from one remote address', integerOption('--max-connections-per-address', 1), 64)
    .option('--rate-limit-predict <n>', 'prediction requests per address per minute (then 429 TESSERA_ERR_RATE_LIMITED; default 300)', integerOption('--rate-limit-predict', 1))
    .option('--rate-limit-auth-failures <n>', 'failed operator tokens, and failed client key handshakes, per address per minute before the address is refused until the minute ends (default 20 tokens, 30 handshakes)', integerOption('--rate-limit-auth-failures', 1))
    .action(
      action(async (o: CoordinatorOptions) => {
        const rawJob = o.job !== undefined ? readJsonFile(o.job, 'job spec') : undefined;
        const { loadContract } = await import('../governance/contract/load.ts');
        const contract = o.contract === undefined ? undefined : loadContract(o.contract);
        // Roster, TLS files and caps are checked before TensorFlow.js loads: a misconfiguration fails at once.
        const { accessOptions, rosterPathOf } = await import('./coordinator-access.ts');
        const access = accessOptions(o);
        const rosterPath = rosterPathOf(o) as string; // accessOptions refused a missing roster
        // Loaded on use, so other commands do not pay for TensorFlow.js and fastify.
        const { startCoordinator } = await import('../coordinator/server.ts');
        const { initBackend } = await import('../ml/backend.ts');
        const { openDatabase } = await import('../governance/state/database.ts');
        const { lockStateDirectory } = await import('../governance/state/lock.ts');
        const { readSecAggRoster } = await import('../governance/identity/secagg-roster.ts');
        const { ClientRosterDocument, readClientRoster } = await import('../governance/identity/client-roster.ts');
        // One writer: taken before anything else touches the state, held until the process exits.
        const lock = o.state !== undefined ? lockStateDirectory(o.state, 'tessera coordinator') : undefined;
        const logger = createLogger();
        const backend = await initBackend();
        logger.info({ backend: backend.name }, 'TensorFlow.js backend');
        const db = o.state !== undefined ? openDatabase(o.state) : undefined;
        const state = db && o.state !== undefined ? { db, stateDir: o.state } : {};
        if (!db) logger.warn('no --state: consent records are not checked on the coordinator (client nodes still enforce their local consent), and the job queue is not kept across restarts');
        const log = o.json ? (t: string) => process.stderr.write(`${t}\n`) : printLine;
        // The roster as it is now, read per job: the preflight's organisations and the population a round can reach.
        const rosterDocument = () => {
          try {
            const parsed = ClientRosterDocument.safeParse(JSON.parse(readFileSync(rosterPath, 'utf8')));
            return parsed.success ? parsed.data : null;
          } catch {
            return null;
          }
        };
        const server = await startCoordinator({
          logger,
          host: o.host,
          port: o.port,
          ...state,
          ...access,
          jobs: {
            waitClientsMs: o.waitClientsMs,
            resumeGraceMs: o.resumeGraceMs,
            // Secure aggregation resolves identities from the same roster the connection gate admits by (--roster).
            secAggIdentities: () => readSecAggRoster(rosterPath),
            // Consent counts only when signed by the organisation's key in this same roster (issue 12 §6).
            consentRoster: () => readClientRoster(rosterPath),
            ...(contract ? { contracts: [contract] } : {}),
            population: () => rosterDocument()?.clients.length,
            preflightContext: () => ({ roster: { document: rosterDocument(), where: rosterPath } }),
            say: log,
          },
        });
        const shutdown = async (): Promise<void> => {
          await server.close();
          db?.close();
          lock?.release();
        };
        const stopSignal = new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        try {
          if (rawJob === undefined) {
            log(`coordinator listening on ${server.url}; hosting jobs (tessera jobs submit FILE --coordinator ${server.url} --token TOKEN)`);
            server.jobs.start();
            await stopSignal;
            log('stopping: the running job, if any, resumes at the next start');
            return 0;
          }
          const submitted = server.jobs.submit(rawJob, { ...(o.fresh === true ? { fresh: true } : {}), actor: 'tessera coordinator --job' });
          const name = submitted.name;
          const minClients = (rawJob as { minClients?: unknown }).minClients;
          if (submitted.state === 'failed') log(`coordinator listening on ${server.url} (job ${name}); the job failed its preflight`);
          else log(`coordinator listening on ${server.url} (job ${name}); waiting for ${typeof minClients === 'number' ? minClients : 1} client(s)`);
          server.jobs.start();
          const ended = await Promise.race([server.jobs.waitFor(submitted.jobId), stopSignal.then(() => null)]);
          const outcome = server.jobs.outcome(submitted.jobId);
          if (ended === null) {
            log('stopping: the job resumes at the next start');
            return 1;
          }
          if (outcome === null) {
            // Failed before it ran (preflight, or a configuration error found while assembling it): the coded error;
            // with --serve the service stays up (model serving, the job API) and exits 1 when stopped.
            const code = ended.reason.code ?? 'TESSERA_ERR_INTERNAL';
            const err = new TesseraError(isErrorCode(code) ? code : 'TESSERA_ERR_INTERNAL', ended.reason.message);
            if (o.serve !== true) throw err;
            process.stderr.write(`error [${err.code}]: ${err.message}\n`);
            log(`serving on ${server.url} until SIGINT${db ? ` (predictions: POST ${server.url}/v1/models/:name/predict)` : ''}`);
            await stopSignal;
            return 1;
          }
          const { result, registered, registrationError } = outcome;
          if (o.json) printJson({ jobId: submitted.jobId, status: result.status, message: result.message, rounds: result.rounds.length, registered });
          if (o.serve) {
            log(`serving on ${server.url} until SIGINT${db ? ` (predictions: POST ${server.url}/v1/models/:name/predict)` : ''}`);
            await stopSignal;
          }
          const ok = (result.status === 'completed' || result.status === 'budget-exhausted') && registrationError === null;
          return ok ? 0 : 1;
        } finally {
          await shutdown();
        }
      }),
    );
}
