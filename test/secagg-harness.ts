/**
 * In-process driver for SecAgg tests and the benchmark: real clients and a real server (the state machines of
 * privacy/secagg), with the caller playing the network. Dropouts are injected by silencing a client right after
 * it sent its message for a given stage; the coordinator's deadline is `closeStage()`.
 */
import { SecAggClient } from '../privacy/secagg/client.ts';
import { DEFAULT_SECAGG_CLIENT_POLICY, type SecAggClientPolicy } from '../privacy/secagg/client-policy.ts';
import { ed25519FromSeed, type Ed25519Identity } from '../privacy/secagg/crypto/ed25519.ts';
import { quantizationParams, quantize } from '../privacy/secagg/quantize.ts';
import { SecAggServer, type Outgoing, type SecAggResult } from '../privacy/secagg/server.ts';
import { deriveSeed, seededRandom, type RandomSource } from '../privacy/random.ts';
import type { SecAggClientMessage } from '../protocol/secagg.ts';
import type { TesseraError } from '../protocol/errors.ts';

/** When a client goes silent: before answering the setup, or right after sending the named message. */
export type DropPoint = 'setup' | 'advertise' | 'share-keys' | 'masked-input' | 'consistency';

const SENT_AT: Record<SecAggClientMessage['type'], DropPoint | 'unmask'> = {
  'secagg.advertise': 'advertise',
  'secagg.share-keys': 'share-keys',
  'secagg.masked-input': 'masked-input',
  'secagg.consistency-signature': 'consistency',
  'secagg.unmask-shares': 'unmask',
};

export interface RoundSpec {
  n: number;
  k: number;
  t: number;
  dim: number;
  /** Default true (the new default of the job spec and of client policies). */
  consistencyCheck?: boolean;
  /** The clients' policy; default: DEFAULT_SECAGG_CLIENT_POLICY, with the consistency check required iff it is on. */
  policy?: SecAggClientPolicy;
  /** Under DP: the clients' minimum survivors m. */
  minSurvivors?: number;
  seed: string;
  roundId?: string;
  /** Client index → the point after which it goes silent. */
  drops?: ReadonlyMap<number, DropPoint>;
  /** Hooks to play a dishonest network or coordinator. */
  onServerMessage?: (o: Outgoing) => Outgoing | undefined;
  onClientMessage?: (from: string, m: SecAggClientMessage) => SecAggClientMessage | undefined;
  identities?: Identities;
  inputs?: Uint32Array[];
  /** Public graph seed (default: drawn by the server from its seeded source). */
  graphSeed?: Uint8Array;
}

export interface Identities {
  ids: string[];
  keys: Ed25519Identity[];
  resolve: (id: string) => Uint8Array | undefined;
}

export function makeIdentities(n: number, seed: string): Identities {
  const rng = seededRandom(deriveSeed(seed, 'identities'));
  const ids = Array.from({ length: n }, (_, i) => `client-${i}`);
  const keys = ids.map(() => {
    const s = new Uint8Array(32);
    rng.fillBytes(s);
    return ed25519FromSeed(s);
  });
  const table = new Map(ids.map((id, i) => [id, (keys[i] as Ed25519Identity).publicKey]));
  return { ids, keys, resolve: (id) => table.get(id) };
}

/** Quantised random inputs in [−1, 1] (seeded: reproducible, not private). */
export function makeInputs(n: number, dim: number, seed: string): Uint32Array[] {
  const params = quantizationParams({ clipRange: 1, clients: n });
  const rng = seededRandom(deriveSeed(seed, 'inputs'));
  return Array.from({ length: n }, () => quantize(Float64Array.from({ length: dim }, () => 2 * rng.nextFloat() - 1), params, rng));
}

export function plainSum(inputs: ReadonlyArray<Uint32Array>, members: ReadonlyArray<number>, dim: number): Uint32Array {
  const s = new Uint32Array(dim);
  for (const u of members) {
    const x = inputs[u] as Uint32Array;
    for (let i = 0; i < dim; i++) s[i] = (s[i] as number) + (x[i] as number);
  }
  return s;
}

