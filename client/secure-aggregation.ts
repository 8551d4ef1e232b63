/**
 * The client node's secure aggregation: implements the `SecureSubmission` port with the SecAgg+ client state
 * machine (privacy/secagg/client.ts). The update it receives is already clipped and noised (the DP mod runs
 * before); here it is quantised (stochastic rounding from the CSPRNG) and masked, and the stage messages are
 * answered. An evaluate task's input is its integer evaluation vector, masked as is (exact sums). The round's setup arrives right after the TrainTask and is held until the update is ready; the
 * key advertisement then answers the task. The client checks the coordinator's (n, k, t, dim) against what it
 * computes itself from the job spec, and resolves other clients' identity keys from its OWN roster copy.
 * A refusal (e.g. a request for both shares of one neighbour) is logged as an error and ends this client's
 * part in the round; nothing more is revealed.
 */
import type { Logger } from 'pino';
import { TesseraError } from '../protocol/errors.ts';
import type { ClientMessage, EvaluateTask, SecAggToClient, TrainTask } from '../protocol/messages.ts';
import type { SecAggClientMessage } from '../protocol/secagg.ts';
import { cryptoRandom, type RandomSource } from '../privacy/random.ts';
import { SecAggClient } from '../privacy/secagg/client.ts';
import type { Ed25519Identity } from '../privacy/secagg/crypto/ed25519.ts';
import type { ResolveIdentity } from '../privacy/secagg/identity-directory.ts';
import { planForJob } from '../privacy/secagg/job-plan.ts';
import { encodeForSecAgg } from '../privacy/secagg/plan.ts';
import { encodeEvaluationInput, EVALUATION_HEADER, evaluationPlanForJob } from '../privacy/secagg/evaluation-input.ts';
import type { SecureInput, SecureSubmission } from './secure-submission.ts';

export interface SecureAggregationOptions {
  readonly clientId: string;
  /** This client's long-term Ed25519 identity (its public key is in everyone's roster). */
  readonly identity: Ed25519Identity;
  /** This organisation's copy of the identity roster (never taken from the coordinator). */
  readonly resolveIdentity: ResolveIdentity;
  readonly logger: Logger;
  /** Quantisation rounding and protocol secrets: a CSPRNG (seeded only in tests that say so). */
  readonly rng?: RandomSource;
  /** Sees the quantised input before masking (tests recompute the plain sum from it). Never sent anywhere. */
  readonly onEncoded?: (task: TrainTask | EvaluateTask, input: Uint32Array) => void;
}

interface Session {
  readonly taskId: string;
  task?: TrainTask | EvaluateTask;
  input?: SecureInput;
  setup?: SecAggToClient;
  client?: SecAggClient;
}

/** Sessions for tasks whose setup arrived but whose update never came are forgotten beyond this many. */
const MAX_SESSIONS = 16;

export class SecureAggregation implements SecureSubmission {
  private readonly sessions = new Map<string, Session>();
  private readonly rng: RandomSource;
  /** Refusals and aborts, for operators and tests (codes and messages; never secrets). */
  readonly refusals: Array<{ taskId: string; code: string; message: string }> = [];

  constructor(private readonly options: SecureAggregationOptions) {
    this.rng = options.rng ?? cryptoRandom();
  }

  begin(task: TrainTask | EvaluateTask, input: SecureInput, send: (m: ClientMessage) => void): void {
    const s = this.session(task.taskId);
    s.task = task;
    s.input = input;
    this.tryStart(s, send);
  }

  handle(msg: SecAggToClient, send: (m: ClientMessage) => void): void {
    const s = this.sessions.get(msg.taskId) ?? (msg.message.type === 'secagg.setup' ? this.session(msg.taskId) : undefined);
    if (s === undefined) {
      this.options.logger.warn({ code: 'TESSERA_ERR_UNEXPECTED_MESSAGE', task: msg.taskId, type: msg.message.type }, 'ignored a secure-aggregation message for no open task');
      return;
    }
    if (s.client === undefined) {
      if (msg.message.type === 'secagg.setup') {
        s.setup = msg;
        this.tryStart(s, send);
      } else if (msg.message.type === 'secagg.abort') this.sessions.delete(s.taskId);
      else this.options.logger.warn({ code: 'TESSERA_ERR_UNEXPECTED_MESSAGE', type: msg.message.type }, 'secure-aggregation message before the setup ignored');
      return;
    }
    this.step(s, msg, send);
  }

  private session(taskId: string): Session {
    let s = this.sessions.get(taskId);
    if (s === undefined) {
      if (this.sessions.size >= MAX_SESSIONS) {
        const oldest = this.sessions.keys().next().value;
        if (oldest !== undefined) this.sessions.delete(oldest);
      }
      s = { taskId };
      this.sessions.set(taskId, s);
    }
    return s;
  }

