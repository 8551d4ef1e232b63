/**
 * Runs a job round by round: (1) check eligibility and the budget, sample clients; (2) the training phase
 * (plain or secure aggregation), during which the protocol calls `beforeRelease` at the first moment the
 * round's aggregate can be computed — features charge the round there (the DP ledger), so nothing is released
 * uncharged; (3) apply the strategy; (4) evaluate; (5) commit the round. A round with fewer than `minClients`
 * participants is retried up to `maxRoundRetries` times with a fresh sample, then the job fails with a clear
 * message naming the clients' reasons — unless a feature forbids re-sampling (`shortRound`: under DP a re-sampled
 * round would raise every organisation's inclusion probability above q, uncharged; the job ends instead). Waiting
 * for connections and eligible clients (eligible-wait.ts) before a sample is drawn is not an attempt; too few
 * eligible clients when the wait ends fail the job at once with the reasons grouped (shortfall.ts) — no sample
 * was drawn, so retrying would only wait again. Features hook in at the marked points (`JobHooks`) instead of
 * forking this loop.
 */
import { deepFreeze } from '../lib/deep-freeze.ts';
import type { UpdateExtension } from '../privacy/secagg/extension.ts';
import { updateExtensionsForJob } from '../privacy/secagg/extensions-for-job.ts';
import type { Logger } from 'pino';
import { TesseraError } from '../protocol/errors.ts';
import type { JobSpec } from '../protocol/job/spec.ts';
import { roundStream, type RandomSource } from '../privacy/random.ts';
import type { ConnectedClient, Federation } from './federation.ts';
import type { EvaluationNoisePlan } from '../privacy/dp/evaluation-noise.ts';
import { federatedEvaluate, type EvaluationProtocol, type FederatedEvaluation } from './federated-eval.ts';
import { plainTrainingProtocol, type TrainingOutcome, type TrainingProtocol } from './plain-round.ts';
import { RoundLifecycle, assertJobTransition, type JobState } from './round-state.ts';
import type { ExcludedClient, JobResult, JobStatus, RoundRecord, RoundSlots } from './round-records.ts';
import { selectClients, type Selection } from './sampling.ts';
import { serverStrategy, type ServerOptimizerState, type Strategy } from './strategy.ts';
import { explainShortfall, explainShortRound, type SecAggShortfall } from './shortfall.ts';
import { eligibleClients, reconnectGrace, waitForConnected } from './eligible-wait.ts';

export interface Evaluation {
  readonly loss: number;
  readonly accuracy: number;
  /** Slots the evaluation fills (federated evaluation, fairness, secure evaluation). */
  readonly extra?: RoundSlots;
}

export type BeforeRoundDecision = { proceed: true } | { proceed: false; status: JobStatus; message: string };

