/**
 * The client node: runs next to an organisation's data, answers the coordinator's tasks one at a time, and
 * sends back only what the protocol allows — an update (new − global weights, after the mods' clipping and
 * noise; masked when the job uses secure aggregation) and counts. Raw rows never leave. Every inbound
 * message is parsed against protocol/messages.ts.
 */
import type { Logger } from 'pino';
import type * as tf from '@tensorflow/tfjs';
import { describeZodIssues, TesseraError } from '../protocol/errors.ts';
import { ServerMessage, type ClientMessage, type EvaluateTask, type TrainTask, type UpdateExtensions, type UpdateFeatures } from '../protocol/messages.ts';
import { decodeFloat32, decodeUint32, encodeFloat32 } from '../protocol/tensor.ts';
import type { ClientTransport } from '../protocol/transport.ts';
import type { JobSpec } from '../protocol/job/spec.ts';
import type { ModelSpec } from '../protocol/job/model.ts';
import type { ClientData } from './held-out-split.ts';
import { selectRows } from '../datasets/types.ts';
import { buildModel } from '../ml/model.ts';
import { setFlatWeights } from '../ml/weights.ts';
import { evaluate } from '../ml/train.ts';
import { inProcessTrainer, type LocalTrainer } from './local-trainer.ts';
import { admit, beforeRelease, evaluationExtras, prepareTrainingData, transformUpdate, type ClientMod, type TaskContext } from './mods/mod.ts';
import type { SecureSubmission } from './secure-submission.ts';
import type { TrainingTurns } from './training-turns.ts';
import { TaskSpecs } from './task-specs.ts';
import { evaluationInput, releaseCarriesBaseline, type BaselineSums, type EvaluationSums } from '../privacy/secagg/evaluation-input.ts';
import { clientImportanceCounts, importanceWanted } from '../ml/explain/importance-for-job.ts';

export type { ClientData } from './held-out-split.ts';

/** Models a node keeps between tasks (one per architecture it was sent; a job has one). */
const MODELS_KEPT = 4;

export interface ClientNodeOptions {
  readonly clientId: string;
  readonly orgId: string;
  readonly transport: ClientTransport;
  /** The local data, or a function of the job that derives it (e.g. `heldOutSplitForJob`; cached per job). */
  readonly data: ClientData | ((job: JobSpec) => ClientData);
  readonly logger: Logger;
  readonly mods?: readonly ClientMod[];
  /** Secure aggregation, required to take part in jobs that turn it on. */
  readonly secure?: SecureSubmission;
  /**
   * What this node sends in the clear beyond the update (the policy's `disclose` section). With DP on and
   * `trainingDiagnostics` false (the default) the plain update carries no example count, loss, time or clipped
   * bit: facts about local data that the ε does not cover.
   */
  readonly disclosure?: { readonly trainingDiagnostics: boolean };
  /** Turns on the process's TensorFlow.js backend, shared by every node of the process (training-turns.ts). */
  readonly turns: TrainingTurns;
  /**
   * Where local training runs (client/local-trainer.ts): default this thread; a simulation may pass its worker
   * pool. Only the training itself moves — clipping, noise and secure aggregation stay on this node.
   */
  readonly trainer?: LocalTrainer;
}

export interface ClientNodeEvents {
  onRefused?(code: string, message: string): void;
  onError?(code: string, message: string): void;
}

export class ClientNode {
  private readonly models = new Map<string, tf.LayersModel>();
  private readonly splits = new Map<string, ClientData>();
  private readonly specs = new TaskSpecs();
  private closing = false;
  private readonly logger: Logger;
  private readonly trainer: LocalTrainer;
  readonly received: { errors: Array<{ code: string; message: string }> } = { errors: [] };

