/**
 * A pool of training worker threads for simulations (issue 18 §1): the virtual clients' local training runs on
 * `workers` threads at once instead of one after another on the main thread. It is a `LocalTrainer`
 * (client/local-trainer.ts), so the client nodes are unchanged: each still admits the task, clips, noises and
 * masks its update on the main thread with its own random streams; only trainLocal moves.
 *
 * Why the result is bit-identical to the sequential run: a worker's answer is a pure function of the request
 * (global weights, examples, options with the batch-order seed, model spec) on the same backend; the DP noise of
 * each client comes from that client's own stream (seeded per client id under --seeded-noise, the CSPRNG
 * otherwise), so which client finishes first changes no draw; and the coordinator sums plain updates in client-id
 * order (coordinator/plain-round.ts), secure ones as integers mod 2^k, so arrival order changes no sum.
 *
 * Examples are shared, not copied: `shareExamples` moves a client's features and labels onto a
 * SharedArrayBuffer once, and a typed array on shared memory crosses postMessage as a view of the same memory.
 * Each worker initialises its own TensorFlow.js backend (`initMs`: from its start to its ready message).
 *
 * Scheduling (issue 18 §3): a round's tasks arrive together (every node gets its task at once); the pool collects
 * those that arrive in the same turn of the event loop, then hands them out longest first (examples × epochs: the
 * longest-processing-time rule, Graham 1969, whose makespan is within 4/3 of the optimum — a Dirichlet split's
 * clients differ several-fold in size, and a large one started last would keep one worker busy while the other
 * idles), in batches: a free worker takes tasks from the head of the queue until they hold about 1/(4 × workers)
 * of the work still queued — guided self-scheduling (Polychronopoulos & Kuck, IEEE Trans. Computers 36(12), 1987):
 * large batches first, smaller ones as the queue drains so the workers finish together — so 100 small tasks travel
 * in about 24 messages instead of 100, while a few large ones still go one at a time.
 * Which worker trains a task, and when, changes no bit of the result (see above).
 */
import { performance } from 'node:perf_hooks';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Examples } from '../datasets/types.ts';
import type { BackendName } from '../ml/backend.ts';
import { describeZodIssues, TesseraError, type ErrorCode, ERROR_CODES } from '../protocol/errors.ts';
import type { LocalTrainer, LocalTrainingResult, LocalTrainingTask } from '../client/local-trainer.ts';
import { WorkerReply, type PredictRequest, type TaskOutcome, type TrainRequest, type TrainTask, type WorkerRequest, type WorkerSetup } from './training-messages.ts';
import { takeBatch, type Schedulable } from './training-schedule.ts';

/** Set by the compiled build (bin/compiled-cli.mjs, an esbuild `define`): the directory holding its compiled worker. */
declare const __TESSERA_COMPILED_DIR__: string | undefined;

/** The worker's entry: the compiled copy beside the compiled CLI, else the sources' bootstrap (tsx). */
function workerEntry(): URL {
  if (typeof __TESSERA_COMPILED_DIR__ === 'string') return pathToFileURL(join(__TESSERA_COMPILED_DIR__, 'training-worker.js'));
  return new URL('./training-worker.mjs', import.meta.url);
}

/** A copy of the examples whose features, labels and weights live on shared memory (workers read them in place). */
export function shareExamples(e: Examples): Examples {
  const share = <A extends Float32Array | Int32Array>(a: A, make: (b: SharedArrayBuffer) => A): A => {
    if (a.buffer instanceof SharedArrayBuffer) return a;
    const out = make(new SharedArrayBuffer(a.byteLength));
    out.set(a);
    return out;
  };
  const x = share(e.x, (b) => new Float32Array(b));
  const y = share(e.y, (b) => new Int32Array(b));
  const weights = e.weights ? share(e.weights, (b) => new Float32Array(b)) : undefined;
  return { ...e, x, y, ...(weights ? { weights } : {}) };
}

interface Pending extends Schedulable {
  readonly task: TrainTask;
  resolve(r: LocalTrainingResult): void;
  reject(e: unknown): void;
}

/** A prediction asked of one worker (a slice of the central evaluation; simulations/pool-evaluation.ts). */
interface PendingPredict {
  readonly request: Omit<PredictRequest, 'type' | 'id'>;
  resolve(probs: Float32Array): void;
  reject(e: unknown): void;
}

type Busy = { readonly kind: 'train'; readonly id: number; readonly tasks: readonly Pending[] } | { readonly kind: 'predict'; readonly id: number; readonly job: PendingPredict };

