/**
 * Light SecAgg clients for socket tests: each is a real socket.io connection to a real coordinator and submits
 * a known update through the real `SecureAggregation` (the client side used by client nodes) — only the local
 * training is left out, so n = 100 stays fast. A client can be made to vanish (its socket closed, reconnection
 * off) after it sent the message of a given stage, before answering the next: that is how dropouts are injected.
 */
import { SecureAggregation } from '../client/secure-aggregation.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import { silentLogger } from '../lib/logger.ts';
import { deriveSeed, seededRandom } from '../privacy/random.ts';
import type { SecAggClientPolicy } from '../privacy/secagg/client-policy.ts';
import type { RoundIdRegister } from '../privacy/secagg/round-id.ts';
import { simulatedIdentities, type SimulatedIdentities } from '../privacy/secagg/identity-directory.ts';
import { ServerMessage, type ClientMessage } from '../protocol/messages.ts';
import type { SecAggClientMessage } from '../protocol/secagg.ts';
import type { ClientTransport } from '../protocol/transport.ts';
import { authenticatedTransport } from './support/federation-fixtures.ts';
import { TaskSpecs } from '../client/task-specs.ts';

/**
 * Vanish before answering the task, or right after sending the named stage's message; 'masked-input-reconnect'
 * vanishes after masked-input and comes straight back on a new connection that holds none of the round's state.
 */
export type DropPoint = 'setup' | 'advertise' | 'share-keys' | 'masked-input' | 'consistency' | 'masked-input-reconnect';

const SENT_AT: Record<SecAggClientMessage['type'], Exclude<DropPoint, 'masked-input-reconnect'> | 'unmask'> = {
  'secagg.advertise': 'advertise',
  'secagg.share-keys': 'share-keys',
  'secagg.masked-input': 'masked-input',
  'secagg.consistency-signature': 'consistency',
  'secagg.unmask-shares': 'unmask',
};

export interface LightClient {
  readonly id: string;
  readonly transport: ClientTransport;
  readonly secure: SecureAggregation;
  /** Every message this client sent, in order. */
  readonly sent: ClientMessage[];
}

export interface LightFederation {
  readonly clients: LightClient[];
  readonly identities: SimulatedIdentities;
  /** The quantised input each client fed to secure aggregation, by client id. */
  readonly inputs: Map<string, Uint32Array>;
  close(): void;
}

export const clientIds = (n: number): string[] => Array.from({ length: n }, (_, i) => `client-${String(i).padStart(3, '0')}`);

export function lightFederation(
  server: CoordinatorServer,
  o: { n: number; seed: string; update: (i: number) => Float32Array; examples: (i: number) => number; drops?: ReadonlyMap<number, DropPoint>; maskedInputDelayMs?: (i: number) => number; maskedInputAfter?: (i: number) => Promise<void> | undefined; maskedInputDelivered?: (id: string) => Promise<void>; policy?: (i: number) => SecAggClientPolicy | undefined; roundIds?: (i: number) => RoundIdRegister },
): LightFederation {
  const ids = clientIds(o.n);
  // Seeded identities and rounding: reproducible test runs, not private.
  const identities = simulatedIdentities(ids, seededRandom(deriveSeed(o.seed, 'identities')));
  const inputs = new Map<string, Uint32Array>();
  const logger = silentLogger();
  const comebacks: ClientTransport[] = [];
  const clients = ids.map((id, i): LightClient => {
    const transport = authenticatedTransport(server, id, o.examples(i));
    const policy = o.policy?.(i);
    const roundIds = o.roundIds?.(i);
    const secure = new SecureAggregation({
      clientId: id,
      identity: identities.identityOf(id),
      resolveIdentity: identities.resolve,
      logger,
      rng: seededRandom(deriveSeed(o.seed, 'client', id)),
      onEncoded: (_, x) => inputs.set(id, x.slice()),
      ...(policy === undefined ? {} : { policy }),
      ...(roundIds === undefined ? {} : { roundIds }),
    });
    const drop = o.drops?.get(i);
    const sent: ClientMessage[] = [];
    // socket.io drops an event that arrives in the same tick as the sender's disconnect, so the client closes its
    // socket when the coordinator's next message arrives: its message was delivered, and it never answers again.
    let vanishing = false;
    let closed = false;
    const send = (m: ClientMessage): void => {
      const maskedInput = m.type === 'secagg' && m.message.type === 'secagg.masked-input';
      const delay = maskedInput ? (o.maskedInputDelayMs?.(i) ?? 0) : 0;
      const after = maskedInput ? o.maskedInputAfter?.(i) : undefined;
      if (after !== undefined) void after.then(() => transport.send(m));
      else if (delay > 0) setTimeout(() => transport.send(m), delay);
      else transport.send(m);
      sent.push(m);
      if (drop === 'masked-input-reconnect' && maskedInput) {
        // Gone and back while the masked-input stage is still open (a slower client has not answered yet) — gone
        // only once the coordinator holds its masked input, when the test can tell (a fixed pause lost the
        // message on a heavily loaded machine).
        const leave = (): void => {
          closed = true;
          transport.close();
          comebacks.push(authenticatedTransport(server, id, o.examples(i)));
        };
        if (o.maskedInputDelivered !== undefined) void o.maskedInputDelivered(id).then(leave);
        else setTimeout(leave, 200);
      }
      if (drop !== undefined && m.type === 'secagg' && SENT_AT[m.message.type] === drop) vanishing = true;
    };
    const specs = new TaskSpecs();
    transport.onMessage((raw) => {
      if (vanishing || closed) {
        transport.close();
        return;
      }
      const p = ServerMessage.safeParse(raw);
      if (!p.success) return;
      const msg = p.data;
      if (msg.type === 'train') {
        const task = specs.resolve(msg, (raw as { job?: unknown }).job);
        if (!task.ok) throw new Error(task.message);
        if (drop === 'setup') transport.close();
        else secure.begin(task.task, { update: o.update(i), weight: o.examples(i) }, send);
      } else if (msg.type === 'secagg') secure.handle(msg, send);
    });
    return { id, transport, secure, sent };
  });
  return { clients, identities, inputs, close: () => [...clients.map((c) => c.transport), ...comebacks].forEach((t) => t.close()) };
}

/** Σ of the named clients' quantised inputs modulo 2^32: what the coordinator must unmask. */
export function plainSum(inputs: ReadonlyMap<string, Uint32Array>, members: readonly string[], dim: number): Uint32Array {
  const s = new Uint32Array(dim);
  for (const id of members) {
    const x = inputs.get(id);
    if (x === undefined) throw new Error(`no input recorded for ${id}`);
    for (let i = 0; i < dim; i++) s[i] = (s[i] as number) + (x[i] as number);
  }
  return s;
}