  private tryStart(s: Session, send: (m: ClientMessage) => void): void {
    const { task, input, setup } = s;
    if (task === undefined || input === undefined || setup === undefined) return;
    const log = this.options.logger.child({ job: task.jobId, round: task.round });
    if (setup.jobId !== task.jobId || setup.round !== task.round || setup.message.type !== 'secagg.setup') {
      this.refuse(s, task, new TesseraError('TESSERA_ERR_SECAGG_PROTOCOL', 'secure-aggregation setup does not belong to this task'), send, log);
      return;
    }
    try {
      const plan = planInput(task, input, setup.message.clients.length, this.rng);
      if (setup.message.dim !== plan.dim) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `the coordinator's round expects ${setup.message.dim} coordinates; this client's ${task.type} input has ${plan.dim} (another job layout)`);
      const encoded = plan.encoded;
      this.options.onEncoded?.(task, encoded);
      s.client = new SecAggClient({
        clientId: this.options.clientId,
        identity: this.options.identity,
        resolveIdentity: this.options.resolveIdentity,
        input: encoded,
        rng: this.rng,
        // The coordinator's (k, t) must be what the job spec gives for this n, so it cannot lower the threshold.
        acceptParams: (p) => p.k === plan.k && p.t === plan.t,
      });
      log.info({ clients: plan.clients, k: plan.k, t: plan.t, dim: plan.dim, task: task.type }, `secure aggregation: ${task.type === 'train' ? 'update quantised' : 'evaluation counts ready'}, advertising keys`);
    } catch (e) {
      this.refuse(s, task, e, send, log);
      return;
    }
    this.step(s, setup, send);
  }

  private step(s: Session, msg: SecAggToClient, send: (m: ClientMessage) => void): void {
    const client = s.client as SecAggClient;
    const log = this.options.logger.child({ job: msg.jobId, round: msg.round });
    let reply: SecAggClientMessage | undefined;
    try {
      reply = client.handle(msg.message);
    } catch (e) {
      const err = asError(e);
      this.refusals.push({ taskId: s.taskId, code: err.code, message: err.message });
      if (client.stage === 'aborted') {
        // Logged as an error: a refusal may mean a coordinator breaking the protocol (e.g. asking for both shares).
        log.error({ code: err.code, stage: msg.message.type }, `secure aggregation refused and aborted: ${err.message}`);
        this.sessions.delete(s.taskId);
      } else log.warn({ code: err.code }, `secure-aggregation message refused: ${err.message}`);
      return;
    }
    if (msg.message.type === 'secagg.abort') {
      log.warn({ code: msg.message.code }, `coordinator aborted secure aggregation: ${msg.message.reason}`);
    }
    if (reply !== undefined) send({ type: 'secagg', jobId: msg.jobId, round: msg.round, taskId: s.taskId, message: reply });
    if (client.stage === 'done' || client.stage === 'aborted') this.sessions.delete(s.taskId);
  }

  /** Before any key is advertised: decline the task with the reason (nothing secret has been produced). */
  private refuse(s: Session, task: TrainTask | EvaluateTask, e: unknown, send: (m: ClientMessage) => void, log: Logger): void {
    const err = asError(e);
    this.refusals.push({ taskId: s.taskId, code: err.code, message: err.message });
    log.error({ code: err.code }, `secure aggregation refused the round: ${err.message}`);
    this.sessions.delete(s.taskId);
    send({ type: 'decline', jobId: task.jobId, round: task.round, taskId: task.taskId, reason: { code: err.code, message: err.message.slice(0, 500) } });
  }
}

/**
 * The round's plan and this client's encoded input: a training update is quantised (plan.ts); an evaluation
 * result is an exact integer vector checked against its public bounds (evaluation-input.ts). Each kind of
 * task takes only its own kind of input, so counts never ride a training round or an update an evaluation.
 */
function planInput(task: TrainTask | EvaluateTask, input: SecureInput, clients: number, rng: RandomSource): { clients: number; k: number; t: number; dim: number; encoded: Uint32Array } {
  if (task.type === 'evaluate') {
    if (input.counts === undefined || input.counts.length < EVALUATION_HEADER) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', 'a secure evaluation needs the integer evaluation vector [examples, correct, loss, ...counts]');
    const plan = evaluationPlanForJob(task.job, clients, input.counts.length - EVALUATION_HEADER);
    return { ...plan, encoded: encodeEvaluationInput(input.counts, plan) };
  }
  if (input.update === undefined) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', 'a secure training round needs the update; integer counts are sent by federated evaluation');
  const plan = planForJob(task.job, clients, input.update.length);
  return { ...plan, encoded: encodeForSecAgg(plan, input.update, Math.max(0, Math.round(input.weight)), rng) };
}

function asError(e: unknown): TesseraError {
  return e instanceof TesseraError ? e : new TesseraError('TESSERA_ERR_INTERNAL', e instanceof Error ? e.message : String(e), { cause: e });
}
