/**
 * One per-round object a feature owns (issue 21 item 2): the state its hooks share within one round attempt
 * (DP: the organisations its caps excluded, the round's plan, what adaptive clipping released), instead of
 * loose variables that one hook sets and another reads. A fresh object is made at the attempt's eligibility
 * pass (the first hook of every attempt; also on every re-check while the round waits for clients), so a
 * retried round never sees the state of a failed attempt; the later hooks of that round get the same object.
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { BeforeRoundDecision, JobHooks } from '../job-runner.ts';
import type { ConnectedClient } from '../federation.ts';
import type { TrainingOutcome } from '../plain-round.ts';
import type { Selection } from '../sampling.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import type { ExcludedClient, JobResult, RoundRecord, RoundSlots } from '../round-records.ts';

/** A feature's hooks, each given the feature's object for the round. */
export interface RoundScopedHooks<S> {
  eligible?(clients: readonly ConnectedClient[], round: number, state: S): { eligible: ConnectedClient[]; excluded: ExcludedClient[] };
  beforeRound?(round: number, eligible: readonly ConnectedClient[], state: S): BeforeRoundDecision;
  taskSpec?(round: number, spec: JobSpec, state: S): JobSpec;
  /** The round's sample (JobHooks.drawSample). */
  drawSample?(round: number, attempt: number, eligible: readonly ConnectedClient[], draw: (attempt: number) => Selection<ConnectedClient>, state: S): Selection<ConnectedClient>;
  /** The release gate (JobHooks.beforeRelease): the last moment before the round's aggregate can exist. */
  beforeRelease?(round: number, participants: readonly ConnectedClient[], state: S): void;
  /** A round with fewer than minClients (JobHooks.shortRound). */
  shortRound?(round: number, got: number, state: S): BeforeRoundDecision;
  roundExtra?(round: number, outcome: TrainingOutcome, state: S): RoundSlots;
  commitRound?(record: RoundRecord, weights: Float32Array, state: S): void;
  /** `last`: the object of the last round attempt, if any. */
  onJobEnd?(result: JobResult, last: S | undefined): void;
}

export class RoundScope<S extends { readonly round: number }> {
  private current: S | undefined;

  constructor(private readonly make: (round: number) => S) {}

  /** The object of `round` (the round its hooks are running for); a hook of another round is a bug. */
  of(round: number): S {
    const s = this.current;
    if (s === undefined || s.round !== round) throw new TesseraError('TESSERA_ERR_INTERNAL', `round ${round}: a feature hook ran before the round's eligibility pass`);
    return s;
  }

  /** The object of the round in progress (for callbacks that are not told the round, e.g. a wrapped strategy). */
  now(): S {
    if (this.current === undefined) throw new TesseraError('TESSERA_ERR_INTERNAL', 'a feature callback ran before any round started');
    return this.current;
  }

  last(): S | undefined {
    return this.current;
  }

  /** Plain `JobHooks` for the round loop: every eligibility pass starts a fresh object. */
  hooks(h: RoundScopedHooks<S>): JobHooks {
    return {
      eligible: (clients, round) => {
        this.current = this.make(round);
        return h.eligible ? h.eligible(clients, round, this.current) : { eligible: [...clients], excluded: [] };
      },
      ...(h.beforeRound ? { beforeRound: (round, eligible) => h.beforeRound?.(round, eligible, this.of(round)) ?? { proceed: true } } : {}),
      ...(h.drawSample ? { drawSample: (round, attempt, eligible, draw) => h.drawSample?.(round, attempt, eligible, draw, this.of(round)) ?? draw(attempt) } : {}),
      ...(h.taskSpec ? { taskSpec: (round, spec) => h.taskSpec?.(round, spec, this.of(round)) ?? spec } : {}),
      ...(h.beforeRelease ? { beforeRelease: (round, participants) => h.beforeRelease?.(round, participants, this.of(round)) } : {}),
      ...(h.shortRound ? { shortRound: (round, got) => h.shortRound?.(round, got, this.of(round)) ?? { proceed: true } } : {}),
      ...(h.roundExtra ? { roundExtra: (round, outcome) => h.roundExtra?.(round, outcome, this.of(round)) ?? {} } : {}),
      ...(h.commitRound ? { commitRound: (record, weights) => h.commitRound?.(record, weights, this.of(record.round)) } : {}),
      ...(h.onJobEnd ? { onJobEnd: (result) => h.onJobEnd?.(result, this.current) } : {}),
    };
  }
}
