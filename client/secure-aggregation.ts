/**
 * The client node's secure aggregation: implements the `SecureSubmission` port with the SecAgg+ client state
 * machine (privacy/secagg/client.ts). The update it receives is already clipped and noised (the DP mod runs
 * before); here it is quantised (stochastic rounding from the CSPRNG), its secure extensions (contract-check
 * sums, adaptive-clipping indicator: privacy/secagg/extension.ts) are appended, and the whole vector is masked; the stage messages are
 * answered. An evaluate task's input is its integer evaluation vector, masked as is (exact sums). The round's
 * setup arrives right after the TrainTask; the node screens it (`screen`) BEFORE training, so a setup the
 * policy refuses costs no training, and it is held until the update is ready; the key advertisement then
 * answers the task. With `evaluation.noise` an evaluation vector gets this client's share of discrete Gaussian noise
 * on every coordinate (privacy/dp/evaluation-noise.ts) before masking. The setup is judged by the ORGANISATION's policy (`policy`, privacy/secagg/acceptance.ts),
 * never by figures the coordinator sends: a setup below it is declined with TESSERA_ERR_SECAGG_POLICY naming
 * the rule. The round id must be the one derived from (job id, round, task id) and never seen before; the
 * setup hash binds the job spec (its canonical hash), roster, n, k, t, seed and flags into every signature.
 * Other clients' identity keys come from this organisation's OWN roster copy. A refusal before any key is
 * advertised is a coded decline of the task; a later one (e.g. a request for both shares of one neighbour)
 * is logged as an error and ends this client's part in the round; nothing more is revealed.
 */
import type { Logger } from 'pino';
import { TesseraError } from '../protocol/errors.ts';
import { jobSpecHash } from '../lib/job-spec-hash.ts';
import type { ClientMessage, EvaluateTask, SecAggToClient, TrainTask, UpdateExtensions } from '../protocol/messages.ts';
import type { SecAggClientMessage, SecAggSetup } from '../protocol/secagg.ts';
import { cryptoRandom, type RandomSource, roundStream } from '../privacy/random.ts';
import { dpPlanForJob } from '../privacy/dp/config.ts';
import { SecAggClient } from '../privacy/secagg/client.ts';
import { acceptSetup } from '../privacy/secagg/acceptance.ts';
import { DEFAULT_SECAGG_CLIENT_POLICY, type SecAggClientPolicy } from '../privacy/secagg/client-policy.ts';
import { hexToBytes } from '../privacy/secagg/crypto/bytes.ts';
import { ReplayRegister, roundIdForTask, type RoundIdRegister } from '../privacy/secagg/round-id.ts';
import type { Ed25519Identity } from '../privacy/secagg/crypto/ed25519.ts';
import type { ResolveIdentity } from '../privacy/secagg/identity-directory.ts';
import { planForJob } from '../privacy/secagg/job-plan.ts';
import { encodeForSecAgg } from '../privacy/secagg/plan.ts';
import { driftKeysInVector } from '../governance/contract/drift-extension.ts';
import { updateExtensionsForJob } from '../privacy/secagg/extensions-for-job.ts';
import { addEvaluationNoise, encodeEvaluationInput, evaluationPlanForJob, evaluationPrefixLength, releaseCarriesBaseline } from '../privacy/secagg/evaluation-input.ts';
import { importanceLength } from '../ml/explain/importance-for-job.ts';
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
  /** The organisation's secure-aggregation policy (its policy file); DEFAULT_SECAGG_CLIENT_POLICY when absent. */
  readonly policy?: SecAggClientPolicy;
  /**
   * Where the round ids this node took part in are remembered: the node's participation record under --state
   * (client/policy/participation.ts), so a replay after a restart is refused too. Default: in memory only.
   */
  readonly roundIds?: RoundIdRegister;
  /** Sees the quantised input before masking (tests recompute the plain sum from it). Never sent anywhere. */
  readonly onEncoded?: (task: TrainTask | EvaluateTask, input: Uint32Array) => void;
}

interface Session {
  readonly taskId: string;
  task?: TrainTask | EvaluateTask;
  input?: SecureInput;
  setup?: SecAggToClient;
  client?: SecAggClient;
  /** The round id this session recorded in the replay register (recorded once, at screening or start). */
  claimed?: string;
  /** A screen() waiting for this task's setup. */
  onSetup?: () => void;
}

/** Sessions for tasks whose setup arrived but whose update never came are forgotten beyond this many. */
const MAX_SESSIONS = 16;