export interface JobHooks {
  /** Filters connected clients before sampling (consent in force, organisation privacy caps). */
  eligible?(clients: readonly ConnectedClient[], round: number): { eligible: ConnectedClient[]; excluded: ExcludedClient[] };
  /**
   * How many eligible clients the round should wait for (up to its deadline) beyond minClients — e.g. DP: enough
   * that a short sample stays within the δ reserve, so a round does not start while nodes are still connecting.
   */
  eligibleWanted?(round: number): number;
  /** Before sampling: refuse a round that would overspend a budget. */
  beforeRound?(round: number, eligible: readonly ConnectedClient[]): BeforeRoundDecision;
  /**
   * Draws the round's sample. `draw(attempt)` is the loop's own draw from the (seed, round, 'sampling', attempt)
   * stream over `eligible` (sorted by client id). A feature may record the draw durably before it returns — tasks
   * leave only afterwards — and return the sample an earlier process drew for this round instead of drawing
   * again (DP: a restart must not re-roll a round's sample). At most one feature supplies it.
   */
  drawSample?(round: number, attempt: number, eligible: readonly ConnectedClient[], draw: (attempt: number) => Selection<ConnectedClient>): Selection<ConnectedClient>;
  /** The spec sent with this round's training tasks (e.g. DP's per-round clip norm); default the job's own. */
  taskSpec?(round: number, spec: JobSpec): JobSpec;
  /**
   * The round's aggregate is about to become computable (secure aggregation: before the unmask request; plain:
   * before the updates are summed) from exactly these participants. Charge here (the DP ledger commits in its
   * own transaction); throwing refuses the release — the protocol then releases nothing.
   */
  beforeRelease?(round: number, participants: readonly ConnectedClient[]): void;
  /**
   * The round's federated evaluation sum is about to be unmasked from exactly these participants, with this noise
   * (evaluation.noise; null: exact sums). The DP feature charges a noised release here; throwing releases nothing.
   */
  beforeEvaluationRelease?(round: number, participants: readonly ConnectedClient[], noise: EvaluationNoisePlan | null): void;
  /** A round came out short (fewer than minClients sampled or taking part): refuse to re-sample it. */
  shortRound?(round: number, got: number): BeforeRoundDecision;
  /** Extra per-round figures from the training outcome (e.g. privacy spent), merged into the record. */
  roundExtra?(round: number, outcome: TrainingOutcome): RoundSlots;
  /**
   * Persists a committed round (aggregate, ledger charge, audit entry) — in one transaction. `serverState` is the
   * server optimiser's state after the round (FedAdam's moments; null for FedAvg), committed with its weights.
   */
  commitRound?(record: RoundRecord, weights: Float32Array, serverState: ServerOptimizerState | null): void;
  onJobEnd?(result: JobResult): void;
}

export interface RunJobOptions {
  readonly jobId: string;
  readonly spec: JobSpec;
  readonly federation: Federation;
  readonly logger: Logger;
  /** Randomness for sampling: a CSPRNG unless a simulation asks for determinism. */
  readonly rng: RandomSource;
  readonly initialWeights: Float32Array;
  readonly strategy?: Strategy;
  readonly protocol?: TrainingProtocol;
  /**
   * The secure extensions of a round (privacy/secagg/extension.ts) from the spec its tasks carry: what the
   * clients add to their updates and the protocol sums. Default: those derivable from the spec alone
   * (adaptive clipping); assembleJob adds the data contract's drift layout.
   */
  readonly updateExtensions?: (roundSpec: JobSpec) => readonly UpdateExtension[];
  /** Central evaluation of the global model (simulations hold a test set); federated evaluation is a hook. */
  readonly evaluate?: (weights: Float32Array, round: number) => Promise<Evaluation>;
  readonly hooks?: JobHooks;
  /**
   * Federated evaluation on the clients' held-out splits runs every `evaluation.everyRounds` rounds and at
   * the end when there is no central evaluator, or always when this is set (fairness needs the clients'
   * subgroup counts); its figures are merged into the round record.
   */
  readonly federatedEvaluation?: {
    readonly always: boolean;
    readonly after?: (round: number, evaluation: FederatedEvaluation) => RoundSlots;
    readonly protocol?: EvaluationProtocol;
    /**
     * The production version of this model when the job started (same architecture), evaluated on the same
     * held-out rows in every federated evaluation — inside the round's ONE evaluation task and release (clients
     * evaluate once per job and round): the lineage's previous-production baseline (issue 13 §6).
     */
    readonly baseline?: { readonly version: string; readonly weights: Float32Array } | null;
  };
  /** How long to wait for `minClients` to connect, and for enough of them to be eligible, before each round. */
  readonly waitForClientsMs?: number;
  /**
   * How many clients could ever connect (the roster's size). With all of them connected and too few eligible,
   * waiting cannot help: the job ends at once with the reasons (issue 15 §3) instead of at the deadline.
   */
  readonly population?: number;
  /**
   * A resumed job's first round waits up to this long for the whole `population` to reconnect (clients back off
   * for up to ~12 s after a coordinator restart), so it does not start with whoever happened to be back first.
   */
  readonly resumeGraceMs?: number;
  readonly onRound?: (record: RoundRecord) => void;
  readonly signal?: AbortSignal;
  /**
   * Resuming a job after a restart (same job id): the first round to run and the weights to start from. Rounds
   * below `startRound` were committed or charged before the restart (coordinator/state/resume.ts).
   */
  readonly startRound?: number;
  /** Resuming: the server optimiser's state committed with the last committed round (resume.ts), null for FedAvg. */
  readonly initialServerState?: ServerOptimizerState | null;
  /**
   * The rounds committed before the restart (job_rows), oldest first: the job's result, its final figures and
   * the registered model's lineage cover the whole job, not just the rounds this process ran.
   */
  readonly previousRounds?: readonly RoundRecord[];
}

