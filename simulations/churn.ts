/**
 * Connection churn for `tessera simulate --churn RATE` (issue 14 §6): in every round, each client's connection
 * is cut with probability RATE at a moment drawn uniformly over the expected length of the round (the length of
 * the previous one), the way a flaky network or a laptop lid cuts it. The client reconnects by itself and proves
 * its key again; a task it held fails at the coordinator at once (coordinator/federation.ts), so the round
 * completes with the others or is refused by the usual rules — it is never lost or counted twice.
 *
 * Seeded (reproducible, like all of a simulation's scheduling); the timing of a drop relative to the round's
 * messages still depends on the machine, so a churned run is not bit-reproducible — that is its purpose.
 */
import { deriveSeed, seededRandom, type RandomSource } from '../privacy/random.ts';

export interface Droppable {
  readonly clientId: string;
  dropConnection(): void;
}

export interface ChurnSummary {
  /** The per-client, per-round probability of a connection drop. */
  readonly rate: number;
  /** Connections cut. */
  readonly drops: number;
}

export class ChurnController {
  readonly #rate: number;
  readonly #rng: RandomSource;
  readonly #clients: readonly Droppable[];
  readonly #timers = new Set<NodeJS.Timeout>();
  #drops = 0;
  #stopped = false;

  constructor(rate: number, seed: string | number, clients: readonly Droppable[]) {
    this.#rate = rate;
    this.#rng = seededRandom(deriveSeed(seed, 'churn'));
    this.#clients = clients;
  }

  /** Schedules the next round's drops over `expectedRoundMs` (a round starts right after the previous one ends). */
  schedule(expectedRoundMs: number): void {
    if (this.#stopped) return;
    const span = Math.max(1, expectedRoundMs);
    for (const client of this.#clients) {
      if (this.#rng.nextFloat() >= this.#rate) continue;
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        if (this.#stopped) return;
        this.#drops += 1;
        client.dropConnection();
      }, Math.floor(this.#rng.nextFloat() * span));
      this.#timers.add(timer);
    }
  }

  stop(): ChurnSummary {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    return { rate: this.#rate, drops: this.#drops };
  }
}