  constructor(
    private readonly options: ClientNodeOptions,
    events: ClientNodeEvents = {},
  ) {
    this.logger = options.logger.child({ client: options.clientId, org: options.orgId });
    this.trainer = options.trainer ?? inProcessTrainer((model, seed) => this.modelFor(model, seed));
    const t = options.transport;
    t.onConnect(() => this.logger.info('connected to coordinator'));
    t.onDisconnect((reason) => {
      if (!this.closing) this.logger.warn({ reason }, 'disconnected from the coordinator; reconnecting');
    });
    t.onRefused((code, message) => {
      this.logger.error({ code }, message);
      events.onRefused?.(code, message);
    });
    t.onMessage((raw) => {
      // The socket delivers from a timer callback: a throw here is an uncaught exception that ends the client
      // process. Whatever a peer's message makes the reading code throw (three such ways were found in the review
      // of protocol 6), the node drops that message and keeps serving.
      try {
        this.receive(raw, events);
      } catch (e) {
        this.logger.error({ code: 'TESSERA_ERR_MESSAGE_INVALID', err: e }, 'dropped a message this node could not read');
      }
    });
  }

  private receive(raw: unknown, events: ClientNodeEvents): void {
    const parsed = ServerMessage.safeParse(raw);
    if (!parsed.success) {
      this.logger.warn({ code: 'TESSERA_ERR_MESSAGE_INVALID' }, `ignored a malformed message: ${describeZodIssues(parsed.error.issues)}`);
      return;
    }
    const msg = parsed.data;
    switch (msg.type) {
      case 'error':
        this.received.errors.push({ code: msg.code, message: msg.message });
        this.logger.warn({ code: msg.code }, msg.message);
        events.onError?.(msg.code, msg.message);
        return;
      case 'welcome':
        return;
      case 'secagg':
        if (this.options.secure) this.options.secure.handle(msg, (m) => this.send(m));
        else this.logger.warn({ code: 'TESSERA_ERR_UNEXPECTED_MESSAGE' }, 'ignored a secure-aggregation message: this node has no secure aggregation');
        return;
      case 'train':
      case 'evaluate': {
        const resolved = this.specs.resolve(msg, (raw as { job?: unknown }).job);
        if (!resolved.ok) {
          this.logger.warn({ code: resolved.code }, `refused a task: ${resolved.message}`);
          this.send({ type: 'decline', jobId: msg.jobId, round: msg.round, taskId: msg.taskId, reason: { code: resolved.code, message: resolved.message } });
          return;
        }
        void this.handle(resolved.task).catch((e: unknown) => this.logger.error({ err: e }, 'task failed'));
      }
    }
  }

  close(): void {
    this.closing = true;
    this.options.transport.close();
    for (const m of this.models.values()) m.dispose();
    this.models.clear();
  }

  private model(task: TrainTask | EvaluateTask): tf.LayersModel {
    return this.modelFor(task.job.model, task.job.seed);
  }

  /**
   * The model for `spec`, built once and kept for the next tasks — at most MODELS_KEPT of them, least recently used
   * dropped (and disposed) first: the specs come from the coordinator, and one that sent a new architecture with
   * every task would otherwise make this node hold models without end. Tasks run one at a time per node (turns),
   * so no task is using a model when another's request drops it.
   */
  private modelFor(spec: ModelSpec, seed: string | number): tf.LayersModel {
    const key = JSON.stringify(spec);
    let m = this.models.get(key);
    if (m) this.models.delete(key);
    else m = buildModel(spec, { seed });
    this.models.set(key, m);
    for (const [old, model] of this.models) {
      if (this.models.size <= MODELS_KEPT) break;
      this.models.delete(old);
      model.dispose();
    }
    return m;
  }

  /** How many models this node holds (bounded by MODELS_KEPT). */
  get heldModels(): number {
    return this.models.size;
  }

  private dataFor(job: JobSpec): ClientData {
    const d = this.options.data;
    if (typeof d !== 'function') return d;
    const key = JSON.stringify([job.seed, job.fairness.heldOutFraction, job.fairness.sensitive]);
    let split = this.splits.get(key);
    if (!split) {
      split = d(job);
      this.splits.set(key, split);
    }
    return split;
  }

