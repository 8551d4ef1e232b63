/**
 * Secure aggregation over real sockets (socket.io on 127.0.0.1, port 0): the coordinator's SecAgg+ training
 * protocol (coordinator/secagg-round.ts) against clients using the client side of secure aggregation
 * (client/secure-aggregation.ts). The unmasked sum must equal the plain sum of the survivors' quantised inputs
 * exactly, for n = 5, 20 and 100, with client sockets closed after each stage up to the most the parameters
 * tolerate (n − t in a complete graph), and the round must abort cleanly — no sum, no share of any secret
 * revealed when the dropouts happen before unmasking — one dropout beyond. n = 100 runs the sparse SecAgg+
 * graph the finder picks (the exact per-graph tolerance boundary at n = 100 is covered in process by
 * test/secagg-rounds.test.ts; over sockets a complete graph of 100 costs ~40 000 binary frames per stage).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { secAggTrainingProtocol, type SecAggRoundReport } from '../coordinator/secagg-round.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import { coordinator } from './support/federation-fixtures.ts';
import type { Federation, SecAggHandler } from '../coordinator/federation.ts';
import type { TrainingOutcome } from '../coordinator/plain-round.ts';
import type { ServerMessage } from '../protocol/messages.ts';
import { silentLogger } from '../lib/logger.ts';
import { deriveSeed, seededRandom } from '../privacy/random.ts';
import { parseJobSpec, type JobSpec } from '../protocol/job/spec.ts';
import { clientIds, lightFederation, plainSum, type DropPoint, type LightFederation } from './secagg-socket-support.ts';

const logger = silentLogger();
// A logistic model with 9 inputs and 2 classes has 9·2 + 2 = 20 parameters: the update length d.
const D = 20;

function job(secagg: Record<string, unknown>, deadlineMs = 10_000, minClients = 1): JobSpec {
  return parseJobSpec({
    name: 'secagg-socket',
    model: { kind: 'logistic', inputs: 9, classes: 2 },
    data: { dataset: 'heart' },
    rounds: 1,
    sampling: { mode: 'fixed', clientsPerRound: 1000 },
    minClients,
    roundDeadlineMs: deadlineMs,
    training: { epochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd' },
    secagg: { enabled: true, ...secagg },
  });
}

/** Known updates in [−1, 1] and example counts, fixed per client. */
const update = (i: number): Float32Array => {
  const rng = seededRandom(deriveSeed('updates', i));
  return Float32Array.from({ length: D }, () => 2 * rng.nextFloat() - 1);
};
const examples = (i: number): number => 10 + ((i * 37) % 90);

let server: CoordinatorServer | undefined;
let fed: LightFederation | undefined;
afterEach(async () => {
  fed?.close();
  fed = undefined;
  await server?.close();
  server = undefined;
});

type Tamper = (to: string, message: ServerMessage) => ServerMessage;