export async function runJob(options: RunJobOptions): Promise<JobResult> {
  const { spec, federation, hooks = {} } = options;
  const logger = options.logger.child({ job: options.jobId });
  const strategy = options.strategy ?? serverStrategy(spec.strategy);
  const protocol = options.protocol ?? plainTrainingProtocol('examples');
  let state: JobState = 'created';
  const move = (next: JobState): void => {
    assertJobTransition(state, next);
    state = next;
  };
  const rounds: RoundRecord[] = [...(options.previousRounds ?? [])];
  let weights: Float32Array = Float32Array.from(options.initialWeights);
  // The server optimiser's memory, continued from the committed round a resumed job starts after.
  let serverState: ServerOptimizerState | null = options.initialServerState ?? null;
  if (serverState === null && spec.strategy.name !== 'fedavg' && (options.previousRounds?.length ?? 0) > 0) {
    // Fresh moments under committed weights would silently change the optimiser's trajectory.
    throw new TesseraError('TESSERA_ERR_STRATEGY_STATE', `job ${options.jobId} resumes ${spec.strategy.name} after ${options.previousRounds?.length ?? 0} committed round(s) but no optimiser state was committed with them`);
  }
  // Resumed: the last committed round's figures stand until a round of this run replaces them.
  const last = rounds.at(-1);
  let finalEval: Evaluation | null = last && last.accuracy !== null && last.loss !== null ? { accuracy: last.accuracy, loss: last.loss } : null;

  const finish = (status: JobStatus, message: string): JobResult => {
    move(status === 'completed' ? 'completed' : status === 'failed' ? 'failed' : 'stopped');
    const result: JobResult = { jobId: options.jobId, status, message, rounds, weights, final: { accuracy: finalEval?.accuracy ?? null, loss: finalEval?.loss ?? null } };
    hooks.onJobEnd?.(result);
    logger.info({ status, rounds: rounds.length }, message);
    return result;
  };

  move('waiting');
  const waitMs = options.waitForClientsMs ?? spec.roundDeadlineMs;
  // The deadline is stated at the start, so an operator knows when a job that cannot start will say why.
  logger.info({ rounds: spec.rounds, minClients: spec.minClients, protocol: protocol.name, strategy: strategy.name, waitForEligibleMs: waitMs, population: options.population ?? null }, `job started: each round waits up to ${Math.round(waitMs / 1000)} s for ${spec.minClients}+ eligible client(s)`);
  move('running');
  const firstRound = options.startRound ?? 1;
  if (firstRound > 1 && options.resumeGraceMs !== undefined && options.population !== undefined) {
    await reconnectGrace(federation, options.population, options.resumeGraceMs, options.signal);
    logger.info({ connected: federation.clients().length, population: options.population }, 'resume grace period over');
  }
  for (let round = firstRound; round <= spec.rounds; round++) {
    let committed = false;
    let attempt = 0;
    for (let tries = 1; tries <= spec.maxRoundRetries + 1 && !committed; tries++) {
      if (options.signal?.aborted) return finish('stopped', 'job stopped on request');
      const log = logger.child({ round, attempt: attempt + 1 });
      const started = Date.now();
      // A roster smaller than minClients can never fill a round: no wait.
      const reachable = options.population === undefined || options.population >= spec.minClients;
      const enough = reachable && (await waitForConnected(federation, spec.minClients, started + waitMs, options.signal));
      if (options.signal?.aborted) return finish('stopped', 'job stopped on request');
      if (!enough) {
        // The whole deadline was spent waiting for connections: another attempt would only wait again.
        const connected = federation.clients().length;
        logger.warn({ round, tries, connected, minClients: spec.minClients }, 'too few clients connected by the deadline');
        return finish('failed', explainShortfall({ round, connected, eligible: connected, needed: spec.minClients, excluded: [], everyoneConnected: !reachable, waitedMs: Date.now() - started, ...(options.population !== undefined ? { population: options.population } : {}) }));
      }
      const lifecycle = new RoundLifecycle();
      const { eligible, excluded, connected, everyoneConnected } = await eligibleClients(options, round);
      if (options.signal?.aborted) return finish('stopped', 'job stopped on request');
      // Too few ELIGIBLE clients after the wait (or with everyone on the roster connected): the reasons are known
      // and no sample was drawn, so the job ends now, naming them — except when only privacy caps kept clients
      // out, which the DP feature reports as an exhausted budget (beforeRound below).
      const capsOnly = excluded.length > 0 && excluded.every((x) => x.code === 'TESSERA_ERR_BUDGET_EXCEEDED');
      if (eligible.length < spec.minClients && !capsOnly) {
        return finish('failed', explainShortfall({ round, connected, eligible: eligible.length, needed: spec.minClients, excluded, everyoneConnected, waitedMs: Date.now() - started }));
      }
      const decision = hooks.beforeRound?.(round, eligible) ?? { proceed: true };
      if (!decision.proceed) return finish(decision.status, decision.message);
      // Sorted by id and drawn from the (seed, round, 'sampling', attempt) stream: a seeded run samples the same
      // clients in round r whatever order they connected in and whether or not the process restarted before it.
      const pool = [...eligible].sort(byClientId);
      const draw = (a: number): Selection<ConnectedClient> => selectClients(spec.sampling, pool, roundStream(options.rng, round, 'sampling', a));
      const { selected, expected } = hooks.drawSample ? hooks.drawSample(round, attempt + 1, pool, draw) : draw(attempt + 1);
      attempt++;
      log.info({ eligible: eligible.length, selected: selected.length, expected }, 'round started');
      if (selected.length < spec.minClients) {
        lifecycle.to('failed');
        const stop = hooks.shortRound?.(round, selected.length);
        if (stop && !stop.proceed) return finish(stop.status, stop.message);
        log.warn({ selected: selected.length, minClients: spec.minClients }, 'too few clients selected; retrying');
        if (tries > spec.maxRoundRetries) return finish('failed', tooFew(round, selected.length, spec.minClients, attempt));
        await pauseBeforeRetry(tries);
        continue;
      }
      lifecycle.to('training');
      // Frozen: the spec tasks carry is a value (the federation names it by a hash computed once per spec object).
      const roundSpec = deepFreeze(hooks.taskSpec?.(round, spec) ?? spec);
      // The release gate: below minClients nothing is released; otherwise features charge before the aggregate exists.
      let refusal: TesseraError | null = null;
      let released = false;
      const beforeRelease = (participants: readonly ConnectedClient[]): void => {
        if (participants.length < spec.minClients) {
          throw new TesseraError('TESSERA_ERR_TOO_FEW_CLIENTS', `only ${participants.length} participant(s); the job needs ${spec.minClients} before anything is released`);
        }
        try {
          hooks.beforeRelease?.(round, participants);
        } catch (e) {
          refusal = e instanceof TesseraError ? e : new TesseraError('TESSERA_ERR_INTERNAL', String(e), { cause: e });
          throw refusal;
        }
        released = true;
        // After the gate's transaction committed: from here the aggregate is computable and the round is charged.
        log.info({ participants: participants.length, stage: 'release' }, 'release gate passed');
      };
      // Stage cues (the crash matrix, test/resume-crash-matrix.test.ts, kills on them): tasks leave now.
      log.info({ selected: selected.length, stage: 'training' }, 'training dispatched');
      const extensions = options.updateExtensions?.(roundSpec) ?? updateExtensionsForJob(roundSpec, undefined);
      const outcome = await protocol.run({ jobId: options.jobId, spec: roundSpec, round, selected, global: weights, federation, logger: log, beforeRelease, extensions });
      const refused = refusal as TesseraError | null;
      if (refused !== null) {
        const status: JobStatus = refused.code === 'TESSERA_ERR_BUDGET_EXCEEDED' ? 'budget-exhausted' : 'failed';
        return finish(status, `Round ${round} was not released (${refused.code}): ${refused.message}`);
      }
      if (outcome.participants.length < spec.minClients || !released) {
        lifecycle.to('failed');
        const stop = hooks.shortRound?.(round, outcome.participants.length);
        if (stop && !stop.proceed) return finish(stop.status, stop.message);
        log.warn({ participants: outcome.participants.length, dropped: outcome.dropped.length, declined: outcome.declined.length }, 'too few updates; retrying');
        if (tries > spec.maxRoundRetries) return finish('failed', `Round ${round} failed after ${attempt} attempt(s). ${explainShortRound(round, outcome.participants.length, spec.minClients, [...outcome.dropped, ...outcome.declined], secAggShortfall(spec, selected.length))}`);
        await pauseBeforeRetry(tries);
        continue;
      }
      lifecycle.to('aggregating');
      const step = strategy.apply(weights, outcome.aggregate, serverState);
      const next = step.weights;
      log.info({ stage: 'aggregated' }, 'round aggregated');
      lifecycle.to('evaluating');
      const evaluation = await evaluateRound(options, round, next, eligible);
      const record: RoundRecord = {
        round,
        // Sampled attempts only (waiting for connections is not one); always 1 when a feature forbids re-sampling.
        attempt,
        eligible: eligible.length,
        expectedParticipants: expected,
        selected: selected.length,
        participants: outcome.participants.length,
        participantOrgs: [...new Set(outcome.participants.map((p) => p.orgId))].sort(),
        dropped: outcome.dropped,
        declined: [...excluded, ...outcome.declined],
        trainLoss: outcome.trainLoss,
        accuracy: evaluation?.accuracy ?? null,
        loss: evaluation?.loss ?? null,
        durationMs: Date.now() - started,
        slowestTrainMs: outcome.slowestTrainMs,
        totalTrainMs: outcome.totalTrainMs,
        extra: { ...(outcome.clippedFraction !== null ? { clippedFraction: outcome.clippedFraction } : {}), ...(evaluation?.extra ?? {}), ...(hooks.roundExtra?.(round, outcome) ?? {}) },
      };
      log.info({ stage: 'commit' }, 'round committing');
      hooks.commitRound?.(record, next, step.state);
      lifecycle.to('committed');
      weights = next;
      serverState = step.state;
      finalEval = evaluation;
      rounds.push(record);
      committed = true;
      for (const d of record.dropped) log.warn({ client: d.clientId, code: d.code }, `client dropped: ${d.reason}`);
      for (const d of record.declined) log.warn({ client: d.clientId, code: d.code }, `client declined: ${d.reason}`);
      log.info({ participants: record.participants, accuracy: record.accuracy, loss: record.loss, ms: record.durationMs }, 'round committed');
      options.onRound?.(record);
    }
    if (!committed) throw new TesseraError('TESSERA_ERR_INTERNAL', `round ${round} neither committed nor failed`);
  }
  return finish('completed', `job completed after ${rounds.length} rounds`);
}