export class SecureAggregation implements SecureSubmission {
  private readonly sessions = new Map<string, Session>();
  private readonly rng: RandomSource;
  /** Round ids this node already took part in: a replayed round id is refused. */
  private readonly replays: RoundIdRegister;
  /** Refusals and aborts, for operators and tests (codes and messages; never secrets). */
  readonly refusals: Array<{ taskId: string; code: string; message: string }> = [];

  constructor(private readonly options: SecureAggregationOptions) {
    this.rng = options.rng ?? cryptoRandom();
    this.replays = options.roundIds ?? new ReplayRegister();
  }

  /**
   * Judges the task's setup before any training (issue 10): waits for it (up to the job's round deadline) and
   * checks everything that does not need the update — the round id, (k, t) against the job spec, the update's
   * length, the organisation's policy floors — and records the round id. A refusal is the same coded decline
   * begin() would send, sent now, so a declined round costs no training. Resolves false when declined.
   */
  async screen(task: TrainTask | EvaluateTask, send: (m: ClientMessage) => void, extensions?: UpdateExtensions): Promise<boolean> {
    const s = this.session(task.taskId);
    s.task = task;
    if (s.setup === undefined) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, task.job.roundDeadlineMs);
        timer.unref();
        s.onSetup = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      s.onSetup = undefined;
    }
    // No setup yet (a slow coordinator): train anyway; begin() checks everything when it comes.
    if (s.setup === undefined) return this.sessions.has(task.taskId);
    const log = this.options.logger.child({ job: task.jobId, round: task.round });
    try {
      // A training update has the global model's length; an evaluation vector's length is known only after evaluating.
      this.checkSetup(s, task, task.type === 'train' ? task.weights.shape.reduce((a, b) => a * b, 1) : undefined, extensions);
      log.info({ task: task.type }, 'secure aggregation: setup accepted by this organisation\'s policy before local work');
      return true;
    } catch (e) {
      this.refuse(s, task, e, send, log);
      return false;
    }
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
        s.onSetup?.();
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

  /**
   * Every check of a setup against the task that needs no key: setup for this task, round id derived from
   * (job, round, task id) and not used before (recorded here, once per session), (k, t) as the job spec gives for
   * this n, `dim` (when known) as the input's, and the organisation's policy floors (acceptance.ts; the SecAgg
   * client checks them again). Returns the plan's inputs the caller needs; throws the coded refusal.
   */
  private checkSetup(s: Session, task: TrainTask | EvaluateTask, updateLength: number | undefined, extensions?: UpdateExtensions): { roundId: string; minSurvivors: number } {
    const setup = s.setup as SecAggToClient;
    if (setup.jobId !== task.jobId || setup.round !== task.round || setup.message.type !== 'secagg.setup') {
      throw new TesseraError('TESSERA_ERR_SECAGG_PROTOCOL', 'secure-aggregation setup does not belong to this task');
    }
    const setupMsg = setup.message;
    const derived = roundIdForTask(task);
    if (setupMsg.roundId !== derived.roundId || setupMsg.index !== derived.index) {
      throw new TesseraError('TESSERA_ERR_SECAGG_ROUND_REPLAY', `the setup names round ${setupMsg.roundId} (index ${setupMsg.index}); this task derives ${derived.roundId} (index ${derived.index})`);
    }
    if (setupMsg.clients[setupMsg.index] !== this.options.clientId) throw new TesseraError('TESSERA_ERR_SECAGG_PROTOCOL', `the setup names index ${setupMsg.index} as ${setupMsg.clients[setupMsg.index]}, not this client`);
    if (task.type === 'train' && updateLength !== undefined) {
      // The masked vector is the update plus the job's secure extensions (the contract check's sums, whose layout the
      // admission fixed, and the adaptive-clipping indicator), so the expected length includes them.
      const contract = extensions?.dataContract;
      const layout = updateExtensionsForJob(task.job, contract === undefined ? undefined : driftKeysInVector(contract.length));
      checkPlan(setupMsg, planForJob(task.job, setupMsg.clients.length, updateLength, layout, { jobId: task.jobId, round: task.round }), task.type);
    }
    // Under DP each client's noise share assumes ≥ m survivors in any released sum (privacy/dp/config.ts).
    const minSurvivors = task.job.dp.enabled ? dpPlanForJob(task.job).minSurvivors : 1;
    acceptSetup({ clients: setupMsg.clients.length, k: setupMsg.k, t: setupMsg.t, consistencyCheck: setupMsg.consistencyCheck }, this.options.policy ?? DEFAULT_SECAGG_CLIENT_POLICY, { minSurvivors });
    if (s.claimed !== derived.roundId) {
      this.replays.claim(derived.roundId);
      s.claimed = derived.roundId;
    }
    return { roundId: derived.roundId, minSurvivors };
  }

  private tryStart(s: Session, send: (m: ClientMessage) => void): void {
    const { task, input, setup } = s;
    if (task === undefined || input === undefined || setup === undefined) return;
    const log = this.options.logger.child({ job: task.jobId, round: task.round });
    try {
      const { roundId, minSurvivors } = this.checkSetup(s, task, undefined);
      const setupMsg = setup.message as SecAggSetup;
      // Stochastic rounding from round r's own stream when seeded: a resumed simulation encodes the same sum (issue 14 §1).
      const plan = planInput(task, input, setupMsg.clients.length, roundStream(this.rng, task.round, `secagg-encode-${task.type}`));
      checkPlan(setupMsg, plan, task.type);
      const client = new SecAggClient({
        clientId: this.options.clientId,
        identity: this.options.identity,
        resolveIdentity: this.options.resolveIdentity,
        input: plan.encoded,
        rng: this.rng,
        policy: this.options.policy ?? DEFAULT_SECAGG_CLIENT_POLICY,
        jobHash: hexToBytes(jobSpecHash(task.job)),
        expectedRoundId: roundId,
        minSurvivors,
      });
      // The policy check runs on the setup itself: a refusal here is a decline, before any key exists.
      const first = client.handle(setupMsg);
      this.options.onEncoded?.(task, plan.encoded);
      s.client = client;
      log.info({ clients: plan.clients, k: plan.k, t: plan.t, dim: plan.dim, task: task.type }, `secure aggregation: ${task.type === 'train' ? 'update quantised' : 'evaluation counts ready'}, advertising keys`);
      if (first !== undefined) send({ type: 'secagg', jobId: setup.jobId, round: setup.round, taskId: s.taskId, message: first });
    } catch (e) {
      this.refuse(s, task, e, send, log);
      return;
    }
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
    const rule = err.details?.['rule'];
    log.error({ code: err.code, ...(typeof rule === 'string' ? { rule } : {}) }, `secure aggregation declined the round: ${err.message}`);
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
    // The importance counts' length is the job's (final round, flag on), never read off this client's vector.
    const importance = importanceLength(task.job, task.round);
    // The baseline block's presence is the task's (did it carry baseline weights?) and the spec's, never the vector's.
    const baselineSent = task.baseline !== undefined;
    const prefix = evaluationPrefixLength(task.job, importance, releaseCarriesBaseline(task.job, baselineSent));
    if (input.counts === undefined || input.counts.length < prefix) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', 'a secure evaluation needs the integer evaluation vector [examples, correct, loss, Brier, ...label counts, ...importance counts, ...baseline, ...fairness counts]');
    const plan = evaluationPlanForJob(task.job, clients, input.counts.length - prefix, importance, baselineSent);
    // With evaluation.noise: this client's share of the discrete Gaussian on every coordinate, after the bounds check.
    return { ...plan, encoded: addEvaluationNoise(encodeEvaluationInput(input.counts, plan), plan, rng) };
  }
  if (input.update === undefined) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', 'a secure training round needs the update; integer counts are sent by federated evaluation');
  // The drift layout's size comes from this client's own contract (its dataContract vector); the coordinator's
  // setup must have the same vector length, or the round is refused below as another job layout.
  const contract = input.extensions?.dataContract;
  const plan = planForJob(task.job, clients, input.update.length, updateExtensionsForJob(task.job, contract === undefined ? undefined : driftKeysInVector(contract.length)), { jobId: task.jobId, round: task.round });
  return { ...plan, encoded: encodeForSecAgg(plan, input.update, Math.max(0, Math.round(input.weight)), rng, input.extensions ?? {}) };
}

/** The setup's dimension and (k, t) must be what the job spec gives for this n and this input. */
function checkPlan(setup: SecAggSetup, plan: { clients: number; k: number; t: number; dim: number }, kind: string): void {
  if (setup.dim !== plan.dim) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `the coordinator's round expects ${setup.dim} coordinates; this client's ${kind} input has ${plan.dim} (another job layout)`);
  // The coordinator's own job spec gives (k, t) for this n: a setup that departs from it is inconsistent.
  if (setup.k !== plan.k || setup.t !== plan.t) throw new TesseraError('TESSERA_ERR_SECAGG_PARAMS', `the setup's k = ${setup.k}, t = ${setup.t} are not what the job spec gives for n = ${plan.clients} (k = ${plan.k}, t = ${plan.t})`);
}

function asError(e: unknown): TesseraError {
  return e instanceof TesseraError ? e : new TesseraError('TESSERA_ERR_INTERNAL', e instanceof Error ? e.message : String(e), { cause: e });
}