async function secureRound(o: {
  n: number;
  secagg: Record<string, unknown>;
  drops?: Map<number, DropPoint>;
  maskedInputDelayMs?: (i: number) => number;
  /** Client i holds its masked input until client `until` is connected again on a new connection. */
  holdMaskedInput?: { client: number; until: number };
  seed?: string;
  tamper?: Tamper;
  deadlineMs?: number;
  minClients?: number;
}): Promise<{ outcome: TrainingOutcome; report: SecAggRoundReport; fed: LightFederation }> {
  const srv = await coordinator();
  server = srv;
  const delivered = new Map<string, () => void>();
  const deliveredPromises = new Map<string, Promise<void>>();
  const whenDelivered = (id: string): Promise<void> => {
    let p = deliveredPromises.get(id);
    if (p === undefined) {
      p = new Promise<void>((resolve) => delivered.set(id, resolve));
      deliveredPromises.set(id, p);
    }
    return p;
  };
  const firstConnection = new Map<string, unknown>();
  const hold = o.holdMaskedInput;
  const reconnected = async (id: string): Promise<void> => {
    while (srv.federation.connectionOf(id) === undefined || srv.federation.connectionOf(id) === firstConnection.get(id)) await new Promise((r) => setTimeout(r, 20));
  };
  fed = lightFederation(srv, {
    n: o.n,
    seed: o.seed ?? `n${o.n}`,
    update,
    examples,
    ...(o.drops ? { drops: o.drops } : {}),
    ...(o.maskedInputDelayMs ? { maskedInputDelayMs: o.maskedInputDelayMs } : {}),
    ...(hold ? { maskedInputAfter: (i: number) => (i === hold.client ? reconnected(clientIds(o.n)[hold.until] as string) : undefined) } : {}),
    maskedInputDelivered: whenDelivered,
  });
  await srv.federation.waitForClients(o.n, 10_000);
  for (const c of srv.federation.clients()) firstConnection.set(c.clientId, srv.federation.connectionOf(c.clientId));
  let report: SecAggRoundReport | undefined;
  const protocol = secAggTrainingProtocol({ resolveIdentity: fed.identities.resolve, rng: seededRandom(`graph-${o.n}`), onReport: (r) => (report = r) });
  const byId = new Map(srv.federation.clients().map((c) => [c.clientId, c]));
  const selected = clientIds(o.n).map((id) => byId.get(id)).filter((c) => c !== undefined);
  const federation = observing(o.tamper === undefined ? srv.federation : tampering(srv.federation, o.tamper), (clientId, m) => {
    if (m.message.type === 'secagg.masked-input') delivered.get(clientId)?.();
  });
  const outcome = await protocol.run({ jobId: 'job-secagg', spec: job(o.secagg, o.deadlineMs, o.minClients), round: 1, selected, global: new Float32Array(D), federation, logger });
  if (report === undefined) throw new Error('no report');
  return { outcome, report, fed };
}

