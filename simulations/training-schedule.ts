/**
 * The training pool's schedule (simulations/training-pool.ts, whose header explains it): longest first, in
 * batches that shrink as the queue drains (guided self-scheduling).
 */
/** What the schedule knows of a queued task. */
export interface Schedulable {
  /** Arrival order: ties in cost keep it, so the schedule is a function of the arrivals. */
  readonly order: number;
  /** Examples × epochs: the work the task asks for, in the units the schedule balances. */
  readonly cost: number;
}

/** A free worker's batch holds about this fraction of the queued work per worker (see the scheduling note above). */
const BATCHES_PER_WORKER = 4;

/**
 * The schedule (see the note above): sorts `queue` in place, longest first and equal work in arrival order, and
 * returns how many tasks from its head a free worker takes — at least one, and more while they hold less than
 * 1/(BATCHES_PER_WORKER × workers) of the queued work.
 */
export function takeBatch(queue: Schedulable[], workers: number): number {
  queue.sort((a, b) => b.cost - a.cost || a.order - b.order);
  const share = queue.reduce((sum, p) => sum + p.cost, 0) / (Math.max(1, workers) * BATCHES_PER_WORKER);
  let cost = 0;
  let take = 0;
  while (take < queue.length && (take === 0 || cost < share)) cost += queue[take++]?.cost ?? 0;
  return take;
}
