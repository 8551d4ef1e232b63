/**
 * The seam between the client node and secure aggregation: when a job has `secagg.enabled`, the node hands
 * its (clipped, noised) update to a `SecureSubmission` instead of sending it in the clear, and routes the
 * round's stage messages to it. The implementation lives with the SecAgg client state machine.
 */
import type { ClientMessage, EvaluateTask, SecAggToClient, TrainTask, UpdateExtensions } from '../protocol/messages.ts';

export interface SecureInput {
  /** The update (train) — quantised and masked by the implementation. */
  readonly update?: Float32Array;
  /** Integer counts (evaluate: fairness counts), aggregated exactly. */
  readonly counts?: Uint32Array;
  /** The FedAvg weight of this client's contribution (its example count). */
  readonly weight: number;
  /** Train: the update's secure extensions (privacy/secagg/extension.ts), appended to the quantised update and masked with it. */
  readonly extensions?: UpdateExtensions;
}

export interface SecureSubmission {
  /**
   * Before any local work: waits for the task's setup and judges it by the organisation's policy. False: the
   * round was declined (the decline is sent) and the task must not be worked on.
   */
  /** `extensions`: the admission's secure extensions (their layout is part of the vector's length). */
  screen(task: TrainTask | EvaluateTask, send: (m: ClientMessage) => void, extensions?: UpdateExtensions): Promise<boolean>;
  /** Starts the protocol for a task's result; sends the first stage message as the task's reply. */
  begin(task: TrainTask | EvaluateTask, input: SecureInput, send: (m: ClientMessage) => void): void;
  /** A later stage message from the coordinator. */
  handle(message: SecAggToClient, send: (m: ClientMessage) => void): void;
}