export interface RoundOutcome {
  server: SecAggServer;
  clients: SecAggClient[];
  inputs: Uint32Array[];
  result?: SecAggResult;
  error?: TesseraError;
  clientErrors: Array<{ client: number; error: unknown }>;
  /** Client messages the server refused (the round goes on without them). */
  serverRejections: Array<{ client: number; error: unknown }>;
  /** Every client → server message, in order. */
  sent: Array<{ from: number; message: SecAggClientMessage }>;
  /** Every server → client message delivered. */
  delivered: Outgoing[];
}

export function runRound(spec: RoundSpec): RoundOutcome {
  const { n, k, t, dim, seed } = spec;
  const roundId = spec.roundId ?? `job-1/round-1/${seed}`;
  const identities = spec.identities ?? makeIdentities(n, seed);
  const inputs = spec.inputs ?? makeInputs(n, dim, seed);
  const rngFor = (label: string | number): RandomSource => seededRandom(deriveSeed(seed, roundId, label));
  const consistencyCheck = spec.consistencyCheck ?? true;
  const policy = spec.policy ?? { ...DEFAULT_SECAGG_CLIENT_POLICY, requireConsistencyCheck: consistencyCheck };
  const clients = identities.ids.map(
    (clientId, i) =>
      new SecAggClient({ clientId, identity: identities.keys[i] as Ed25519Identity, resolveIdentity: identities.resolve, input: inputs[i] as Uint32Array, rng: rngFor(i), policy, ...(spec.minSurvivors === undefined ? {} : { minSurvivors: spec.minSurvivors }) }),
  );
  const server = new SecAggServer({ roundId, clients: identities.ids, k, t, dim, consistencyCheck, resolveIdentity: identities.resolve, rng: rngFor('server'), ...(spec.graphSeed === undefined ? {} : { graphSeed: spec.graphSeed }) });
  const byId = new Map(identities.ids.map((id, i) => [id, i]));
  const silent = new Set<number>();
  const drops = spec.drops ?? new Map<number, DropPoint>();
  for (const [u, p] of drops) if (p === 'setup') silent.add(u);
  const outcome: RoundOutcome = { server, clients, inputs, clientErrors: [], serverRejections: [], sent: [], delivered: [] };

  const finished = (): boolean => server.stage === 'done' || server.stage === 'aborted';
  let out = server.start();
  for (let guard = 0; guard < 20 && !finished(); guard++) {
    const replies: Array<[string, SecAggClientMessage]> = [];
    for (const raw of out) {
      const o = spec.onServerMessage === undefined ? raw : spec.onServerMessage(raw);
      if (o === undefined) continue;
      const u = byId.get(o.to) as number;
      if (silent.has(u)) continue;
      outcome.delivered.push(o);
      let reply: SecAggClientMessage | undefined;
      try {
        reply = (clients[u] as SecAggClient).handle(o.message);
      } catch (error) {
        outcome.clientErrors.push({ client: u, error });
        continue;
      }
      if (reply === undefined) continue;
      const m = spec.onClientMessage === undefined ? reply : spec.onClientMessage(o.to, reply);
      if (m !== undefined) {
        replies.push([o.to, m]);
        outcome.sent.push({ from: u, message: m });
      }
      if (drops.get(u) === SENT_AT[reply.type]) silent.add(u);
    }
    out = [];
    for (const [id, m] of replies) {
      try {
        out.push(...server.receive(id, m));
      } catch (error) {
        outcome.serverRejections.push({ client: byId.get(id) as number, error });
      }
    }
    if (out.length === 0 && !finished()) out = server.closeStage();
  }
  if (server.stage === 'done') outcome.result = server.result();
  else outcome.error = server.error;
  return outcome;
}
