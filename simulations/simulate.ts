/**
 * `tessera simulate`: a coordinator and N client nodes in one process, over real loopback sockets or the
 * in-memory transport, running the same round code as a real deployment. Deterministic for a seed: the
 * partition, initial weights, sampling and batch order all derive from it. (Seeded sampling is NOT private;
 * the result says so.)
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import { ClientNode, type ClientData } from '../client/node.ts';
import { standardClientMods } from '../client/mods/index.ts';
import { memoryParticipationRecord } from '../client/policy/participation.ts';
import { parseClientPolicy, PERMISSIVE_RESEARCH_POLICY, secAggClientPolicy, type ClientPolicy } from '../client/policy/schema.ts';
import { assembleJob, FEATURE_FACTORIES, type FeatureFactory } from '../coordinator/features/assemble.ts';
import { withSecAggIdentities } from '../coordinator/features/secagg.ts';
import { SecureAggregation } from '../client/secure-aggregation.ts';
import { simulatedIdentities } from '../privacy/secagg/identity-directory.ts';
import { withContractGroupValues } from '../coordinator/features/fairness.ts';
import type { FederatedEvaluation } from '../coordinator/federated-eval.ts';
import { Metrics } from '../coordinator/metrics.ts';
import { loadBuiltinContract } from '../datasets/contracts/index.ts';
import { contractHash } from '../governance/contract/schema.ts';
import { compileContract } from '../governance/contract/compile.ts';
import { heldOutSplitForJob } from '../client/held-out-split.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { lockStateDirectory } from '../governance/state/lock.ts';
import { resumePoint, stableJobId, startFresh } from '../coordinator/state/resume.ts';
import { roundRecords } from '../coordinator/state/job-store.ts';
import { Federation } from '../coordinator/federation.ts';
import { runJob, type RunJobOptions } from '../coordinator/job-runner.ts';
import type { JobResult, RoundRecord } from '../coordinator/round-records.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import { throwawayConsortium } from '../governance/identity/client-roster.ts';
import { loadDataset, type LoadedDataset } from '../datasets/index.ts';
import { featureSize, type Examples } from '../datasets/types.ts';
import { initBackend, type BackendInfo } from '../ml/backend.ts';
import { buildModel, inputShape } from '../ml/model.ts';
import { evaluate } from '../ml/train.ts';
import { getFlatWeights, setFlatWeights } from '../ml/weights.ts';
import { cryptoRandom, deriveSeed, seededRandom, type RandomSource } from '../privacy/random.ts';
import { parseJobSpec, type JobSpec, type JobSpecInput } from '../protocol/job/spec.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { TesseraError } from '../protocol/errors.ts';
import type { ClientTransport } from '../protocol/transport.ts';
import { createMemoryHub } from './memory-transport.ts';
import { DATASET_DEFAULTS } from './defaults.ts';
import { partitionClients } from './federation-setup.ts';
import { TrainingTurns } from '../client/training-turns.ts';
import { auditReport, canaryClients, type AuditReport } from './audit-run.ts';
import { recordPrivacyAudit } from '../governance/registry/privacy-audit.ts';
import { canaryMod } from './privacy-audit.ts';
import { ChurnController, type ChurnSummary, type Droppable } from './churn.ts';
import { faultyTransport, newInjectedFaults } from './faults.ts';
import { computeBaselines, type Baselines } from './baselines.ts';
import { TrafficMeter, type TrafficTotals } from './traffic.ts';
import { shareExamples, TrainingPool, type WorkerActivity } from './training-pool.ts';
import { threadCpuMs } from './thread-cpu.ts';
import { evaluateOnPool } from './pool-evaluation.ts';
import type { DatasetMemo } from './dataset-memo.ts';

export const SimulationConfig = z.object({
  dataset: z.enum(['mnist', 'adult', 'heart']).default('mnist'),
  dataDir: z.string().optional(),
  clients: z.number().int().positive().optional(),
  rounds: z.number().int().positive().optional(),
  partition: z.string().optional(),
  seed: z.union([z.string(), z.number()]).default(42),
  transport: z.enum(['socket', 'memory']).default('memory'),
  /** Poisson sampling rate q; absent means every client every round. */
  samplingRate: z.number().gt(0).max(1).optional(),
  minClients: z.number().int().positive().optional(),
  deadlineMs: z.number().int().positive().default(120_000),
  trainLimit: z.number().int().positive().optional(),
  testLimit: z.number().int().positive().optional(),
  /** Clients check their data against the data set's built-in contract before each round (Adult, Heart). */
  checkContract: z.boolean().default(true),
  /**
   * Clients draw their DP noise from a seeded generator (reproducible, NOT private) instead of the CSPRNG.
   * Sampling is seeded in every simulation, so no simulation result is private either way.
   */
  seededNoise: z.boolean().default(false),
  /** The coordinator's state directory (SQLite ledger, audit log, registry …); none keeps state in memory. */
  stateDir: z.string().optional(),
  /**
   * Start the job over instead of resuming it (coordinator/state/resume.ts startFresh): its committed rounds are
   * discarded; refused (TESSERA_ERR_FRESH_REFUSED) once the privacy ledger holds a charge for it.
   */
  fresh: z.boolean().default(false),
  /** Local consent files (parsed JSON) by organisation id: that organisation's clients enforce them. */
  localConsent: z.record(z.string(), z.unknown()).optional(),
  /**
   * The simulated clients' policy (parsed JSON of a client policy file, client/policy/schema.ts). Absent: the
   * explicitly PERMISSIVE research policy (plain jobs, any placement and ε), named so in the output.
   */
  clientPolicy: z.unknown().optional(),
  /** Where `clientPolicy` came from (its file), for the output. */
  clientPolicySource: z.string().optional(),
  /** Overrides merged into the job spec (model, training, dp, secagg, fairness …). */
  job: z.record(z.string(), z.unknown()).default({}),
  /** Injected faults (simulations/faults.ts), seeded: each training task's probability of the client dropping out … */
  dropoutRate: z.number().min(0).max(1).default(0),
  /** … and of it straggling (answering only after the round's deadline). */
  stragglerRate: z.number().min(0).max(1).default(0),
  /**
   * Worker threads that train the clients in parallel (simulations/training-pool.ts); 1 trains them one after
   * another on this thread. Capped at the number of clients. The result is the same bits either way. Default 1
   * here and in the CLI (faster only with idle cores; docs/researcher.md).
   */
  workers: z.number().int().positive().default(1),
  /** Empirical privacy audit (simulations/audit-run.ts): canary clients and a membership-inference attack. */
  /** Connection churn over sockets (simulations/churn.ts): each client's connection is cut with this probability per round. */
  churn: z.number().min(0).max(1).optional(),
  auditPrivacy: z.strictObject({ canaries: z.number().int().min(2).default(20), heldOutCanaries: z.number().int().min(10).default(1000) }).optional(),
  /** Also train the baselines on the same split and seed (simulations/baselines.ts): pooled, local-only, non-private. */
  baselines: z.boolean().default(false),
});
export type SimulationConfig = z.infer<typeof SimulationConfig>;
export type SimulationConfigInput = z.input<typeof SimulationConfig>;

