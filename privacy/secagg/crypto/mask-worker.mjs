// A mask worker (worker_threads), plain JavaScript so that it loads under tsx and vitest alike. It takes
// batches of masks from a counter it shares with the other threads (work stealing: a busy core simply takes
// fewer batches), accumulates them with the same kernel as the main thread (mask-kernel.mjs), and hands back
// its partial sum Σ sign·PRG(key) mod 2^32; the main thread adds the partial sums (addition in Z_(2^32) is
// associative and commutative, so the split does not change the result). Keys arrive transferred (no copy
// stays in the sender) and are wiped here after use; nothing is logged.
import { parentPort } from 'node:worker_threads';
import { MaskAccumulator } from './mask-kernel.mjs';

const DONE = 1;
const FAILED = 2;

parentPort.on('message', (job) => {
  const { module, keys, signs, words, batch, counter, owner, out, status, id } = job;
  const control = new Int32Array(counter);
  const owners = new Int32Array(owner);
  const state = new Int32Array(status);
  const total = signs.length;
  const batches = Math.ceil(total / batch);
  let acc;
  try {
    acc = new MaskAccumulator(module, words);
    for (;;) {
      const b = Atomics.add(control, 0, 1);
      if (b >= batches) break;
      Atomics.store(owners, b, id);
      acc.applyRange(keys, signs, b * batch, Math.min(total, (b + 1) * batch));
    }
    new Uint8Array(out).set(acc.memory.subarray(0, acc.padded * 4));
    Atomics.store(state, 0, DONE);
  } catch {
    Atomics.store(state, 0, FAILED);
  } finally {
    keys.fill(0);
    acc?.wipe();
    Atomics.notify(state, 0);
  }
});
