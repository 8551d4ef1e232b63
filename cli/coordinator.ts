/** `tessera coordinator`: start the coordinator server and run a job from a job-spec file. */
import type { Command } from 'commander';
import { parseJobSpec } from '../protocol/job/spec.ts';
import { createLogger } from '../lib/logger.ts';
import { cryptoRandom } from '../privacy/random.ts';
import { action, integerOption, printJson, printLine, readJsonFile } from './run.ts';
import type { AccessFlags } from './coordinator-access.ts';

interface CoordinatorOptions extends AccessFlags {
  job: string;
  contract?: string;
  host: string;
  port: number;
  waitClientsMs: number;
  serve?: boolean;
  state?: string;
  fresh?: boolean;
  json?: boolean;
}


export function registerCoordinator(program: Command): void {
  program
    .command('coordinator')
    .description('Start the coordinator (fastify + socket.io) and run the job in --job once enough clients have connected.')
    .requiredOption('--job <file>', 'job spec (JSON)')
    .option('--contract <file>', "the data contract the job names (data.contractHash), when it is not a built-in one: it lays out and names the clients' contract-check sums (needed under secure aggregation)")
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port to listen on (0 = any free port)', integerOption('--port', 0, 65535), 8740)
    .option('--wait-clients-ms <ms>', 'how long to wait for minClients before each round', integerOption('--wait-clients-ms', 1), 300_000)
    .option('--state <dir>', 'state directory (SQLite: jobs, ledger, audit log, consent, registry; model artifacts): consent is enforced, the model is registered, deployed models are served')
    .option('--fresh', 'with --state: start the job over instead of resuming it (refused once its privacy budget is partly spent)')
    .option('--serve', 'keep serving after the job ends (admin API; with --state, POST /v1/models/:name/predict) until SIGINT')
    .option('--json', 'print the job result as one JSON document')
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
        const spec = parseJobSpec(readJsonFile(o.job, 'job spec'));
        const { loadContract } = await import('../governance/contract/load.ts');
        const contract = o.contract === undefined ? undefined : loadContract(o.contract);
        // Roster, TLS files and caps are checked before TensorFlow.js loads: a misconfiguration fails at once.
        const { accessOptions, rosterPathOf } = await import('./coordinator-access.ts');
        const access = accessOptions(o);
        const rosterPath = rosterPathOf(o) as string; // accessOptions refused a missing roster
        // Loaded on use, so other commands do not pay for TensorFlow.js and fastify.
        const { startCoordinator } = await import('../coordinator/server.ts');
        const { runJob } = await import('../coordinator/job-runner.ts');
        const { initBackend } = await import('../ml/backend.ts');
        const { buildModel } = await import('../ml/model.ts');
        const { getFlatWeights } = await import('../ml/weights.ts');
        const { assembleJob, FEATURE_FACTORIES } = await import('../coordinator/features/assemble.ts');
        const { openDatabase } = await import('../governance/state/database.ts');
        const { lockStateDirectory } = await import('../governance/state/lock.ts');
        // One writer: taken before anything else touches the state, held until the process exits.
        const lock = o.state !== undefined ? lockStateDirectory(o.state, 'tessera coordinator') : undefined;
        const logger = createLogger();
        const backend = await initBackend();
        logger.info({ backend: backend.name }, 'TensorFlow.js backend');
        const db = o.state !== undefined ? openDatabase(o.state) : undefined;
        const state = db && o.state !== undefined ? { db, stateDir: o.state } : {};
        if (!db && spec.consent.required) logger.warn('no --state: consent records are not checked on the coordinator (client nodes still enforce their local consent)');
        const server = await startCoordinator({ logger, host: o.host, port: o.port, ...state, ...access });
        // Anything that fails before the job runs must not leave a listening server (it would never exit).
        const shutdown = async (): Promise<void> => {
          await server.close();
          db?.close();
          lock?.release();
        };
        try {
          const log = o.json ? (t: string) => process.stderr.write(`${t}\n`) : printLine;
          log(`coordinator listening on ${server.url} (job ${spec.name}); waiting for ${spec.minClients} client(s)`);
          const { resumePoint, stableJobId, startFresh } = await import('../coordinator/state/resume.ts');
          const { roundRecords } = await import('../coordinator/state/job-store.ts');
          const model = buildModel(spec.model, { seed: spec.seed });
          // The job id is the spec's (name + spec hash): a restart on the same spec resumes the same job and ledger.
          const jobId = stableJobId(spec);
          if (db && o.fresh === true) {
            const { discarded } = startFresh(db, jobId, 'tessera coordinator --fresh');
            log(`starting job ${jobId} over (--fresh): ${discarded} committed round(s) discarded`);
          }
          const resume = db ? resumePoint(db, jobId) : null;
          if (resume && resume.startRound > 1) log(`resuming job ${jobId} at round ${resume.startRound} (last committed ${resume.lastCommitted}, last charged ${resume.lastCharged})`);
          const initialWeights = resume?.weights ?? getFlatWeights(model);
          model.dispose();
          const entry = { jobId, name: spec.name, status: 'running' as const, message: '', rounds: [], startedAt: new Date().toISOString() };
          server.jobs.set(jobId, entry);
          const stop = new AbortController();
          process.once('SIGINT', () => stop.abort());
          const rng = cryptoRandom();
          // Secure aggregation resolves identities from the same roster the connection gate admits by (--roster).
          const { withSecAggIdentities } = await import('../coordinator/features/secagg.ts');
          const { readSecAggRoster } = await import('../governance/identity/secagg-roster.ts');
          const factories = withSecAggIdentities(FEATURE_FACTORIES, readSecAggRoster(rosterPath));
          // Consent counts only when signed by the organisation's key in this same roster (issue 12 §6).
          const { readClientRoster } = await import('../governance/identity/client-roster.ts');
          const assembled = assembleJob({ jobId, spec, logger, rng, metrics: server.metrics, consentRoster: readClientRoster(rosterPath), ...state, ...(contract ? { contract } : {}) }, factories);
          const result = await runJob({
            jobId,
            spec,
            federation: server.federation,
            logger,
            rng,
            initialWeights,
            ...assembled,
            waitForClientsMs: o.waitClientsMs,
            signal: stop.signal,
            ...(resume && db ? { startRound: resume.startRound, previousRounds: roundRecords(db, jobId) } : {}),
            onRound: (r) => {
              server.jobs.get(jobId)?.rounds.push(r);
              log(`round ${r.round}: participants ${r.participants}, dropped ${r.dropped.length}, declined ${r.declined.length}, ${(r.durationMs / 1000).toFixed(1)}s`);
            },
          });
          const e = server.jobs.get(jobId);
          if (e) Object.assign(e, { status: result.status, message: result.message });
          // The registry feature registers the model after the job (with --state); wait for it.
          const registration = await assembled.outcomes.registration();
          if (registration?.status === 'failed') log(`model registration failed [${registration.error.code}]: ${registration.error.message}`);
          const registered = registration?.status === 'registered' ? { version: registration.model.version, name: registration.model.name } : null;
          if (o.json) printJson({ jobId, status: result.status, message: result.message, rounds: result.rounds.length, registered });
          else log(`${result.status}: ${result.message}`);
          if (registered) log(`registered model ${registered.version} (${registered.name})`);
          if (o.serve) {
            log(`serving on ${server.url} until SIGINT${db ? ` (predictions: POST ${server.url}/v1/models/:name/predict)` : ''}`);
            await new Promise<void>((resolve) => {
              process.once('SIGINT', resolve);
              process.once('SIGTERM', resolve);
            });
          }
          const ok = (result.status === 'completed' || result.status === 'budget-exhausted') && registration?.status !== 'failed';
          return ok ? 0 : 1;
        } finally {
          await shutdown();
        }
      }),
    );
}
