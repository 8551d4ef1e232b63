/**
 * The run threads of a parallel sweep (`tessera sweep --parallel N`): N worker threads, each running whole
 * simulations one after another (simulations/sweep/run-worker.ts). A sweep's runs are independent — each has its
 * own seed, its own data split and its own outputs — so they parallelise without any coordination between them,
 * and each run's start-up, data loading and contract checks overlap another's instead of waiting for a free core
 * as the clients of one simulation must (`tessera simulate --workers`, docs/researcher.md#parallel-clients---workers).
 * A thread keeps its V8 isolate for the whole sweep, so only its first run pays for compiling and warming up
 * TensorFlow.js and the simulation code.
 *
 * A thread that crashes or exits fails the run it held (TESSERA_ERR_WORKER_FAILED) and is replaced when the next
 * run waits for a thread, so one bad run does not shrink the pool; a thread that cannot start at all fails its run
 * the same way. Replacing on demand, not at the death: a sweep that stops at that failure starts no new isolate
 * while its other runs finish, and a thread that dies at start-up is not restarted in a loop with nothing to run.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describeZodIssues, ERROR_CODES, TesseraError, type ErrorCode } from '../../protocol/errors.ts';
import type { RunFigures } from './run-figures.ts';
import { RunReply, type RunRequest, type RunThreadSetup } from './run-messages.ts';

/** Set by the compiled build (bin/compiled-cli.mjs, an esbuild `define`): the directory holding its compiled workers. */
declare const __TESSERA_COMPILED_DIR__: string | undefined;

/** The run thread's entry: the compiled copy beside the compiled CLI, else the sources' bootstrap (tsx). */
function workerEntry(): URL {
  if (typeof __TESSERA_COMPILED_DIR__ === 'string') return pathToFileURL(join(__TESSERA_COMPILED_DIR__, 'sweep-run-worker.js'));
  return new URL('./run-worker.mjs', import.meta.url);
}

interface Held {
  readonly id: number;
  readonly what: string;
  resolve(f: RunFigures): void;
  reject(e: unknown): void;
}

/** A run waiting for a thread. */
interface Queued {
  readonly input: Record<string, unknown>;
  readonly seed: number | string;
  readonly dir: string;
  readonly what: string;
  readonly onStart: (() => void) | undefined;
  resolve(f: RunFigures): void;
  reject(e: unknown): void;
}

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** One run thread: one run at a time. */
class RunThread {
  private held: Held | undefined;
  private dead = false;

  constructor(
    private readonly worker: Worker,
    private readonly onDeath: (thread: RunThread) => void,
  ) {
    worker.on('message', (raw: unknown) => this.onMessage(raw));
    worker.on('error', (e) => this.die(e instanceof Error ? e.message : String(e)));
    worker.on('exit', (code) => this.die(`exited with code ${code}`));
  }

  get idle(): boolean {
    return !this.dead && this.held === undefined;
  }

  run(request: RunRequest, what: string): Promise<RunFigures> {
    return new Promise((resolve, reject) => {
      this.held = { id: request.id, what, resolve, reject };
      this.worker.postMessage(request);
    });
  }

  /** Stops the thread; a run it still holds fails (it would otherwise never settle: die() ignores a dead thread). */
  terminate(): Promise<number> {
    this.fail('the pool closed while it ran');
    return this.worker.terminate();
  }

  private onMessage(raw: unknown): void {
    const parsed = RunReply.safeParse(raw);
    const held = this.held;
    if (!parsed.success || !held || parsed.data.id !== held.id) {
      this.die(parsed.success ? `answered run ${parsed.data.id}, which it was not running` : `sent a malformed reply: ${describeZodIssues(parsed.error.issues)}`);
      return;
    }
    this.held = undefined;
    const reply = parsed.data;
    if (reply.type === 'finished') held.resolve(reply.figures);
    else held.reject(new TesseraError(isErrorCode(reply.code) ? reply.code : 'TESSERA_ERR_INTERNAL', reply.message, reply.details === undefined ? undefined : { details: reply.details }));
  }

  /** Fails the run it held and leaves the pool (once): a crash, an exit, or a reply that breaks the protocol. */
  private die(reason: string): void {
    if (this.dead) return;
    this.fail(reason);
    void this.worker.terminate();
    this.onDeath(this);
  }

  /** Marks the thread dead and fails the run it held, if any. */
  private fail(reason: string): void {
    this.dead = true;
    const held = this.held;
    this.held = undefined;
    held?.reject(new TesseraError('TESSERA_ERR_WORKER_FAILED', `the sweep's run thread running ${held.what} failed: ${reason}`));
  }
}

export class SweepRunPool {
  private readonly threads: RunThread[] = [];
  private readonly queue: Queued[] = [];
  private nextId = 0;
  private closed = false;

  constructor(
    readonly size: number,
    private readonly setup: RunThreadSetup,
  ) {
    if (!Number.isInteger(size) || size < 1) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `a sweep runs at least one run at a time, got ${size}`);
    for (let i = 0; i < size; i++) this.threads.push(this.spawn());
  }

  /**
   * Runs one simulation as soon as a thread is free, in the order asked: `input` are its settings, `seed` its seed,
   * `dir` where its outputs go, `what` names it in errors; `onStart` is called when a thread takes it.
   */
  run(input: Record<string, unknown>, seed: number | string, dir: string, what: string, onStart?: () => void): Promise<RunFigures> {
    if (this.closed) return Promise.reject(new TesseraError('TESSERA_ERR_WORKER_FAILED', 'the sweep run pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ input, seed, dir, what, onStart, resolve, reject });
      this.dispatch();
    });
  }

  /** Runs not yet started are refused with `reason` (those running finish). */
  cancelQueued(reason: TesseraError): void {
    for (const q of this.queue.splice(0)) q.reject(reason);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.cancelQueued(new TesseraError('TESSERA_ERR_WORKER_FAILED', 'the sweep run pool closed before the run started'));
    await Promise.all(this.threads.splice(0).map((t) => t.terminate()));
  }

  private dispatch(): void {
    while (!this.closed && this.threads.length < this.size && this.threads.filter((t) => t.idle).length < this.queue.length) this.threads.push(this.spawn());
    for (const thread of this.threads) {
      if (!thread.idle) continue;
      const next = this.queue.shift();
      if (!next) return;
      next.onStart?.();
      // The next run starts a turn of the event loop later, so that whoever awaits this one's outcome (a sweep that
      // stops at its first failure, run.ts) can cancel the queue before a thread takes its head.
      const later = () => setImmediate(() => this.dispatch());
      thread.run({ type: 'run', id: this.nextId++, input: next.input, seed: next.seed, dir: next.dir }, next.what).then(
        (f) => {
          next.resolve(f);
          later();
        },
        (e: unknown) => {
          next.reject(e);
          later();
        },
      );
    }
  }

  private spawn(): RunThread {
    const worker = new Worker(workerEntry(), { workerData: this.setup });
    return new RunThread(worker, (dead) => {
      // Out of the pool; dispatch() starts a replacement when a run waits for one (see the header).
      const i = this.threads.indexOf(dead);
      if (i >= 0) this.threads.splice(i, 1);
    });
  }
}