export interface SimulationResult {
  readonly config: Record<string, unknown>;
  readonly backend: BackendInfo;
  readonly job: JobSpec;
  readonly result: JobResult;
  /** False when seeded randomness was used for anything a real deployment would draw from a CSPRNG. */
  readonly private: boolean;
  /** The simulated clients' policy: 'permissive-research' unless a client policy file was given. */
  readonly clientPolicy: string;
  /** The coordinator's features in the order their hooks ran (derived from their declarations). */
  readonly featureOrder: readonly string[];
  /** The registered model (with `stateDir`, when the job completed or exhausted its budget). */
  readonly registered?: { readonly version: string; readonly name: string };
  /**
   * With `workers` > 1: the training worker threads, each one's start-up time (ms), the tasks they trained and in
   * how many batches; how each spent the run (`activity`: event-loop busy and idle ms, thread CPU ms) and the main
   * thread's CPU ms (the serial part, Amdahl's bound on the speedup; null where the platform does not tell).
   */
  readonly trainingWorkers?: { readonly count: number; readonly initMs: readonly number[]; readonly tasks: number; readonly batches: number; readonly activity: readonly WorkerActivity[]; readonly mainThreadCpuMs: number | null };
  /** With `auditPrivacy`: the canary ε estimate beside the accountant's, and the membership-inference attack. */
  readonly privacyAudit?: AuditReport;
  /** With `churn`: how many connections were cut. */
  readonly churn?: ChurnSummary;
  /** With a dropout or straggler rate: the clients the simulation made drop out or straggle, per round. */
  readonly faults?: { readonly droppedOut: Record<string, string[]>; readonly straggled: Record<string, string[]> };
  /** With `baselines`: pooled, local-only and (DP jobs) non-private figures on the same split and seed. */
  readonly baselines?: Baselines;
  /** Bytes on the wire per committed round, as socket.io encodes them (simulations/traffic.ts). */
  readonly traffic: ReadonlyArray<{ readonly round: number } & TrafficTotals>;
  /** The parsed configuration exactly as run: what `tessera simulate --replay` runs again. */
  readonly runConfig: SimulationConfig;
}