/** The federation, with every secure-aggregation message the coordinator receives also shown to `seen`. */
function observing(federation: Federation, seen: SecAggHandler): Federation {
  return new Proxy(federation, {
    get(target, prop) {
      if (prop === 'subscribeSecAgg') return (jobId: string, round: number, handler: SecAggHandler) => target.subscribeSecAgg(jobId, round, (c, m) => {
        seen(c, m);
        handler(c, m);
      });
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** The real federation, with the coordinator's outgoing messages passed through `tamper` (a dishonest coordinator). */
function tampering(federation: Federation, tamper: Tamper): Federation {
  return new Proxy(federation, {
    get(target, prop) {
      if (prop === 'send') return (to: string, message: ServerMessage) => target.send(to, tamper(to, message));
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

function expectExact(r: { outcome: TrainingOutcome; report: SecAggRoundReport; fed: LightFederation }, expectedSurvivors: string[]): void {
  expect(r.report.abort, JSON.stringify(r.report.abort)).toBeUndefined();
  expect([...r.report.survivors].sort()).toEqual([...expectedSurvivors].sort());
  expect(r.outcome.participants.map((p) => p.clientId).sort()).toEqual([...expectedSurvivors].sort());
  const dim = r.report.plan.dim;
  expect(dim).toBe(D + 1); // example weighting: one secure count coordinate
  expect(Array.from(r.report.sum as Uint32Array)).toEqual(Array.from(plainSum(r.fed.inputs, expectedSurvivors, dim)));
  // FedAvg weighting through the secure count coordinate: Σ min(n_u, W) over the survivors.
  const ids = clientIds(r.report.plan.clients);
  expect(r.outcome.aggregate.totalWeight).toBe(expectedSurvivors.reduce((s, id) => s + examples(ids.indexOf(id)), 0));
}

/** Clients that never got as far as sending a masked input were asked for nothing, and revealed nothing. */
function expectCleanAbort(r: { outcome: TrainingOutcome; report: SecAggRoundReport; fed: LightFederation }, n: number, revealed: 'nothing' | 'below-threshold'): void {
  expect(r.report.abort?.code).toBe('TESSERA_ERR_SECAGG_ABORT');
  expect(r.report.sum).toBeUndefined();
  expect(r.outcome.participants).toEqual([]);
  expect(r.outcome.aggregate.totalWeight).toBe(0);
  expect(r.outcome.dropped.length).toBe(n);
  const reveals = r.fed.clients.flatMap((c) => c.sent.filter((m) => m.type === 'secagg' && m.message.type === 'secagg.unmask-shares'));
  if (revealed === 'nothing') expect(reveals).toEqual([]);
  else expect(reveals.length).toBeLessThan(r.report.plan.t);
}

const STAGES: DropPoint[] = ['setup', 'advertise', 'share-keys', 'masked-input'];
const dropsAt = (indices: number[], point: DropPoint): Map<number, DropPoint> => new Map(indices.map((i) => [i, point]));
/** Clients that still count in the sum after dropping at `point` (a masked input sent is in the sum). */
const survivorsAfter = (n: number, dropped: number[], point: DropPoint): string[] => clientIds(n).filter((_, i) => point === 'masked-input' || !dropped.includes(i));

describe('secure aggregation over real sockets, n = 5 (complete graph, t = 3)', () => {
  const secagg = { degree: 4, threshold: 3 };
  it('no dropouts: the unmasked sum is the plain sum of the quantised inputs', async () => {
    const r = await secureRound({ n: 5, secagg });
    expectExact(r, clientIds(5));
    expect(r.outcome.dropped).toEqual([]);
  });
  it('3 masked inputs ≥ t but below minClients = 4: aborts before any share is revealed', async () => {
    const r = await secureRound({ n: 5, secagg, minClients: 4, drops: dropsAt([3, 4], 'share-keys') });
    expectCleanAbort(r, 5, 'nothing');
    expect(r.report.abort?.reason).toMatch(/only 3 masked input\(s\) arrived; the job needs at least 4/);
  });
  for (const point of STAGES) {
    it(`2 = n − t clients disconnect after ${point}: the survivors' sum is exact`, async () => {
      const r = await secureRound({ n: 5, secagg, drops: dropsAt([1, 3], point) });
      expectExact(r, survivorsAfter(5, [1, 3], point));
      if (point !== 'masked-input') expect(r.outcome.dropped.map((d) => d.clientId).sort()).toEqual(['client-001', 'client-003']);
    });
    it(`3 clients disconnect after ${point}: the round aborts cleanly`, async () => {
      const r = await secureRound({ n: 5, secagg, drops: dropsAt([0, 2, 4], point) });
      expectCleanAbort(r, 5, point === 'masked-input' ? 'below-threshold' : 'nothing');
    });
  }
});

describe('secure aggregation over real sockets, n = 20 (complete graph, t = 12)', () => {
  const secagg = { degree: 19, threshold: 12 };
  const mixed = new Map<number, DropPoint>([
    [2, 'setup'],
    [5, 'advertise'],
    [7, 'advertise'],
    [9, 'share-keys'],
    [11, 'share-keys'],
    [13, 'masked-input'],
    [17, 'masked-input'],
    [19, 'masked-input'],
  ]);
  it('8 = n − t dropouts spread over every stage: exact', async () => {
    const r = await secureRound({ n: 20, secagg, drops: mixed });
    const survivors = clientIds(20).filter((_, i) => !mixed.has(i) || mixed.get(i) === 'masked-input');
    expectExact(r, survivors);
    expect(r.outcome.dropped.length).toBe(5);
    expect(r.outcome.dropped.every((d) => d.code === 'TESSERA_ERR_TIMEOUT')).toBe(true);
  });
  it('9 dropouts: aborts cleanly', async () => {
    const r = await secureRound({ n: 20, secagg, drops: new Map([...mixed, [0, 'share-keys']]) });
    expectCleanAbort(r, 20, 'below-threshold');
  });
  it('with the consistency check (clients sign the survivor set): exact after dropouts', async () => {
    const drops = new Map<number, DropPoint>([[3, 'advertise'], [6, 'masked-input'], [8, 'consistency']]);
    const r = await secureRound({ n: 20, secagg: { ...secagg, consistencyCheck: true }, drops });
    expectExact(r, clientIds(20).filter((_, i) => i !== 3));
  });

  it('a client that answers masked-input, drops and comes straight back is not awaited at the next stage (round deadline 10 min)', async () => {
    // Its new connection has none of the round's state: waiting for its consistency signature would hold the
    // round until the deadline (seen at 1,000 clients under load). Its masked input is in the sum all the same.
    const drops = new Map<number, DropPoint>([[5, 'masked-input-reconnect']]);
    // Client 9 holds its masked input until client 5 is back on a new connection, so client 5 drops (once the
    // coordinator holds its masked input) and is back while that stage is still open.
    const r = await secureRound({ n: 20, secagg: { ...secagg, consistencyCheck: true }, drops, deadlineMs: 600_000, holdMaskedInput: { client: 9, until: 5 } });
    expectExact(r, clientIds(20));
    expect(r.outcome.dropped).toEqual([]);
  }, 60_000);
});

describe('secure aggregation over real sockets, n = 100 (SecAgg+ sparse graph from the finder)', () => {
  it('finder parameters at 10% expected dropout; 10 clients vanish across the stages: exact', async () => {
    const drops = new Map<number, DropPoint>();
    [3, 14, 25, 36, 47, 58, 69, 80, 91, 99].forEach((i, j) => drops.set(i, STAGES[j % STAGES.length] as DropPoint));
    // A generous stage deadline: with the consistency check each client verifies up to k signatures, and on a
    // loaded 2-core machine a 10 s stage could close on a slow (not vanished) client.
    const r = await secureRound({ n: 100, secagg: { dropoutRate: 0.1, corruptRate: 0.05 }, drops, deadlineMs: 25_000 });
    // Bell et al. 2020 via the project's finder (privacy/secagg/README.md): n = 100, δ = 0.1, γ = 0.05, semi-malicious (the default) → k = 28, t = 18.
    expect([r.report.plan.k, r.report.plan.t]).toEqual([28, 18]);
    const survivors = clientIds(100).filter((_, i) => !drops.has(i) || drops.get(i) === 'masked-input');
    expectExact(r, survivors);
  }, 90_000);
  it('95 clients vanish after advertising keys (fewer than t = 6 left): aborts before any share is revealed', async () => {
    const drops = new Map<number, DropPoint>(Array.from({ length: 95 }, (_, i) => [i + 5, 'advertise'] as const));
    const r = await secureRound({ n: 100, secagg: { dropoutRate: 0.1, corruptRate: 0.05 }, drops });
    expectCleanAbort(r, 100, 'nothing');
  }, 30_000);
});

describe('a coordinator that asks for both shares of one client, over real sockets', () => {
  it('is refused: the asked client aborts and reveals nothing, the others still unmask the exact sum', async () => {
    const tamper: Tamper = (to, m) => {
      if (to !== 'client-000' || m.type !== 'secagg' || m.message.type !== 'secagg.unmask') return m;
      // Ask client-000 for the mask-key share of client-001 as well as its self-mask share (client-001 survived).
      return { ...m, message: { ...m.message, maskKeyFor: [...m.message.maskKeyFor, 1] } };
    };
    // The refusing client goes silent: the unmask stage closes at its deadline (2 s here).
    const r = await secureRound({ n: 5, secagg: { degree: 4, threshold: 3 }, tamper, deadlineMs: 2_000 });
    const victim = r.fed.clients[0];
    expect(victim?.secure.refusals.map((x) => x.code)).toEqual(['TESSERA_ERR_SECAGG_PROTOCOL']);
    expect(victim?.secure.refusals[0]?.message).toMatch(/both the self-mask and the mask-key share/);
    expect(victim?.sent.some((m) => m.type === 'secagg' && m.message.type === 'secagg.unmask-shares')).toBe(false);
    // client-000's masked input is in the sum; the 4 honest answers (≥ t = 3) rebuild its self mask.
    expectExact(r, clientIds(5));
  });
});