  private async handle(task: TrainTask | EvaluateTask): Promise<void> {
    const log = this.logger.child({ job: task.jobId, round: task.round });
    const ctx: TaskContext = { task, clientId: this.options.clientId, orgId: this.options.orgId, logger: log, coordinatorIdentity: this.options.transport.coordinatorIdentity?.() };
    const mods = this.options.mods ?? [];
    const decline = (code: string, message: string, extra: object = {}): void =>
      this.send({ type: 'decline', jobId: task.jobId, round: task.round, taskId: task.taskId, reason: { code, message, ...extra } });
    if (task.job.secagg.enabled && !this.options.secure) {
      decline('TESSERA_ERR_SECAGG_PROTOCOL', 'this client node cannot take part in secure aggregation');
      return;
    }
    const admission = await admit(mods, ctx);
    if (!admission.accept) {
      log.warn({ code: admission.reason.code }, `declining ${task.type} task: ${admission.reason.message}`);
      this.send({ type: 'decline', jobId: task.jobId, round: task.round, taskId: task.taskId, reason: admission.reason });
      return;
    }
    // The round's secure-aggregation setup is judged before training, so a declined round costs no training. The
    // wait for the setup holds no training turn: a coordinator that never sends one cannot stall this node's (or,
    // in a simulation, every node's) other tasks.
    if (task.job.secagg.enabled && this.options.secure && !(await this.options.secure.screen(task, (m) => this.send(m), admission.extensions))) return;
    // One task at a time per process — training is CPU-bound and the backend is single-threaded — or one per
    // worker when a simulation's training pool is the trainer (the turns then have that many slots).
    await this.options.turns.run(
      async () => {
        try {
          if (task.type === 'train') await this.train(task, { ...ctx, task }, mods, admission.extensions ?? {});
          else await this.evaluateTask(task, { ...ctx, task }, mods);
        } catch (e) {
          const err = e instanceof TesseraError ? e : new TesseraError('TESSERA_ERR_INTERNAL', (e as Error).message, { cause: e });
          log.error({ code: err.code }, `task failed: ${err.message}`);
          decline(err.code, err.message.slice(0, 500));
        }
      },
      (e: unknown) => this.logger.error({ err: e }, 'task failed'),
    );
  }

  private async train(task: TrainTask, ctx: TaskContext & { task: TrainTask }, mods: readonly ClientMod[], admitted: UpdateExtensions): Promise<void> {
    const global = decodeFloat32(task.weights);
    const t = task.job.training;
    const data = prepareTrainingData(mods, this.dataFor(task.job).train, ctx);
    const { weights: local, result } = await this.trainer.train({
      model: task.job.model,
      modelSeed: task.job.seed,
      global,
      examples: data,
      options: {
        epochs: t.epochs,
        batchSize: t.batchSize,
        learningRate: t.learningRate,
        optimizer: t.optimizer,
        shuffleSeed: `${String(task.job.seed)}/${this.options.clientId}/${task.round}`,
        // FedProx: the job's μ travels in the task's spec (strategy.proximalMu); the anchor is the global model the
        // trainer starts from.
        ...(task.job.strategy.proximalMu !== undefined ? { proximalMu: task.job.strategy.proximalMu } : {}),
      },
    });
    const delta = new Float32Array(local.length);
    for (let i = 0; i < delta.length; i++) delta[i] = (local[i] ?? 0) - (global[i] ?? 0);
    const out = transformUpdate(mods, delta, ctx);
    ctx.logger.debug({ loss: result.loss, ms: result.millis }, 'local training done');
    // The last moment to refuse: the policy mod records the contribution here (a throw declines the task).
    beforeRelease(mods, ctx);
    // The numeric feature data (contract-check sums, adaptive-clipping indicator): one definition for both paths.
    const extensions: UpdateExtensions = { ...admitted, ...out.extensions };
    if (task.job.secagg.enabled && this.options.secure) {
      // Inside the masked input; the diagnostics (loss, time, clipped bit) are not sent at all.
      this.options.secure.begin(task, { update: out.update, weight: result.examples, extensions }, (m) => this.send(m));
      return;
    }
    const diagnostics = !task.job.dp.enabled || this.options.disclosure?.trainingDiagnostics === true;
    this.send(encodeUpdate({ task, update: out.update, features: diagnostics ? out.features : {}, extensions, ...(diagnostics ? { diagnostics: { examples: result.examples, loss: result.loss, millis: result.millis } } : {}) }));
  }

