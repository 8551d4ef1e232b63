/**
 * Splits mask accumulation across worker threads while staying synchronous for the caller: the main thread
 * posts one job to each worker of a small pool, takes batches of masks from the same shared counter itself
 * (work stealing, so a core that other processes keep busy simply takes fewer batches), then blocks in
 * Atomics.wait until every worker has published its partial sum Σ sign·PRG(key) mod 2^32, and adds them in.
 * Addition in Z_(2^32) is associative and commutative, so any split gives the bit-exact result.
 *
 * A worker that fails or does not answer in time is dropped from the pool and the batches it took are
 * recomputed on the main thread (the owner of each batch is recorded in shared memory), so a broken worker
 * costs time, never correctness. Each thread derives the pairwise mask keys of the batches it takes
 * (mask-plan.mjs), so agreed secrets never cross threads; the direct keys and the owners' X25519 scalars go to
 * each worker as a transferred copy that the worker wipes; partial sums are zeroed after use (mask material).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { MaskAccumulator, simdModule } from './mask-kernel.mjs';
import type { MaskPlan, MaskPlanData } from './mask-plan.mjs';

const DONE = 1;
/** Workers beyond the second core add little: AES and the adds are memory-light and CPU-bound. */
const MAX_WORKERS = 3;

let pool: Worker[] | undefined;

/** Worker threads to use besides the main thread: cores − 1, capped. */
export function defaultMaskWorkers(): number {
  return Math.max(0, Math.min(MAX_WORKERS, availableParallelism() - 1));
}

function workers(count: number): Worker[] {
  pool ??= [];
  while (pool.length < count) {
    const w = new Worker(new URL('./mask-worker.mjs', import.meta.url));
    w.unref(); // never keeps a process alive
    const drop = (): void => {
      pool = pool?.filter((x) => x !== w);
    };
    w.on('error', drop);
    w.on('exit', drop);
    pool.push(w);
  }
  return pool.slice(0, count);
}

function forget(w: Worker): void {
  pool = pool?.filter((x) => x !== w);
  void w.terminate();
}

/**
 * For the recovery test only: every worker throws when it takes its (afterBatches + 1)-th batch, holding it,
 * or when it finds no batch left.
 */
export interface InjectedWorkerFailure {
  readonly afterBatches: number;
}

/** Where the time of one accumulation went, summed over the threads that took batches (ms of thread time). */
export interface MaskWorkStats {
  /** Deriving pairwise keys: X25519 agreement and HKDF. */
  readonly deriveMs: number;
  /** Generating AES-CTR keystream and adding it (the mask stripping proper). */
  readonly streamMs: number;
  /** Threads whose batches counted (the caller's and the workers that finished). */
  readonly threads: number;
  /** Workers that failed or stalled, and the batches they had taken, redone on the calling thread. */
  readonly failedWorkers: number;
  readonly redoneBatches: number;
}

/** A transferable copy of the plan for one worker: the secret arrays are fresh copies the worker wipes. */
function copyFor(data: MaskPlanData): { data: MaskPlanData; transfer: ArrayBuffer[] } {
  const directKeys = data.directKeys.slice();
  const ownerKeys = data.ownerKeys.slice();
  return { data: { ...data, directKeys, ownerKeys }, transfer: [directKeys.buffer, ownerKeys.buffer] };
}

/**
 * acc ← acc + Σ sign·PRG(key) mod 2^32 over every mask of `plan`, using the main thread and `workerCount`
 * workers; each thread derives the pairwise keys of the batches it takes. `plan.data` holds the caller's flat
 * copies of the secrets (the caller wipes them).
 */
export function accumulateParallel(acc: Uint32Array, plan: MaskPlan, workerCount: number, inject?: InjectedWorkerFailure): MaskWorkStats {
  const module = simdModule();
  const main = new MaskAccumulator(module, acc.length);
  const accBytes = new Uint8Array(acc.buffer, acc.byteOffset, acc.byteLength);
  main.memory.set(accBytes);
  const batches = plan.batches;
  const counter = new SharedArrayBuffer(4);
  const owner = new SharedArrayBuffer(4 * batches);
  new Int32Array(owner).fill(-1);
  const jobs = workers(workerCount).map((worker, i) => {
    const job = { worker, id: i + 1, out: new SharedArrayBuffer(main.padded * 4), status: new SharedArrayBuffer(4), timing: new SharedArrayBuffer(16) };
    const { data, transfer } = copyFor(plan.data);
    const message = { module, plan: data, words: acc.length, counter, owner, out: job.out, status: job.status, timing: job.timing, id: job.id, failAfterBatches: inject?.afterBatches };
    worker.postMessage(message, transfer);
    return job;
  });
  try {
    const control = new Int32Array(counter);
    const owners = new Int32Array(owner);
    const t0 = performance.now();
    for (;;) {
      const b = Atomics.add(control, 0, 1);
      if (b >= batches) break;
      Atomics.store(owners, b, 0);
      plan.applyBatch(main, b);
    }
    // A worker still has at most one batch in hand: allow it many times what this thread took, and a floor
    // that covers a worker's start-up on a loaded machine.
    const patienceMs = Math.max(30_000, 20 * (performance.now() - t0));
    const failed = new Set<number>();
    let deriveMs = 0;
    let streamMs = 0;
    for (const job of jobs) {
      const state = new Int32Array(job.status);
      Atomics.wait(state, 0, 0, patienceMs);
      if (Atomics.load(state, 0) === DONE) {
        main.addVector(new Uint8Array(job.out));
        const t = new Float64Array(job.timing);
        deriveMs += t[0] as number;
        streamMs += t[1] as number;
      } else {
        failed.add(job.id);
        forget(job.worker);
      }
      new Uint8Array(job.out).fill(0);
    }
    let redoneBatches = 0;
    if (failed.size > 0) {
      for (let b = 0; b < batches; b++) {
        const o = Atomics.load(owners, b);
        if (o === -1 || failed.has(o)) {
          plan.applyBatch(main, b);
          redoneBatches++;
        }
      }
    }
    accBytes.set(main.memory.subarray(0, acc.byteLength));
    return { deriveMs: deriveMs + plan.deriveMs, streamMs: streamMs + plan.streamMs, threads: 1 + jobs.length - failed.size, failedWorkers: failed.size, redoneBatches };
  } finally {
    main.wipe();
  }
}

/** acc ← acc + Σ sign·PRG(key) over every mask of `plan`, on this thread only. */
export function accumulateHere(acc: Uint32Array, plan: MaskPlan): MaskWorkStats {
  const main = new MaskAccumulator(simdModule(), acc.length);
  const accBytes = new Uint8Array(acc.buffer, acc.byteOffset, acc.byteLength);
  try {
    main.memory.set(accBytes);
    for (let b = 0; b < plan.batches; b++) plan.applyBatch(main, b);
    accBytes.set(main.memory.subarray(0, acc.byteLength));
    return { deriveMs: plan.deriveMs, streamMs: plan.streamMs, threads: 1, failedWorkers: 0, redoneBatches: 0 };
  } finally {
    main.wipe();
  }
}
