/**
 * A deviating SecAgg+ coordinator for attack tests (house rule 11): it runs a real coordinator's transport
 * (socket.io on 127.0.0.1, coordinator/server.ts) and drives the real client side (client/secure-aggregation.ts
 * in light clients, test/secagg-socket-support.ts) through real sockets, stage by stage — but every stage is
 * a hook it may bend: a different setup per client, keys forwarded selectively, a different survivor set per
 * client, unmask requests of its choosing. It keeps everything the clients sent it, which `tryRecover`
 * (secagg-recover.ts) then uses to try to rebuild a victim's input.
 */
import { randomUUID } from 'node:crypto';
import type { CoordinatorServer } from '../coordinator/server.ts';
import { neighbourGraph, neighboursOf, type NeighbourGraph } from '../privacy/secagg/graph.ts';
import { planForJob } from '../privacy/secagg/job-plan.ts';
import type { UpdateExtension } from '../privacy/secagg/extension.ts';
import { secAggRoundId, secAggTaskId } from '../privacy/secagg/round-id.ts';
import type { JobSpec } from '../protocol/job/spec.ts';
import { encodeFloat32 } from '../protocol/tensor.ts';
import type { ClientMessage, ServerMessage } from '../protocol/messages.ts';
import type { Advertisement, SecAggClientMessage, SecAggServerMessage, SecAggSetup, SecAggUnmaskRequest } from '../protocol/secagg.ts';

type Of<T extends SecAggClientMessage['type']> = Extract<SecAggClientMessage, { type: T }>;

/** The graph seed the deviating coordinator uses unless told otherwise (public, fixed: tests plan around it). */
export const DEVIATING_GRAPH_SEED = new Uint8Array(32).fill(9);

export interface Deviation {
  /** The setup client i receives (default: the honest one). */
  setup?: (i: number, honest: SecAggSetup) => SecAggSetup;
  /** The neighbours' advertisements forwarded to client i (default: all that arrived). */
  keys?: (i: number, adverts: Advertisement[]) => Advertisement[];
  /** The survivor set U3 sent to client i (default: every client whose masked input arrived). */
  survivors?: (i: number, honest: number[]) => number[];
  /** The unmask request to client i (undefined: send none); `honest` is what the protocol would ask. */
  unmask?: (i: number, honest: SecAggUnmaskRequest, view: DeviatingView) => SecAggUnmaskRequest | undefined;
}

/** What the coordinator has collected so far (everything the clients sent it). */
export interface DeviatingView {
  readonly graph: NeighbourGraph;
  readonly setups: Map<number, SecAggSetup>;
  readonly declines: Map<number, { code: string; message: string }>;
  readonly adverts: Map<number, Of<'secagg.advertise'>>;
  readonly shareKeys: Map<number, Of<'secagg.share-keys'>>;
  readonly masked: Map<number, Of<'secagg.masked-input'>>;
  /** Signatures on the survivor set each signer was sent. */
  readonly signatures: Map<number, { survivors: number[]; signature: Uint8Array }>;
  readonly unmasked: Map<number, Of<'secagg.unmask-shares'>>;
  /** What was forwarded to each client: whose keys, whose sealed shares. */
  readonly keyedTo: Map<number, number[]>;
  readonly sharesTo: Map<number, number[]>;
  readonly roundId: string;
}

export interface DeviatingRun extends DeviatingView {
  readonly n: number;
  readonly t: number;
}

/**
 * One round, every stage bent by `deviation`; each stage waits for every expected answer or `stageMs`.
 * `refusals(i)` (optional) counts the refusals client i has recorded (SecureAggregation.refusals): a client that
 * records one after a secagg stage's message was sent will not answer that message (SecureAggregation.step sends
 * nothing on a refusal), so its wait ends there rather than at `stageMs`. That is a shortcut in time only — the messages exchanged and what the view holds are the
 * same — and it lets `stageMs` be long enough for a loaded machine (honest answers end a stage as they arrive)
 * without every deliberate refusal costing the whole deadline.
 */