/**
 * Central evaluation when the caller holds a test set; federated evaluation on the clients' held-out splits
 * every K rounds and at the end (when there is no central evaluator, or when a feature asks for it). The
 * central figures, when present, are the round's accuracy and loss.
 */
async function evaluateRound(options: RunJobOptions, round: number, weights: Float32Array, clients: readonly ConnectedClient[]): Promise<Evaluation | null> {
  const central = options.evaluate ? await options.evaluate(weights, round) : null;
  const every = options.spec.evaluation.everyRounds;
  const due = round === options.spec.rounds || (every > 0 && round % every === 0);
  const wanted = options.federatedEvaluation?.always === true || central === null;
  if (!due || !wanted) return central;
  // The new weights leave the coordinator here: the round was charged before its aggregate existed (beforeRelease).
  options.logger.info({ job: options.jobId, round, stage: 'evaluation' }, 'evaluation dispatched');
  const gate = options.hooks?.beforeEvaluationRelease;
  const e = await federatedEvaluate({
    federation: options.federation,
    clients,
    jobId: options.jobId,
    spec: options.spec,
    round,
    weights,
    baseline: options.federatedEvaluation?.baseline,
    logger: options.logger.child({ job: options.jobId, round }),
    protocol: options.federatedEvaluation?.protocol,
    ...(gate ? { beforeRelease: (participants: readonly ConnectedClient[], noise: EvaluationNoisePlan | null) => gate(round, participants, noise) } : {}),
  });
  if (e === null) return central;
  const previousProduction = previousProductionOf(options, round, e);
  const extra: RoundSlots = {
    ...(central?.extra ?? {}),
    federatedEvaluation: {
      loss: e.loss,
      accuracy: e.accuracy,
      examples: e.examples,
      clients: e.clients,
      ...(e.brier !== undefined && e.labelCounts !== undefined ? { brier: e.brier, labelCounts: [...e.labelCounts] } : {}),
      ...(previousProduction !== null ? { previousProduction } : {}),
      ...(e.importanceCounts !== undefined ? { importanceCounts: [...e.importanceCounts] } : {}),
      ...(e.noise !== undefined ? { noise: { ...e.noise, estimate: 'noisy' as const } } : {}),
    },
    ...(options.federatedEvaluation?.after?.(round, e) ?? {}),
  };
  return central ? { ...central, extra } : { loss: e.loss, accuracy: e.accuracy, extra };
}

