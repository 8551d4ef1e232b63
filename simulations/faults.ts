/**
 * Injected faults for simulations (`tessera simulate --dropout RATE --stragglers RATE`): a wrapper around a
 * simulated client's transport, so the coordinator meets them exactly as it meets real ones, through the same
 * round code. Seeded: whether client c drops out of or straggles in its k-th training task of round r comes from
 * the (seed, 'faults', c, r, k) stream, so a run reproduces its faults (and a retried round draws afresh).
 *
 * - Dropout (probability `dropoutRate` per training task): the client receives the task and its connection dies
 *   before it answers — the coordinator sees the disconnect at once and records the client as dropped
 *   (TESSERA_ERR_TIMEOUT, "disconnected during train task"). The client then reconnects, as a real node's
 *   transport does, and is eligible again next round.
 * - Straggler (probability `stragglerRate`, drawn only for clients that did not drop out): the client trains and
 *   answers, but everything it sends is held until the task's deadline has passed, so the coordinator records it
 *   as dropped at the deadline ("did not answer … within") and discards the late reply. A round with a straggler
 *   therefore lasts the whole deadline: use a short `--deadline-ms` with `--stragglers`.
 * Only training tasks are subject to faults; evaluation tasks always run.
 */
import { deriveSeed, seededRandom } from '../privacy/random.ts';
import type { ClientMessage } from '../protocol/messages.ts';
import type { ClientTransport } from '../protocol/transport.ts';

export interface FaultRates {
  readonly dropoutRate: number;
  readonly stragglerRate: number;
}

/** What the wrapper injected, by round (client ids in the order the faults happened). */
export interface InjectedFaults {
  readonly droppedOut: Map<number, string[]>;
  readonly straggled: Map<number, string[]>;
}

export function newInjectedFaults(): InjectedFaults {
  return { droppedOut: new Map(), straggled: new Map() };
}

/** Past the coordinator's deadline (its timer starts before the task reaches the client). */
const LATE_MARGIN_MS = 25;
/** A dropped-out client's transport reconnects after this pause (a real node backs off longer; the round is over for it either way). */
const RECONNECT_AFTER_MS = 20;

type Handler<T extends unknown[]> = (...args: T) => void;

function trainTask(raw: unknown): { round: number; deadlineMs: number } | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const m = raw as { type?: unknown; round?: unknown; deadlineMs?: unknown };
  return m.type === 'train' && typeof m.round === 'number' && typeof m.deadlineMs === 'number' ? { round: m.round, deadlineMs: m.deadlineMs } : null;
}

export function faultyTransport(connect: () => ClientTransport, o: FaultRates & { readonly clientId: string; readonly seed: string | number; readonly log: InjectedFaults }): ClientTransport {
  const handlers = { message: [] as Array<Handler<[unknown]>>, connect: [] as Array<Handler<[]>>, disconnect: [] as Array<Handler<[string]>>, refused: [] as Array<Handler<[string, string]>> };
  const tasksSeen = new Map<number, number>();
  let held: ClientMessage[] | null = null;
  let inner: ClientTransport;
  let closed = false;

  const note = (m: Map<number, string[]>, round: number): void => {
    m.set(round, [...(m.get(round) ?? []), o.clientId]);
  };
  const attach = (t: ClientTransport): void => {
    t.onConnect(() => handlers.connect.forEach((h) => h()));
    t.onDisconnect((reason) => handlers.disconnect.forEach((h) => h(reason)));
    t.onRefused((code, message) => handlers.refused.forEach((h) => h(code, message)));
    t.onMessage((raw) => {
      const task = trainTask(raw);
      if (task) {
        const k = (tasksSeen.get(task.round) ?? 0) + 1;
        tasksSeen.set(task.round, k);
        const rng = seededRandom(deriveSeed(o.seed, 'faults', o.clientId, task.round, k));
        const dropDraw = rng.nextFloat();
        const straggleDraw = rng.nextFloat();
        if (dropDraw < o.dropoutRate) {
          // The connection dies with the task unanswered; a fresh connection replaces it (the node keeps its handlers),
          // opened after the coordinator has processed the disconnect (else it would refuse a duplicate client id).
          note(o.log.droppedOut, task.round);
          inner.close();
          setTimeout(() => {
            if (closed) return;
            inner = connect();
            attach(inner);
          }, RECONNECT_AFTER_MS);
          return;
        }
        if (straggleDraw < o.stragglerRate) {
          note(o.log.straggled, task.round);
          const batch: ClientMessage[] = [];
          held = batch;
          setTimeout(() => {
            if (held === batch) held = null;
            if (!closed) for (const m of batch) inner.send(m);
          }, task.deadlineMs + LATE_MARGIN_MS).unref();
        }
      }
      handlers.message.forEach((h) => h(raw));
    });
  };
  inner = connect();
  attach(inner);
  return {
    send(message) {
      if (held) held.push(message);
      else inner.send(message);
    },
    onMessage: (h) => void handlers.message.push(h),
    onConnect: (h) => void handlers.connect.push(h),
    onDisconnect: (h) => void handlers.disconnect.push(h),
    onRefused: (h) => void handlers.refused.push(h),
    coordinatorIdentity: () => inner.coordinatorIdentity?.(),
    close() {
      closed = true;
      inner.close();
    },
  };
}
