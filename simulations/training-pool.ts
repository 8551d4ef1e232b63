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
 * Each worker initialises its own TensorFlow.js backend (its `initMs` is reported).
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Examples } from '../datasets/types.ts';
import type { BackendName } from '../ml/backend.ts';
import { describeZodIssues, TesseraError, type ErrorCode, ERROR_CODES } from '../protocol/errors.ts';
import type { LocalTrainer, LocalTrainingResult, LocalTrainingTask } from '../client/local-trainer.ts';
import { WorkerReply, type TrainRequest, type WorkerSetup } from './training-messages.ts';

/** Set by the compiled build (bin/compiled-cli.mjs, an esbuild `define`): the directory holding its compiled worker. */
declare const __TESSERA_COMPILED_DIR__: string | undefined;

/** Worker threads for a simulation when none are asked for: one per core the process may use. */
export function defaultTrainingWorkers(): number {
  return availableParallelism();
}

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

interface Pending {
  readonly request: TrainRequest;
  resolve(r: LocalTrainingResult): void;
  reject(e: unknown): void;
}

interface Slot {
  readonly worker: Worker;
  busy: Pending | undefined;
}

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

export class TrainingPool implements LocalTrainer {
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 0;
  private closed = false;
  /** Training tasks the workers have completed. */
  trained = 0;
  /** Each worker's TensorFlow.js initialisation time (ms), in the order they became ready. */
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
      const worker = new Worker(workerEntry(), { workerData: setup });
      const slot: Slot = { worker, busy: undefined };
      this.slots.push(slot);
      readies.push(
        new Promise<void>((resolve) => {
          worker.on('message', (raw: unknown) => this.onMessage(slot, raw, resolve));
          worker.on('error', (e) => this.onFailure(slot, e, resolve));
          worker.on('exit', (code) => this.onFailure(slot, new Error(`exited with code ${code}`), resolve));
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
    const request: TrainRequest = {
      id: this.nextId++,
      model: task.model,
      modelSeed: task.modelSeed,
      // A copy goes to the worker: the node still needs its global vector to form the update.
      global: task.global,
      examples: { x: e.x, y: e.y, n: e.n, featureShape: [...e.featureShape], classes: e.classes, ...(e.weights ? { weights: e.weights } : {}) },
      options: { ...task.options },
    };
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      this.dispatch();
    });
  }

  close(): void {
    this.closed = true;
    for (const p of this.queue.splice(0)) p.reject(new TesseraError('TESSERA_ERR_WORKER_FAILED', 'the training pool closed before the task ran'));
    for (const s of this.slots.splice(0)) {
      s.busy?.reject(new TesseraError('TESSERA_ERR_WORKER_FAILED', 'the training pool closed while the task ran'));
      void s.worker.terminate();
    }
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (slot.busy) continue;
      const next = this.queue.shift();
      if (!next) return;
      slot.busy = next;
      slot.worker.postMessage(next.request);
    }
  }

  private onMessage(slot: Slot, raw: unknown, ready: () => void): void {
    const parsed = WorkerReply.safeParse(raw);
    if (!parsed.success) {
      this.onFailure(slot, new Error(`sent a malformed reply: ${describeZodIssues(parsed.error.issues)}`), ready);
      return;
    }
    const reply = parsed.data;
    if (reply.type === 'ready') {
      this.initMs.push(reply.initMs);
      this.options.logger.info({ backend: reply.backend, simd: reply.simd, threads: reply.threads, initMs: Math.round(reply.initMs) }, 'training worker ready');
      ready();
      return;
    }
    const pending = slot.busy;
    if (!pending || pending.request.id !== reply.id) {
      this.onFailure(slot, new Error(`answered task ${reply.id}, which it was not given`), ready);
      return;
    }
    slot.busy = undefined;
    if (reply.type === 'trained') this.trained++;
    if (reply.type === 'trained') pending.resolve({ weights: reply.weights, result: reply.result });
    else pending.reject(new TesseraError(isErrorCode(reply.code) ? reply.code : 'TESSERA_ERR_INTERNAL', reply.message));
    this.dispatch();
  }

  /** A worker that errs or exits is dropped; the task it held fails, the queue goes to the others. */
  private onFailure(slot: Slot, e: unknown, ready: () => void): void {
    ready();
    const i = this.slots.indexOf(slot);
    if (i < 0) return;
    this.slots.splice(i, 1);
    void slot.worker.terminate();
    if (this.closed) return;
    const reason = e instanceof Error ? e.message : String(e);
    this.options.logger.error({ code: 'TESSERA_ERR_WORKER_FAILED', workersLeft: this.slots.length }, `a training worker failed: ${reason}`);
    slot.busy?.reject(new TesseraError('TESSERA_ERR_WORKER_FAILED', `the training worker running this task failed: ${reason}`, { cause: e }));
    if (this.slots.length === 0) {
      for (const p of this.queue.splice(0)) p.reject(new TesseraError('TESSERA_ERR_WORKER_FAILED', `every training worker has failed (last: ${reason})`));
    } else this.dispatch();
  }
}