/**
 * A client's local data: with fairness evaluation or feature importance on, it keeps a held-out split (stratified by label and
 * sensitive group, deterministic from the job seed and client id) that the coordinator never sees.
 */
export function clientData(train: Examples, spec: JobSpec, clientId: string): ClientData {
  const local = forModel(train, spec.model);
  return spec.fairness.enabled || spec.evaluation.featureImportance ? heldOutSplitForJob(local, spec, clientId) : { train: local };
}

/** Reshapes image examples to flat vectors for models that take a vector (logistic, MLP). */
function forModel(e: Examples, spec: JobSpec['model']): Examples {
  return inputShape(spec).length > 1 ? e : { ...e, featureShape: [featureSize(e)] };
}

export function buildJobSpec(config: SimulationConfig, dataset: LoadedDataset, clients: number): JobSpec {
  const d = DATASET_DEFAULTS[config.dataset];
  const features = featureSize(dataset.train);
  const contract = config.checkContract && dataset.contract !== undefined ? loadBuiltinContract(dataset.contract) : undefined;
  const base: JobSpecInput = {
    name: `simulate-${config.dataset}`,
    purpose: 'research',
    seed: config.seed,
    model: d.model(features, dataset.train.classes),
    data: { dataset: config.dataset, ...(contract ? { contractHash: contractHash(contract) } : {}) },
    rounds: config.rounds ?? d.rounds,
    sampling: config.samplingRate !== undefined ? { mode: 'poisson', rate: config.samplingRate } : { mode: 'fixed', clientsPerRound: clients },
    minClients: config.minClients ?? 1,
    roundDeadlineMs: config.deadlineMs,
    training: d.training,
    // Coordinator-side consent is opt-in for simulations (`--job` may set consent.required), so that
    // `tessera simulate --state DIR` runs without consent records; job files for `tessera coordinator` enforce it.
    consent: { required: false },
  };
  // Fairness groups come from the job spec; attributes it does not list take the data contract's categories,
  // written into the spec so that every client and the coordinator derive the same count layout.
  const spec = parseJobSpec(deepMerge(base, config.job));
  return withContractGroupValues(spec, dataset.contract !== undefined ? loadBuiltinContract(dataset.contract) : undefined);
}

export interface SimulationOptions {
  logger: Logger;
  onRound?: (r: RoundRecord) => void;
  /** Sees each federated evaluation (the summed fairness counts included), e.g. for tests. */
  onFederatedEvaluation?: (round: number, e: FederatedEvaluation) => void;
  /** The coordinator's features (default FEATURE_FACTORIES); their declarations, not this order, order them. */
  features?: readonly FeatureFactory[];
  /**
   * The coordinator's randomness (sampling, central noise). Default: a generator seeded from the config's seed —
   * reproducible and NOT private. A CSPRNG (`cryptoRandom()`) draws as a deployment does, e.g. for tests of what
   * a restart may re-draw.
   */
  coordinatorRng?: RandomSource;
  /** Where the data set comes from: a sweep's memo (simulations/dataset-memo.ts) reads each data set once. */
  datasets?: DatasetMemo;
}

