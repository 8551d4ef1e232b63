/**
 * Splits mask accumulation across worker threads while staying synchronous for the caller: the main thread
 * posts one job to each worker of a small pool, takes batches of masks from the same shared counter itself
 * (work stealing, so a core that other processes keep busy simply takes fewer batches), then blocks in
 * Atomics.wait until every worker has published its partial sum Σ sign·PRG(key) mod 2^32, and adds them in.
 * Addition in Z_(2^32) is associative and commutative, so any split gives the bit-exact result.
 *
 * A worker that fails or does not answer in time is dropped from the pool and the batches it took are
 * recomputed on the main thread (the owner of each batch is recorded in shared memory), so a broken worker
 * costs time, never correctness. Keys go to each worker as a transferred copy that the worker wipes; the
 * main thread wipes its own flat copy; partial sums are zeroed after use (they are mask material).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { MaskAccumulator, simdModule } from './mask-kernel.mjs';

/** Masks per batch taken from the shared counter: large enough to amortise the atomics, small for balance. */
const BATCH = 16;
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
 * acc ← acc + Σ signs[m]·PRG(keys[32m..32m+32)) mod 2^32 using the main thread and `workerCount` workers.
 * `keys` is the caller's flat copy of the keys (the caller wipes it).
 */
export function accumulateParallel(acc: Uint32Array, keys: Uint8Array, signs: Int8Array, workerCount: number): void {
  const module = simdModule();
  const main = new MaskAccumulator(module, acc.length);
  const accBytes = new Uint8Array(acc.buffer, acc.byteOffset, acc.byteLength);
  main.memory.set(accBytes);
  const batches = Math.ceil(signs.length / BATCH);
  const counter = new SharedArrayBuffer(4);
  const owner = new SharedArrayBuffer(4 * batches);
  new Int32Array(owner).fill(-1);
  const jobs = workers(workerCount).map((worker, i) => {
    const job = { worker, id: i + 1, out: new SharedArrayBuffer(main.padded * 4), status: new SharedArrayBuffer(4) };
    const copy = keys.slice();
    worker.postMessage({ module, keys: copy, signs, words: acc.length, batch: BATCH, counter, owner, out: job.out, status: job.status, id: job.id }, [copy.buffer]);
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
      main.applyRange(keys, signs, b * BATCH, Math.min(signs.length, (b + 1) * BATCH));
    }
    // A worker still has at most one batch in hand: allow it many times what this thread took, and a floor
    // that covers a worker's start-up on a loaded machine.
    const patienceMs = Math.max(30_000, 20 * (performance.now() - t0));
    const failed = new Set<number>();
    for (const job of jobs) {
      const state = new Int32Array(job.status);
      Atomics.wait(state, 0, 0, patienceMs);
      if (Atomics.load(state, 0) === DONE) main.addVector(new Uint8Array(job.out));
      else {
        failed.add(job.id);
        forget(job.worker);
      }
      new Uint8Array(job.out).fill(0);
    }
    if (failed.size > 0) {
      for (let b = 0; b < batches; b++) {
        const o = Atomics.load(owners, b);
        if (o === -1 || failed.has(o)) main.applyRange(keys, signs, b * BATCH, Math.min(signs.length, (b + 1) * BATCH));
      }
    }
    accBytes.set(main.memory.subarray(0, acc.byteLength));
  } finally {
    main.wipe();
  }
}

/** acc ← acc + Σ signs[m]·PRG(key m) on this thread only. */
export function accumulateHere(acc: Uint32Array, keys: Uint8Array, signs: Int8Array): void {
  const main = new MaskAccumulator(simdModule(), acc.length);
  const accBytes = new Uint8Array(acc.buffer, acc.byteOffset, acc.byteLength);
  try {
    main.memory.set(accBytes);
    for (let m = 0; m < signs.length; m += BATCH) main.applyRange(keys, signs, m, Math.min(signs.length, m + BATCH));
    accBytes.set(main.memory.subarray(0, acc.byteLength));
  } finally {
    main.wipe();
  }
}
