/**
 * Turns on the one TensorFlow.js backend of a process. Training and evaluation are CPU-bound and the backend
 * runs one thread, so client nodes that share a process (a simulation's virtual clients) take turns: each task
 * runs after the previous one settled, and each node's reported training time is its own compute, not time
 * spent interleaved with the others. One object per process (or per simulation), created at start-up and
 * handed to every ClientNode of it — not a module-level promise chain that every importer shares.
 *
 * `slots` > 1 is for nodes whose training runs elsewhere (client/local-trainer.ts): up to `slots` tasks are in
 * flight at once, and tasks start in the order they were queued. A simulation's worker pool gets one slot per
 * node, so that it sees all of a round's tasks and schedules them itself (simulations/training-pool.ts).
 */
export class TrainingTurns {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(readonly slots = 1) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`TrainingTurns needs at least one slot, got ${slots}`);
  }

  /** Runs `task` when a slot is free (first come, first served); a failing task does not stop later turns. */
  async run(task: () => Promise<void>, onError: (e: unknown) => void): Promise<void> {
    if (this.running >= this.slots) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.running++;
    try {
      await task();
    } catch (e) {
      onError(e);
    } finally {
      // The slot passes straight to the next waiter (the count stays), or is given back.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }
}