export async function runSimulation(input: SimulationConfigInput, options: SimulationOptions): Promise<SimulationResult> {
  const config = SimulationConfig.parse(input);
  if (config.churn !== undefined && config.transport !== 'socket') {
    throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', '--churn cuts real connections: it needs --transport socket');
  }
  const backend = await initBackend();
  options.logger.info({ backend: backend.name }, 'TensorFlow.js backend');
  // Started before the data set loads, so the workers' own backend start-up overlaps it; no more workers than
  // --clients (with the data set's default client count an idle worker costs only its memory).
  const pool = config.workers > 1 && (config.clients === undefined || config.clients > 1) ? new TrainingPool(config.clients === undefined ? config.workers : Math.min(config.workers, config.clients), { backend: backend.name, logger: options.logger.child({ component: 'training-pool' }) }) : undefined;
  try {
    return await simulateWith(config, backend, pool, options);
  } finally {
    pool?.close();
  }
}

async function simulateWith(config: SimulationConfig, backend: BackendInfo, pool: TrainingPool | undefined, options: SimulationOptions): Promise<SimulationResult> {
  const dataset = (options.datasets ?? { load: loadDataset }).load(config.dataset, {
    seed: config.seed,
    ...(config.dataDir !== undefined ? { dataDir: config.dataDir } : {}),
    ...(config.trainLimit !== undefined ? { trainLimit: config.trainLimit } : {}),
    ...(config.testLimit !== undefined ? { testLimit: config.testLimit } : {}),
  });
  const defaults = DATASET_DEFAULTS[config.dataset];
  const clientCount = config.clients ?? (config.partition === 'natural' || (config.partition === undefined && defaults.partition === 'natural') ? (dataset.natural?.length ?? defaults.clients) : defaults.clients);
  // With a pool, each client's examples are built on shared memory (those of a natural split or with feature noise
  // move there here, once).
  const partitioned = partitionClients(dataset, { clients: clientCount, partition: config.partition ?? defaults.partition, seed: config.seed, shared: pool !== undefined });
  const realParts = pool ? partitioned.map((p) => ({ ...p, train: shareExamples(p.train) })) : partitioned;
  // Fixed-size sampling draws from every client, canaries included.
  const spec = buildJobSpec(config, dataset, realParts.length + (config.auditPrivacy?.canaries ?? 0));
  // With a pool the test set goes onto shared memory once: the workers evaluate slices of it in place.
  const test = pool ? shareExamples(forModel(dataset.test, spec.model)) : forModel(dataset.test, spec.model);
  const policy: ClientPolicy = config.clientPolicy === undefined ? PERMISSIVE_RESEARCH_POLICY : parseClientPolicy(config.clientPolicy, config.clientPolicySource ?? 'simulate --client-policy');
  options.logger.info({ clientPolicy: policy.source }, policy === PERMISSIVE_RESEARCH_POLICY ? 'simulated clients run the PERMISSIVE research policy (not for deployments)' : 'simulated clients run the given client policy');
  const withExamples = (examples: number) => (policy.disclose.exampleCount ? { examples } : {});

  const evalModel = buildModel(spec.model, { seed: spec.seed });
  const initialWeights = getFlatWeights(evalModel);
  // --audit-privacy: canary clients join the federation like any other (their own organisations).
  const auditRng = seededRandom(deriveSeed(config.seed, 'privacy-audit'));
  const canaries = config.auditPrivacy ? canaryClients(config.auditPrivacy, spec, initialWeights.length, realParts.map((p) => forModel(p.train, spec.model)), auditRng) : [];
  const parts = [...realParts, ...canaries.map((c) => ({ clientId: c.clientId, orgId: c.orgId, train: c.train, table: undefined }))];
  const canaryOf = new Map(canaries.map((c) => [c.clientId, c]));
  // With a pool the workers evaluate (simulations/pool-evaluation.ts: the same bits); should they all have failed,
  // this thread does.
  const evaluateCentral = async (weights: Float32Array) => {
    if (pool && pool.alive > 0) {
      try {
        return await evaluateOnPool(pool, { spec: spec.model, seed: spec.seed }, weights, test);
      } catch (e) {
        if (!(e instanceof TesseraError && e.code === 'TESSERA_ERR_WORKER_FAILED')) throw e;
        options.logger.warn({ code: e.code }, 'the central evaluation falls back to the main thread: a training worker failed');
      }
    }
    setFlatWeights(evalModel, weights);
    return evaluate(evalModel, test);
  };

  const coordinatorLog = options.logger.child({ component: 'coordinator' });
  // Stable for a spec (it holds the seed): re-running the same simulation on the same state resumes its job and
  // ledger rather than starting a fresh budget.
  const jobId = `sim-${stableJobId(spec)}`;
  // One writer per state directory (governance/state/lock.ts), taken before the database is opened.
  const lock = config.stateDir !== undefined ? lockStateDirectory(config.stateDir, 'tessera simulate') : undefined;
  const db: Db | undefined = config.stateDir !== undefined ? openDatabase(config.stateDir) : undefined;
  if (db && config.fresh) {
    try {
      const { discarded } = startFresh(db, jobId, 'tessera simulate --fresh');
      options.logger.info({ job: jobId, discarded }, 'starting the job over (--fresh)');
    } catch (e) {
      // Refused: let go of the state before reporting it.
      db.close();
      lock?.release();
      throw e;
    }
  }
  // Resume (issue 14 §1): after the last round committed or charged, from the last committed weights; the
  // committed rounds stay part of the job's result and its model's lineage.
  const resume = db ? resumePoint(db, jobId) : null;
  const previousRounds = db ? roundRecords(db, jobId) : [];
  if (resume && resume.startRound > 1) options.logger.info({ job: jobId, startRound: resume.startRound, lastCommitted: resume.lastCommitted, lastCharged: resume.lastCharged }, 'resuming job');
  const injected = newInjectedFaults();
  let server: CoordinatorServer | undefined;
  let federation: Federation;
  let connect: (clientId: string, orgId: string, examples: number) => ClientTransport;
  const droppable: Droppable[] = [];
  if (config.transport === 'socket') {
    // Throw-away identities for the virtual clients: the socket path authenticates like a real deployment.
    const consortium = throwawayConsortium();
    // Imported here: fastify and socket.io (client and server) cost an in-memory simulation's serial start-up
    // about 0.4 s of CPU it has no use for.
    const [{ startCoordinator }, { socketIoClientTransport }] = await Promise.all([import('../coordinator/server.ts'), import('../client/transport/socketio-client.ts')]);
    server = await startCoordinator({ logger: coordinatorLog, port: 0, roster: consortium.roster, maxConnections: 100_000, maxConnectionsPerAddress: 100_000 });
    federation = server.federation;
    const url = server.url;
    connect = (clientId, orgId, examples) => {
      const transport = socketIoClientTransport({ url, handshake: { protocolVersion: PROTOCOL_VERSION, clientId, orgId, ...withExamples(examples), dataset: config.dataset }, identity: consortium.identityOf(clientId, orgId) });
      droppable.push({ clientId, dropConnection: () => transport.dropConnection() });
      return transport;
    };
  } else {
    const hub = createMemoryHub();
    federation = new Federation(hub.server, coordinatorLog);
    connect = (clientId, orgId, examples) => hub.connect({ protocolVersion: PROTOCOL_VERSION, clientId, orgId, ...withExamples(examples), dataset: config.dataset });
  }
  if (config.dropoutRate > 0 || config.stragglerRate > 0) {
    const plain = connect;
    const rates = { dropoutRate: config.dropoutRate, stragglerRate: config.stragglerRate, seed: config.seed, log: injected };
    connect = (clientId, orgId, examples) => faultyTransport(() => plain(clientId, orgId, examples), { ...rates, clientId });
  }
  // The data set's contract: checked before each round when the job names it (its rows go with it), and in any
  // case the source of the positive label and sensitive categories (fairness).
  const contract = dataset.contract !== undefined ? loadBuiltinContract(dataset.contract) : undefined;
  const checkRows = spec.data.contractHash !== undefined;
  // Secure aggregation: one long-term identity per client and ONE roster handed to the coordinator and to every
  // client (standing in for the consortium's out-of-band distribution; privacy/secagg/identity-directory.ts).
  const identities = spec.secagg.enabled ? simulatedIdentities(parts.map((p) => p.clientId), cryptoRandom()) : undefined;
  // The clients share this process's one TensorFlow.js backend: they take turns on it. With a pool every node's
  // task goes to the pool at once — it schedules them on its workers (longest first, in batches), and each task's
  // training time is measured on its worker — so the turns hold no one back.
  const turns = new TrainingTurns(pool ? Math.max(1, parts.length) : 1);
  const meter = new TrafficMeter();
  const traffic: Array<{ round: number } & TrafficTotals> = [];
  const nodes = parts.map((p) => {
    // Built as a variable: the SecAgg client's `policy` option (its (k, t) floors) is the secure-aggregation engineer's.
    const secureOptions = identities
      ? { clientId: p.clientId, identity: identities.identityOf(p.clientId), resolveIdentity: identities.resolve, logger: options.logger.child({ component: 'client' }), rng: config.seededNoise ? seededRandom(deriveSeed(config.seed, 'secagg', p.clientId)) : cryptoRandom(), policy: secAggClientPolicy(policy) }
      : undefined;
    const secure = secureOptions ? new SecureAggregation(secureOptions) : undefined;
    // With a pool every task reads the examples on shared memory (a held-out split made new arrays: shared here).
    const local = clientData(p.train, spec, p.clientId);
    const data = pool ? { ...local, train: shareExamples(local.train) } : local;
    const noise = config.seededNoise ? seededRandom(deriveSeed(config.seed, 'dp-noise', p.clientId)) : cryptoRandom();
    const canary = canaryOf.get(p.clientId);
    const standard = standardClientMods({ policy, record: memoryParticipationRecord(), ...(contract ? { contract } : {}), ...(checkRows && p.table ? { table: p.table } : {}), rng: noise, ...(config.localConsent?.[p.orgId] !== undefined ? { consent: config.localConsent[p.orgId] } : {}) });
    const mods = canary ? [canaryMod(canary.direction), ...standard] : standard;
    return new ClientNode({ clientId: p.clientId, orgId: p.orgId, transport: meter.wrap(connect(p.clientId, p.orgId, p.train.n)), data, mods, disclosure: policy.disclose, logger: options.logger.child({ component: 'client' }), turns, ...(secure ? { secure } : {}), ...(pool ? { trainer: pool } : {}) });
  });
  const churn = config.churn !== undefined ? new ChurnController(config.churn, config.seed, droppable) : undefined;
  try {
    await federation.waitForClients(nodes.length, 30_000);
    meter.sinceLast(); // connection set-up is not a round's traffic
    // Seeded randomness makes the run reproducible — and therefore not private.
    const rng = options.coordinatorRng ?? seededRandom(deriveSeed(config.seed, 'sampling'));
    const metrics = server?.metrics ?? new Metrics();
    const features = options.features ?? FEATURE_FACTORIES;
    const factories = identities ? withSecAggIdentities(features, identities.resolve) : features;
    const assembled = assembleJob({ jobId, spec, logger: coordinatorLog, rng, metrics, ...(db ? { db, stateDir: config.stateDir } : {}) }, factories);
    const result = await runJob({
      jobId,
      spec,
      federation,
      logger: coordinatorLog,
      rng,
      initialWeights: resume?.weights ?? initialWeights,
      ...(resume ? { startRound: resume.startRound, previousRounds, initialServerState: resume.serverState } : {}),
      evaluate: evaluateCentral,
      waitForClientsMs: 30_000,
      // Every simulated client is known: once all are connected no wait can add an eligible one, so a round that
      // cannot run fails at once rather than after the wait.
      population: nodes.length,
      ...assembled,
      ...(options.onFederatedEvaluation ? { federatedEvaluation: observed(assembled.federatedEvaluation, options.onFederatedEvaluation) } : {}),
      onRound: (r: RoundRecord) => {
        traffic.push({ round: r.round, ...meter.sinceLast() });
        churn?.schedule(r.durationMs);
        options.onRound?.(r);
      },
    });
    const churned = churn ? { churn: churn.stop() } : {};
    // The registry feature registers the model after the job; wait for it before the database closes.
    const registration = await assembled.outcomes.registration();
    if (registration?.status === 'failed') throw registration.error;
    const registered = registration?.status === 'registered' ? { registered: { version: registration.model.version, name: registration.model.name } } : {};
    const privacyAudit = config.auditPrivacy
      ? { privacyAudit: auditReport({ options: config.auditPrivacy, spec, result, initialWeights, canaries, model: evalModel, members: realParts.map((p) => clientData(p.train, spec, p.clientId).train), nonMembers: test, rng: auditRng, ...(contract ? { contract: compileContract(contract) } : {}) }) }
      : {};
    // The audit attacks the final model, so it runs after registration: recorded beside the registry row, the model
    // card shows it (governance/registry/privacy-audit.ts).
    if (privacyAudit.privacyAudit && registration?.status === 'registered' && db) recordPrivacyAudit(db, registration.model.version, privacyAudit.privacyAudit);
    const baselines = config.baselines
      ? {
          baselines: await computeBaselines({
            spec,
            clients: realParts.map((p) => ({ clientId: p.clientId, train: clientData(p.train, spec, p.clientId).train })),
            test,
            initialWeights,
            // The same federation, seed and split with DP off, in memory (no ledger), without a second audit.
            nonPrivate: async () => {
              const { auditPrivacy: _audit, stateDir: _state, ...rest } = config;
              const np = await runSimulation({ ...rest, fresh: false, baselines: false, job: deepMerge(config.job, { dp: { enabled: false } }) }, { logger: options.logger, ...(options.datasets ? { datasets: options.datasets } : {}) });
              return { accuracy: np.result.final.accuracy, loss: np.result.final.loss, status: np.result.status, rounds: np.result.rounds.length };
            },
          }),
        }
      : {};
    const { clientPolicy: _file, clientPolicySource: _source, ...shown } = config;
    const faults = config.dropoutRate > 0 || config.stragglerRate > 0 ? { faults: { droppedOut: Object.fromEntries(injected.droppedOut), straggled: Object.fromEntries(injected.straggled) } } : {};
    return { ...privacyAudit, ...churned, ...faults, ...baselines, traffic, runConfig: config, config: { ...shown, clients: realParts.length, partition: config.partition ?? defaults.partition, rounds: spec.rounds, clientPolicy: policy.source, workers: pool?.size ?? 1 }, backend, job: spec, result, private: false, ...(pool ? { trainingWorkers: { count: pool.size, initMs: [...pool.initMs], tasks: pool.trained, batches: pool.batches, activity: pool.activity(), mainThreadCpuMs: threadCpuMs() } } : {}), clientPolicy: policy.source, featureOrder: assembled.featureOrder, ...registered };
  } finally {
    churn?.stop();
    for (const n of nodes) n.close();
    evalModel.dispose();
    await server?.close();
    db?.close();
    lock?.release();
  }
}

function observed(fe: RunJobOptions['federatedEvaluation'], see: (round: number, e: FederatedEvaluation) => void): RunJobOptions['federatedEvaluation'] {
  return {
    ...fe,
    always: fe?.always ?? false,
    after: (round, e) => {
      see(round, e);
      return fe?.after?.(round, e) ?? {};
    },
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Merges `override` into `base` recursively (objects merge, everything else replaces). */
export function deepMerge<T>(base: T, override: Record<string, unknown>): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(override)) {
    const prev = out[k];
    out[k] = isPlainObject(prev) && isPlainObject(v) ? deepMerge(prev, v) : v;
  }
  return out as T;
}