export async function runDeviatingRound(o: { server: CoordinatorServer; ids: readonly string[]; job: JobSpec; jobId: string; round: number; updateLength: number; extensions?: readonly UpdateExtension[]; deviation?: Deviation; nonce?: string; graphSeed?: Uint8Array; stageMs?: number; refusals?: (i: number) => number }): Promise<DeviatingRun> {
  const { server, ids, job, jobId, round } = o;
  const fed = server.federation;
  const dev = o.deviation ?? {};
  const n = ids.length;
  // The secure extensions the clients append (privacy/secagg/extension.ts): the same vector length as theirs.
  const plan = planForJob(job, n, o.updateLength, o.extensions ?? []);
  const nonce = o.nonce ?? randomUUID();
  const roundId = secAggRoundId({ jobId, round, kind: 'train', nonce });
  const graphSeed = o.graphSeed ?? DEVIATING_GRAPH_SEED;
  const graph = neighbourGraph({ n, k: plan.k, seed: graphSeed });
  const index = new Map(ids.map((id, i) => [id, i]));
  const view: DeviatingView = { graph, setups: new Map(), declines: new Map(), adverts: new Map(), shareKeys: new Map(), masked: new Map(), signatures: new Map(), unmasked: new Map(), keyedTo: new Map(), sharesTo: new Map(), roundId };
  const waiting = new Map<string, (m: SecAggClientMessage) => void>();
  const unsubscribe = fed.subscribeSecAgg(jobId, round, (clientId, msg) => {
    const u = index.get(clientId);
    if (u !== undefined) waiting.get(`${u}/${msg.message.type}`)?.(msg.message);
  });
  const stageMs = o.stageMs ?? 3_000;
  const taskId = (i: number): string => secAggTaskId(nonce, i);
  const send = (i: number, message: SecAggServerMessage): void => {
    fed.send(ids[i] as string, { type: 'secagg', jobId, round, taskId: taskId(i), message } satisfies ServerMessage);
  };
  /** Resolves when `arm`'s callback runs (the answer came), client i records a new refusal, or at `stageMs`. */
  const answerOrGiveUp = (i: number, arm: (done: () => void) => void): Promise<void> =>
    new Promise<void>((resolve) => {
      const refusals = o.refusals;
      const base = refusals?.(i) ?? 0;
      const done = (): void => {
        clearTimeout(timer);
        clearInterval(poll);
        resolve();
      };
      const timer = setTimeout(done, stageMs);
      const poll = setInterval(() => {
        if (refusals !== undefined && refusals(i) > base) done();
      }, 20);
      arm(done);
    });
  /** Sends to each client in `to` and waits for its answer of `type` (or its refusal, or the stage deadline). */
  const exchange = async <T extends SecAggClientMessage['type']>(to: Iterable<number>, type: T, message: (i: number) => SecAggServerMessage | undefined, into: Map<number, Of<T>>): Promise<void> => {
    const pending: Array<Promise<void>> = [];
    for (const i of to) {
      const m = message(i);
      if (m === undefined) continue;
      pending.push(
        answerOrGiveUp(i, (done) =>
          waiting.set(`${i}/${type}`, (reply) => {
            into.set(i, reply as Of<T>);
            done();
          }),
        ),
      );
      send(i, m);
    }
    await Promise.all(pending);
  };
  try {
    // Round 0: the task, then the (possibly per-client) setup; the client answers the task with its advertisement.
    const firsts = ids.map((id, i) => {
      const honest: SecAggSetup = { type: 'secagg.setup', roundId, clients: [...ids], index: i, k: plan.k, t: plan.t, dim: plan.dim, modulusBits: 32, graphSeed, consistencyCheck: plan.consistencyCheck };
      const setup = dev.setup?.(i, honest) ?? honest;
      view.setups.set(i, setup);
      // A refusal here is answered with a decline (SecureAggregation.refuse), so this stage waits for the reply.
      const reply = fed.request(id, { type: 'train', jobId, round, taskId: taskId(i), job, weights: encodeFloat32(new Float32Array(o.updateLength)), deadlineMs: stageMs }, stageMs).then(
        (r: ClientMessage) => {
          if (r.type === 'decline') view.declines.set(i, { code: r.reason.code, message: r.reason.message });
          else if (r.type === 'secagg' && r.message.type === 'secagg.advertise') view.adverts.set(i, r.message);
        },
        () => undefined,
      );
      send(i, setup);
      return reply;
    });
    await Promise.all(firsts);
    const U1 = [...view.adverts.keys()];
    await exchange(U1, 'secagg.share-keys', (i) => {
      const adverts = neighboursOf(graph, i).flatMap((v) => {
        const a = view.adverts.get(v);
        return a === undefined ? [] : [{ index: a.index, cPk: a.cPk, sPk: a.sPk, commitment: a.commitment, setupHash: a.setupHash, signature: a.signature }];
      });
      const forwarded = dev.keys?.(i, adverts) ?? adverts;
      view.keyedTo.set(i, forwarded.map((a) => a.index));
      return { type: 'secagg.keys', roundId, keys: forwarded };
    }, view.shareKeys);
    await exchange(view.shareKeys.keys(), 'secagg.masked-input', (i) => {
      // Only from clients whose keys client i was given: anything else it would refuse outright.
      const keyed = view.keyedTo.get(i) ?? [];
      const shares = [...view.shareKeys].filter(([from]) => keyed.includes(from)).flatMap(([from, m]) => m.shares.filter((s) => s.to === i).map((s) => ({ from, nonce: s.nonce, ciphertext: s.ciphertext })));
      view.sharesTo.set(i, shares.map((s) => s.from));
      return { type: 'secagg.shares', roundId, shares };
    }, view.masked);
    const U3 = [...view.masked.keys()].sort((a, b) => a - b);
    const sentU3 = new Map<number, number[]>();
    if (plan.consistencyCheck) {
      const sigs = new Map<number, Of<'secagg.consistency-signature'>>();
      await exchange(U3, 'secagg.consistency-signature', (i) => {
        const survivors = [...(dev.survivors?.(i, U3) ?? U3)].sort((a, b) => a - b);
        sentU3.set(i, survivors);
        return { type: 'secagg.consistency', roundId, survivors };
      }, sigs);
      for (const [i, m] of sigs) view.signatures.set(i, { survivors: sentU3.get(i) as number[], signature: m.signature });
    }
    await exchange(plan.consistencyCheck ? view.signatures.keys() : U3, 'secagg.unmask-shares', (i) => {
      const survivors = sentU3.get(i) ?? U3;
      const partners = (view.sharesTo.get(i) ?? []).filter((v) => (view.keyedTo.get(i) ?? []).includes(v));
      const honest: SecAggUnmaskRequest = {
        type: 'secagg.unmask',
        roundId,
        selfMaskFor: [i, ...partners.filter((v) => survivors.includes(v))],
        maskKeyFor: partners.filter((v) => !survivors.includes(v)),
        ...(plan.consistencyCheck
          ? {
              survivors,
              // Every partner's signature on the SAME set as this client's (the client counts them).
              survivorSignatures: partners.flatMap((v) => {
                const s = view.signatures.get(v);
                return s !== undefined && s.survivors.join(',') === survivors.join(',') ? [{ index: v, signature: s.signature }] : [];
              }),
            }
          : {}),
      };
      return dev.unmask === undefined ? honest : dev.unmask(i, honest, view);
    }, view.unmasked);
  } finally {
    unsubscribe();
  }
  return { ...view, n, t: plan.t };
}
