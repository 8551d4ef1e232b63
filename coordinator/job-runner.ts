/**
 * Runs a job round by round: (1) check eligibility and the budget, sample clients; (2) the training phase
 * (plain or secure aggregation); (3) apply the strategy; (4) evaluate; (5) commit the round. A round with
 * fewer than `minClients` participants is retried up to `maxRoundRetries` times, then the job fails with a
 * clear message. Features hook in at the marked points (`JobHooks`) instead of forking this loop.
 */
import type { Logger } from 'pino';
import { TesseraError } from '../protocol/errors.ts';
import type { JobSpec } from '../protocol/job/spec.ts';
import type { RandomSource } from '../privacy/random.ts';
import type { ConnectedClient, Federation } from './federation.ts';
import { federatedEvaluate, type EvaluationProtocol, type FederatedEvaluation } from './federated-eval.ts';
import { plainTrainingProtocol, type TrainingOutcome, type TrainingProtocol } from './plain-round.ts';
import { RoundLifecycle, assertJobTransition, type JobState } from './round-state.ts';
import type { ExcludedClient, JobResult, JobStatus, RoundRecord, RoundSlots } from './round-records.ts';
import { selectClients } from './sampling.ts';
import { fedAvg, type Strategy } from './strategy.ts';

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
  /** Before sampling: refuse a round that would overspend a budget. */
  beforeRound?(round: number, eligible: readonly ConnectedClient[]): BeforeRoundDecision;
  /** The spec sent with this round's training tasks (e.g. DP's per-round clip norm); default the job's own. */
  taskSpec?(round: number, spec: JobSpec): JobSpec;
  /** Extra per-round figures from the training outcome (e.g. privacy spent), merged into the record. */
  roundExtra?(round: number, outcome: TrainingOutcome): RoundSlots;
  /** Persists a committed round (aggregate, ledger charge, audit entry) — in one transaction. */
  commitRound?(record: RoundRecord, weights: Float32Array): void;
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
  /** Central evaluation of the global model (simulations hold a test set); federated evaluation is a hook. */
  readonly evaluate?: (weights: Float32Array, round: number) => Promise<Evaluation>;
  readonly hooks?: JobHooks;
  /**
   * Federated evaluation on the clients' held-out splits runs every `evaluation.everyRounds` rounds and at
   * the end when there is no central evaluator, or always when this is set (fairness needs the clients'
   * subgroup counts); its figures are merged into the round record.
   */
  readonly federatedEvaluation?: { readonly always: boolean; readonly after?: (round: number, evaluation: FederatedEvaluation) => RoundSlots; readonly protocol?: EvaluationProtocol };
  /** How long to wait for `minClients` to connect before each round. */
  readonly waitForClientsMs?: number;
  readonly onRound?: (record: RoundRecord) => void;
  readonly signal?: AbortSignal;
}

