/**
 * Turns on the one TensorFlow.js backend of a process. Training and evaluation are CPU-bound and the backend
 * runs one thread, so client nodes that share a process (a simulation's virtual clients) take turns: each task
 * runs after the previous one settled, and each node's reported training time is its own compute, not time
 * spent interleaved with the others. One object per process (or per simulation), created at start-up and
 * handed to every ClientNode of it — not a module-level promise chain that every importer shares.
 */
export class TrainingTurns {
  private tail: Promise<void> = Promise.resolve();

  /** Runs `task` after every task queued before it has settled; a failing task does not stop later turns. */
  run(task: () => Promise<void>, onError: (e: unknown) => void): Promise<void> {
    const turn = this.tail.then(task).catch(onError);
    this.tail = turn;
    return turn;
  }
}