  private async evaluateTask(task: EvaluateTask, ctx: TaskContext & { task: EvaluateTask }, mods: readonly ClientMod[]): Promise<void> {
    const model = this.model(task);
    setFlatWeights(model, decodeFloat32(task.weights));
    const local = this.dataFor(task.job);
    const all = local.heldOut ?? local.train;
    // With evaluation noise the job bounds each client's vector by W examples (privacy/dp/evaluation-noise.ts): the
    // first W held-out rows are evaluated, the rest are not.
    const cap = task.job.evaluation.noise?.maxExamplesPerClient;
    const data = cap !== undefined && all.n > cap ? selectRows(all, Array.from({ length: cap }, (_, i) => i)) : all;
    // Which rows the figures come from, for the organisation's operator (counts only: no row leaves).
    if (local.heldOut !== undefined) ctx.logger.info({ rows: 'held-out', examples: data.n, trainingRows: local.train.n, heldOutFraction: task.job.fairness.heldOutFraction }, `evaluating on ${data.n} held-out rows (kept out of training; ${local.train.n} rows train)`);
    else ctx.logger.warn({ rows: 'training', examples: data.n }, `evaluating on the ${data.n} training rows: this node was given no held-out split`);
    const r = evaluate(model, data);
    const extras = evaluationExtras(mods, model, data, ctx);
    // The final evaluation of a job that asks for it: permutation-importance counts on the same held-out rows.
    const importance = importanceWanted(task.job, task.round) ? clientImportanceCounts(model, data, task.job, this.options.clientId) : undefined;
    // The previous production version, when the task carries it: the SAME rows, in the same (one) release.
    let baseline: BaselineSums | undefined;
    if (task.baseline !== undefined) {
      setFlatWeights(model, decodeFloat32(task.baseline.weights));
      const b = evaluate(model, data);
      baseline = { correct: Math.round(b.accuracy * data.n), lossSum: b.loss * data.n, brierSum: b.brierSum };
      ctx.logger.info({ baseline: task.baseline.version.slice(0, 12) }, 'evaluated the previous production version on the same rows');
    }
    const sums: EvaluationSums = { examples: data.n, lossSum: r.loss * data.n, correct: Math.round(r.accuracy * data.n), brierSum: r.brierSum, labelCounts: [...r.labelCounts], ...(baseline ? { baseline } : {}) };
    // The last moment to refuse: the policy mod records the evaluation here (once per job and round; a throw declines).
    beforeRelease(mods, ctx);
    if (task.job.secagg.enabled && this.options.secure) {
      // Masked: the coordinator only ever unmasks the clients' summed [examples, correct, loss, Brier, ...label counts, ...importance, ...counts].
      const counts = evaluationInput({ ...sums, importanceCounts: importance, fairnessCounts: extras.fairnessCounts ? decodeUint32(extras.fairnessCounts) : undefined }, releaseCarriesBaseline(task.job, task.baseline !== undefined));
      this.options.secure.begin(task, { counts, weight: data.n }, (m) => this.send(m));
      return;
    }
    this.send({ type: 'evaluate-result', jobId: task.jobId, round: task.round, taskId: task.taskId, ...sums, labelCounts: [...sums.labelCounts], ...(importance ? { importanceCounts: [...importance] } : {}), ...extras });
  }

  private send(message: ClientMessage): void {
    this.options.transport.send(message);
  }
}

function encodeUpdate(o: { task: TrainTask; update: Float32Array; features: UpdateFeatures; extensions: UpdateExtensions; diagnostics?: { examples: number; loss: number; millis: number } }): ClientMessage {
  const d = o.diagnostics;
  return {
    type: 'update',
    jobId: o.task.jobId,
    round: o.task.round,
    taskId: o.task.taskId,
    update: encodeFloat32(o.update),
    ...(d ? { examples: d.examples, trainLoss: d.loss, trainMillis: d.millis } : {}),
    ...(Object.keys(o.features).length > 0 ? { features: o.features } : {}),
    ...(Object.keys(o.extensions).length > 0 ? { extensions: o.extensions } : {}),
  };
}
