// A mask worker (worker_threads), plain JavaScript so that it loads under tsx and vitest alike. It takes
// batches of a mask plan (mask-plan.mjs) from a counter it shares with the other threads (work stealing: a
// busy core simply takes fewer batches), derives the pairwise mask keys of each batch itself, accumulates the
// masks with the same kernel as the main thread (mask-kernel.mjs), and hands back its partial sum
// Σ sign·PRG(key) mod 2^32; the main thread adds the partial sums (addition in Z_(2^32) is associative and
// commutative, so the split does not change the result). Secret inputs (direct keys, owners' X25519 scalars)
// arrive transferred (no copy stays in the sender) and are wiped here after use; nothing is logged.
import { parentPort } from 'node:worker_threads';
import { MaskAccumulator } from './mask-kernel.mjs';
import { MaskPlan } from './mask-plan.mjs';

const DONE = 1;
const FAILED = 2;

parentPort.on('message', (job) => {
  const { module, plan: data, words, counter, owner, out, status, timing, id, failAfterBatches } = job;
  const control = new Int32Array(counter);
  const owners = new Int32Array(owner);
  const state = new Int32Array(status);
  const plan = new MaskPlan(data);
  let acc;
  let taken = 0;
  try {
    acc = new MaskAccumulator(module, words);
    for (;;) {
      const b = Atomics.add(control, 0, 1);
      // Fault injection for the recovery test (prg.ts `injectWorkerFailure`): fail holding a batch, or at the
      // end if the other threads left none, so the failure is certain whatever the timing.
      if (b >= plan.batches) {
        if (failAfterBatches !== undefined) throw new Error('injected worker failure');
        break;
      }
      Atomics.store(owners, b, id);
      if (failAfterBatches !== undefined && taken++ >= failAfterBatches) throw new Error('injected worker failure');
      plan.applyBatch(acc, b);
    }
    new Uint8Array(out).set(acc.memory.subarray(0, acc.padded * 4));
    const t = new Float64Array(timing);
    t[0] = plan.deriveMs;
    t[1] = plan.streamMs;
    Atomics.store(state, 0, DONE);
  } catch {
    Atomics.store(state, 0, FAILED);
  } finally {
    plan.wipe();
    acc?.wipe();
    Atomics.notify(state, 0);
  }
});