export async function runJob(options: RunJobOptions): Promise<JobResult> {
  const { spec, federation, hooks = {} } = options;
  const logger = options.logger.child({ job: options.jobId });
  const strategy = options.strategy ?? fedAvg({ serverLearningRate: spec.strategy.serverLearningRate });
  const protocol = options.protocol ?? plainTrainingProtocol('examples');
  let state: JobState = 'created';
  const move = (next: JobState): void => {
    assertJobTransition(state, next);
    state = next;
  };
  const rounds: RoundRecord[] = [];
  let weights: Float32Array = Float32Array.from(options.initialWeights);
  let finalEval: Evaluation | null = null;

  const finish = (status: JobStatus, message: string): JobResult => {
    move(status === 'completed' ? 'completed' : status === 'failed' ? 'failed' : 'stopped');
    const result: JobResult = { jobId: options.jobId, status, message, rounds, weights, final: { accuracy: finalEval?.accuracy ?? null, loss: finalEval?.loss ?? null } };
    hooks.onJobEnd?.(result);
    logger.info({ status, rounds: rounds.length }, message);
    return result;
  };

  move('waiting');
  logger.info({ rounds: spec.rounds, minClients: spec.minClients, protocol: protocol.name, strategy: strategy.name }, 'job started');
  move('running');
  for (let round = 1; round <= spec.rounds; round++) {
    let committed = false;
    for (let attempt = 1; attempt <= spec.maxRoundRetries + 1 && !committed; attempt++) {
      if (options.signal?.aborted) return finish('stopped', 'job stopped on request');
      const log = logger.child({ round, attempt });
      try {
        await federation.waitForClients(spec.minClients, options.waitForClientsMs ?? spec.roundDeadlineMs);
      } catch (e) {
        logger.warn({ round, attempt }, (e as Error).message);
        if (attempt <= spec.maxRoundRetries) continue;
        return finish('failed', `Round ${round} failed after ${attempt} attempt(s) (TESSERA_ERR_TOO_FEW_CLIENTS): ${(e as Error).message}`);
      }
      const started = Date.now();
      const lifecycle = new RoundLifecycle();
      const { eligible, excluded } = await eligibleClients(options, round);
      const decision = hooks.beforeRound?.(round, eligible) ?? { proceed: true };
      if (!decision.proceed) return finish(decision.status, decision.message);
      const { selected, expected } = selectClients(spec.sampling, eligible, options.rng);
      log.info({ eligible: eligible.length, selected: selected.length, expected }, 'round started');
      if (selected.length < spec.minClients) {
        lifecycle.to('failed');
        log.warn({ selected: selected.length, minClients: spec.minClients }, 'too few clients selected; retrying');
        if (attempt > spec.maxRoundRetries) return finish('failed', tooFew(round, selected.length, spec.minClients, attempt));
        await pauseBeforeRetry(attempt);
        continue;
      }
      lifecycle.to('training');
      const roundSpec = hooks.taskSpec?.(round, spec) ?? spec;
      const outcome = await protocol.run({ jobId: options.jobId, spec: roundSpec, round, selected, global: weights, federation, logger: log });
      if (outcome.participants.length < spec.minClients) {
        lifecycle.to('failed');
        log.warn({ participants: outcome.participants.length, dropped: outcome.dropped.length, declined: outcome.declined.length }, 'too few updates; retrying');
        if (attempt > spec.maxRoundRetries) return finish('failed', tooFew(round, outcome.participants.length, spec.minClients, attempt));
        await pauseBeforeRetry(attempt);
        continue;
      }
      lifecycle.to('aggregating');
      const next = strategy.apply(weights, outcome.aggregate);
      lifecycle.to('evaluating');
      const evaluation = await evaluateRound(options, round, next, eligible);
      const record: RoundRecord = {
        round,
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
      hooks.commitRound?.(record, next);
      lifecycle.to('committed');
      weights = next;
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
  const e = await federatedEvaluate({ federation: options.federation, clients, jobId: options.jobId, spec: options.spec, round, weights, logger: options.logger.child({ job: options.jobId, round }), protocol: options.federatedEvaluation?.protocol });
  if (e === null) return central;
  const extra: RoundSlots = { ...(central?.extra ?? {}), federatedEvaluation: { loss: e.loss, accuracy: e.accuracy, examples: e.examples, clients: e.clients }, ...(options.federatedEvaluation?.after?.(round, e) ?? {}) };
  return central ? { ...central, extra } : { loss: e.loss, accuracy: e.accuracy, extra };
}

/**
 * The clients a round may sample. Connected is not enough: consent or a privacy cap may exclude some, so
 * while fewer than `minClients` are eligible the coordinator waits for further connections (up to
 * `waitForClientsMs`) before the attempt counts as short.
 */
async function eligibleClients(options: RunJobOptions, round: number): Promise<{ eligible: ConnectedClient[]; excluded: ExcludedClient[] }> {
  const { federation, hooks = {}, spec } = options;
  const until = Date.now() + (options.waitForClientsMs ?? spec.roundDeadlineMs);
  for (;;) {
    const connected = federation.clients();
    const r = hooks.eligible?.(connected, round) ?? { eligible: connected, excluded: [] };
    if (r.eligible.length >= spec.minClients || Date.now() >= until) return r;
    // A new connection, or the wait's end (the next pass then returns what is eligible by then).
    await federation.waitForConnection(until - Date.now());
  }
}

/** A short, growing pause before retrying a round, so retries do not burn out in milliseconds. */
function pauseBeforeRetry(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.min(500 * attempt, 5000)));
}

function tooFew(round: number, got: number, min: number, attempts: number): string {
  return `Round ${round} failed after ${attempts} attempt(s): ${got} client(s) took part, the job needs at least ${min} (TESSERA_ERR_TOO_FEW_CLIENTS). Connect more clients, lower minClients, or raise the sampling rate.`;
}
