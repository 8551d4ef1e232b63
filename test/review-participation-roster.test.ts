/**
 * Review attack (issue 11 §5, "what is public"; adversary: an ORGANISATION that wants to know whether another
 * one took part). The ledger's ε amplifies by Poisson sampling at rate q, which holds only against an observer
 * who does not learn who was sampled. docs/privacy-accounting.md lists who does learn it: readers of the
 * coordinator's state, logs, admin API and round records, and the coordinator itself. It does not list the
 * other participants — yet every sampled organisation receives, in the secure-aggregation setup of the round,
 * the full roster of client ids the round was sampled into.
 *
 * The attack: a real coordinator runs one real secure training round (coordinator/secagg-round.ts, the
 * protocol the job runner uses) over 127.0.0.1 for the sample {observer, a, b} out of four connected client
 * nodes, all under the DEFAULT client policy. The observer is an honest client node whose transport keeps a
 * copy of what the coordinator sent it. From the setup alone it learns that a and b were sampled and c was not.
 *
 * GAP (open, it.fails): SecAgg+ needs each client to know its neighbours' identities, so some disclosure is
 * inherent; today it is the whole roster, not the k neighbours. A fix needs (1) docs/privacy-accounting.md to
 * list co-participants as observers of participation (against them a round protects an organisation only as
 * the Gaussian mechanism at q = 1), and (2) in SecAgg (not touched here) a setup that reveals only the
 * neighbours, e.g. the graph derived by the coordinator and each client sent its neighbourhood with a
 * commitment to the rest.
 * Still open after the malicious-secure secure aggregation (merge c5daf7f), re-run on main with authenticated
 * clients and the default policy passed to SecureAggregation: the round releases its sum and the setup still
 * lists the whole sample (the setup hash binds the roster, so every client needs it as the protocol stands).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientNode } from '../client/node.ts';
import { DEFAULT_CLIENT_POLICY } from '../client/policy/schema.ts';
import { secAggTrainingProtocol, type SecAggRoundReport } from '../coordinator/secagg-round.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import { initBackend } from '../ml/backend.ts';
import { cryptoRandom } from '../privacy/random.ts';
import { simulatedIdentities } from '../privacy/secagg/identity-directory.ts';
import type { ClientTransport } from '../protocol/transport.ts';
import { authenticatedTransport, coordinator, logger, logisticJob, mnistSlice } from './support/federation-fixtures.ts';
import { policyNode, waitUntilConnected } from './support/policy-node.ts';

const DIM = 784 * 10 + 10;
const IDS = ['observer', 'a', 'b', 'c'] as const;
const SAMPLED = ['observer', 'a', 'b'];
const root = mkdtempSync(join(tmpdir(), 'tessera-review-roster-'));
let server: CoordinatorServer;
const nodes: ClientNode[] = [];
/** What the coordinator sent the observer, as received from its socket. */
const observed: unknown[] = [];
const identities = simulatedIdentities([...IDS], cryptoRandom());

const job = logisticJob({
  rounds: 2,
  minClients: 3,
  sampling: { mode: 'poisson', rate: 0.5 },
  secagg: { enabled: true, threatModel: 'semi-malicious', consistencyCheck: true, weighting: 'uniform' },
  dp: { enabled: true, epsilon: 8, noiseMultiplier: 1, clipNorm: 1, placement: 'distributed' },
});

beforeAll(async () => {
  await initBackend();
  server = await coordinator();
  IDS.forEach((id, i) => {
    const inner = authenticatedTransport(server, id, 40);
    const transport: ClientTransport = id === 'observer' ? { ...inner, send: (m) => inner.send(m), close: () => inner.close(), onConnect: (h) => inner.onConnect(h), onDisconnect: (h) => inner.onDisconnect(h), onRefused: (h) => inner.onRefused(h), onMessage: (h) => inner.onMessage((raw) => { observed.push(raw); h(raw); }) } : inner;
    nodes.push(policyNode({ id, transport, data: { train: mnistSlice(i * 40, 40) }, policy: DEFAULT_CLIENT_POLICY, identities, recordRoot: root }).node);
  });
  await waitUntilConnected(server, IDS);
}, 60_000);

afterAll(async () => {
  for (const n of nodes) n.close();
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

/** Client ids listed in any secure-aggregation setup the observer received. */
function rosterSeenByObserver(): string[] {
  const ids = new Set<string>();
  for (const raw of observed) {
    const m = raw as { type?: string; message?: { type?: string; clients?: unknown } };
    if (m.type === 'secagg' && m.message?.type === 'secagg.setup' && Array.isArray(m.message.clients)) for (const c of m.message.clients) ids.add(String(c));
  }
  return [...ids].sort();
}

describe('who else was sampled, as seen by one participating organisation', () => {
  // GAP (open): see the header. The assertion states what q-amplification needs; today the observer sees the sample.
  it.fails('a participant does not learn which other organisations were sampled into its round', async () => {
    let report: SecAggRoundReport | undefined;
    const protocol = secAggTrainingProtocol({ resolveIdentity: identities.resolve, pollMs: 10, onReport: (r) => (report = r) });
    const selected = server.federation.clients().filter((c) => SAMPLED.includes(c.clientId));
    await protocol.run({ jobId: 'review-roster', spec: job, round: 1, selected, global: new Float32Array(DIM), federation: server.federation, logger });
    // The round ran under the default policy and released a sum of the three sampled updates.
    expect(report?.abort).toBeUndefined();
    expect([...(report?.survivors ?? [])].sort()).toEqual([...SAMPLED].sort());
    const seen = rosterSeenByObserver();
    expect(seen.length).toBeGreaterThan(0);
    // The attack: the observer reads the sample off the setup — a and b took part, c did not.
    expect(seen).not.toEqual([...SAMPLED].sort());
  }, 60_000);
});