interface Slot {
  readonly worker: Worker;
  readonly started: number;
  busy: Busy | undefined;
  /** The worker thread's CPU time at its last answer (ms; null where the platform does not tell). */
  threadCpuMs: number | null;
}

/** How one worker spent its life: its event loop's busy and idle time (from its ready message on) and its thread's CPU. */
export interface WorkerActivity {
  readonly busyMs: number;
  readonly idleMs: number;
  readonly cpuMs: number | null;
}

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

export class TrainingPool implements LocalTrainer {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  /** Predictions go before training: they are asked for between rounds, while the main thread waits on them. */
  private readonly predictions: PendingPredict[] = [];
  private nextOrder = 0;
  private nextId = 0;
  private closed = false;
  private dispatchScheduled = false;
  /** Training tasks the workers have completed. */
  trained = 0;
  /** Batches (messages) the workers were sent. */
  batches = 0;
  /** Each worker's start-up time (ms, from its creation to its ready message), in the order they became ready. */
  readonly initMs: number[] = [];
  /** Resolves when every worker has initialised its backend (or failed). */
  readonly ready: Promise<void>;

  constructor(
    readonly size: number,
    private readonly options: { readonly backend: BackendName; readonly logger: Logger },
  ) {
    if (!Number.isInteger(size) || size < 1) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `a training pool needs at least one worker, got ${size}`);
    const readies: Array<Promise<void>> = [];
    for (let i = 0; i < size; i++) {
      const setup: WorkerSetup = { backend: options.backend };
      const slot: Slot = { worker: new Worker(workerEntry(), { workerData: setup }), started: performance.now(), busy: undefined, threadCpuMs: null };
      this.slots.push(slot);
      readies.push(
        new Promise<void>((resolve) => {
          slot.worker.on('message', (raw: unknown) => this.onMessage(slot, raw, resolve));
          slot.worker.on('error', (e) => this.onFailure(slot, e, resolve));
          slot.worker.on('exit', (code) => this.onFailure(slot, new Error(`exited with code ${code}`), resolve));
        }),
      );
    }
    this.ready = Promise.all(readies).then(() => undefined);
  }

  /** Workers still alive. */
  get alive(): number {
    return this.slots.length;
  }

  train(task: LocalTrainingTask): Promise<LocalTrainingResult> {
    if (this.closed) return Promise.reject(new TesseraError('TESSERA_ERR_WORKER_FAILED', 'the training pool is closed'));
    if (this.slots.length === 0) return Promise.reject(new TesseraError('TESSERA_ERR_WORKER_FAILED', 'every training worker has failed'));
    const e = task.examples;
    const request: TrainTask = {
      model: task.model,
      modelSeed: task.modelSeed,
      // A copy goes to the worker: the node still needs its global vector to form the update.
      global: task.global,
      examples: { x: e.x, y: e.y, n: e.n, featureShape: [...e.featureShape], classes: e.classes, ...(e.weights ? { weights: e.weights } : {}) },
      options: { ...task.options },
    };
    return new Promise((resolve, reject) => {
      this.queue.push({ order: this.nextOrder++, cost: e.n * task.options.epochs, task: request, resolve, reject });
      // The rest of the round's tasks arrive in this same turn: schedule once they are all queued.
      if (!this.dispatchScheduled) {
        this.dispatchScheduled = true;
        setImmediate(() => {
          this.dispatchScheduled = false;
          this.dispatch();
        });
      }
    });
  }

  /** ml/train.ts predictProba on one worker (the next free one): n × classes probabilities. */
  predict(request: Omit<PredictRequest, 'type' | 'id'>): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new TesseraError('TESSERA_ERR_WORKER_FAILED', 'the training pool is closed'));
    if (this.slots.length === 0) return Promise.reject(new TesseraError('TESSERA_ERR_WORKER_FAILED', 'every training worker has failed'));
    return new Promise((resolve, reject) => {
      this.predictions.push({ request, resolve, reject });
      this.dispatch();
    });
  }

  /** Each live worker's activity so far (read it before close). */
  activity(): WorkerActivity[] {
    return this.slots.map((s) => {
      const elu = s.worker.performance.eventLoopUtilization();
      return { busyMs: elu.active, idleMs: elu.idle, cpuMs: s.threadCpuMs };
    });
  }

  close(): void {
    this.closed = true;
    const closing = (when: string) => new TesseraError('TESSERA_ERR_WORKER_FAILED', `the training pool closed ${when}`);
    for (const p of this.queue.splice(0)) p.reject(closing('before the task ran'));
    for (const p of this.predictions.splice(0)) p.reject(closing('before the prediction ran'));
    for (const s of this.slots.splice(0)) {
      failBusy(s.busy, closing('while the task ran'));
      void s.worker.terminate();
    }
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const job = this.predictions.shift();
      if (job) {
        const id = this.nextId++;
        slot.busy = { kind: 'predict', id, job };
        this.post(slot, { type: 'predict', id, ...job.request });
        continue;
      }
      if (this.queue.length === 0) continue;
      const tasks = this.queue.splice(0, takeBatch(this.queue, this.slots.length));
      const request: TrainRequest = { type: 'train', id: this.nextId++, tasks: tasks.map((p) => p.task) };
      slot.busy = { kind: 'train', id: request.id, tasks };
      this.batches++;
      this.post(slot, request);
    }
  }

  private post(slot: Slot, request: WorkerRequest): void {
    slot.worker.postMessage(request);
  }

  private onMessage(slot: Slot, raw: unknown, ready: () => void): void {
    const parsed = WorkerReply.safeParse(raw);
    if (!parsed.success) {
      this.onFailure(slot, new Error(`sent a malformed reply: ${describeZodIssues(parsed.error.issues)}`), ready);
      return;
    }
    const reply = parsed.data;
    if (reply.type === 'ready') {
      this.initMs.push(performance.now() - slot.started);
      this.options.logger.info({ backend: reply.backend, simd: reply.simd, threads: reply.threads, initMs: Math.round(performance.now() - slot.started) }, 'training worker ready');
      ready();
      return;
    }
    const busy = slot.busy;
    if (!busy || busy.id !== reply.id || !answers(busy, reply)) {
      this.onFailure(slot, new Error(`answered request ${reply.id} with ${reply.type}, which it was not asked (or not for every task of it)`), ready);
      return;
    }
    slot.busy = undefined;
    if (reply.type === 'refused') failBusy(busy, new TesseraError(isErrorCode(reply.code) ? reply.code : 'TESSERA_ERR_INTERNAL', reply.message));
    else {
      slot.threadCpuMs = reply.threadCpuMs;
      if (busy.kind === 'predict' && reply.type === 'predicted') busy.job.resolve(reply.probs);
      if (busy.kind === 'train' && reply.type === 'trained') {
        busy.tasks.forEach((pending, i) => {
          const outcome = reply.outcomes[i] as TaskOutcome;
          if (outcome.ok) {
            this.trained++;
            pending.resolve({ weights: outcome.weights, result: outcome.result });
          } else pending.reject(new TesseraError(isErrorCode(outcome.code) ? outcome.code : 'TESSERA_ERR_INTERNAL', outcome.message));
        });
      }
    }
    this.dispatch();
  }

  /** A worker that errs or exits is dropped; the tasks it held fail, the queue goes to the others. */
  private onFailure(slot: Slot, e: unknown, ready: () => void): void {
    ready();
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    void slot.worker.terminate();
    if (this.closed) return;
    const reason = e instanceof Error ? e.message : String(e);
    this.options.logger.error({ code: 'TESSERA_ERR_WORKER_FAILED', workersLeft: this.slots.length }, `a training worker failed: ${reason}`);
    failBusy(slot.busy, new TesseraError('TESSERA_ERR_WORKER_FAILED', `the training worker running this task failed: ${reason}`, { cause: e }));
    if (this.slots.length === 0) {
      const none = new TesseraError('TESSERA_ERR_WORKER_FAILED', `every training worker has failed (last: ${reason})`);
      for (const p of this.queue.splice(0)) p.reject(none);
      for (const p of this.predictions.splice(0)) p.reject(none);
    } else this.dispatch();
  }
}

/** Whether `reply` is an answer to `busy`: a refusal, or the right kind of result (one outcome per task). */
function answers(busy: Busy, reply: Exclude<WorkerReply, { type: 'ready' }>): boolean {
  if (reply.type === 'refused') return true;
  if (busy.kind === 'predict') return reply.type === 'predicted';
  return reply.type === 'trained' && reply.outcomes.length === busy.tasks.length;
}

function failBusy(busy: Busy | undefined, e: TesseraError): void {
  if (busy?.kind === 'predict') busy.job.reject(e);
  else for (const p of busy?.tasks ?? []) p.reject(e);
}
