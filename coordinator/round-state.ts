/**
 * The round lifecycle as an explicit transition table (house rule 7): a transition not in the table is a bug
 * and throws, rather than being silently tolerated.
 */
import { TesseraError } from '../protocol/errors.ts';

export type RoundState = 'selecting' | 'training' | 'aggregating' | 'evaluating' | 'committed' | 'failed';

const TRANSITIONS: Readonly<Record<RoundState, readonly RoundState[]>> = {
  selecting: ['training', 'failed'],
  training: ['aggregating', 'failed'],
  aggregating: ['evaluating', 'failed'],
  evaluating: ['committed', 'failed'],
  committed: [],
  failed: [],
};

export class RoundLifecycle {
  private current: RoundState = 'selecting';

  get state(): RoundState {
    return this.current;
  }

  to(next: RoundState): void {
    if (!TRANSITIONS[this.current].includes(next)) {
      throw new TesseraError('TESSERA_ERR_INTERNAL', `round cannot go from ${this.current} to ${next}`);
    }
    this.current = next;
  }
}

export type JobState = 'created' | 'waiting' | 'running' | 'completed' | 'failed' | 'stopped';

const JOB_TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  created: ['waiting', 'failed', 'stopped'],
  waiting: ['running', 'failed', 'stopped'],
  running: ['completed', 'failed', 'stopped'],
  completed: [],
  failed: [],
  stopped: [],
};

export function assertJobTransition(from: JobState, to: JobState): void {
  if (!JOB_TRANSITIONS[from].includes(to)) throw new TesseraError('TESSERA_ERR_INTERNAL', `job cannot go from ${from} to ${to}`);
}