/**
 * The previous production version's figures from the round's one evaluation: the clients evaluated it on the very
 * rows the candidate's figures come from, in the same task. None when some evaluating client did not return them
 * (a figure over part of the rows would be compared with accuracy over all of them).
 */
function previousProductionOf(options: RunJobOptions, round: number, e: FederatedEvaluation): { version: string; accuracy: number; loss: number; brier: number } | null {
  const baseline = options.federatedEvaluation?.baseline;
  if (!baseline) return null;
  if (e.baseline === undefined) {
    options.logger.warn({ job: options.jobId, round, baseline: baseline.version }, 'not every evaluating client returned the previous production version\'s figures: no previous-production baseline this round');
    return null;
  }
  return { version: baseline.version, ...e.baseline };
}

function byClientId(a: ConnectedClient, b: ConnectedClient): number {
  return a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0;
}

/** A short, growing pause before retrying a round, so retries do not burn out in milliseconds. */
function pauseBeforeRetry(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.min(500 * attempt, 5000)));
}

function tooFew(round: number, got: number, min: number, attempts: number): string {
  return `Round ${round} failed after ${attempts} attempt(s): the sample drew ${got} client(s), the job needs at least ${min} (TESSERA_ERR_TOO_FEW_CLIENTS). Fix: raise the sampling rate (sampling.rate or clientsPerRound), or connect more eligible clients.`;
}

/** What the short-round advice needs of a secure round's plan (undefined without secure aggregation). */
function secAggShortfall(spec: JobSpec, selected: number): SecAggShortfall | undefined {
  if (!spec.secagg.enabled) return undefined;
  const pinned = spec.secagg.degree !== undefined && spec.secagg.threshold !== undefined;
  const { dropoutRate, corruptRate, threatModel } = spec.secagg;
  return pinned ? { selected } : { selected, finder: { dropoutRate, corruptRate, threatModel } };
}
