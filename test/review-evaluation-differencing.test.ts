/**
 * Review attack (issue 10 §5, "nothing exact in the clear"): a coordinator learns one organisation's EXACT
 * held-out example count and correct count although every figure travels inside a secure sum, and although
 * the victim runs the DEFAULT client policy (secure aggregation required, semi-malicious threat model,
 * consistency check, `disclose.exampleCount: false`).
 *
 * How: the coordinator chooses the recipients of each evaluation task. It runs the REAL secure evaluation
 * protocol (coordinator/secagg-evaluation.ts) twice over the same weights, once with {a, b, c, victim} and once
 * with {a, b, c}; each run unmasks an exact integer sum [examples, correct, loss, ...], so the difference is
 * the victim's own vector. Nothing bounds it: the client policy judges an evaluation task only by its secure-
 * aggregation settings (client/policy/rules.ts: the round limit, the once-per-round rule and the participation
 * record apply to training only), and the sums carry no noise. The `examples` coordinate does not even need two
 * evaluations of one round: it is the same every round, so two honest evaluation rounds whose eligible sets
 * differ by one client (a disconnect) publish it through `federatedEvaluation.examples` in the round records.
 *
 * Real sockets on 127.0.0.1, real ClientNodes with the standard mods and real SecureAggregation.
 * GAP (open, it.fails): a fix needs noise on the evaluation sum (e.g. the distributed discrete Gaussian of
 * Kairouz, Liu & Steinke 2021 on every coordinate, accounted), or at least fixed public evaluation weights
 * without an `examples` coordinate plus a client-side limit of one evaluation per (job, round) in the
 * participation record; documenting it is the minimum.
 * Still open after the malicious-secure secure aggregation (merge c5daf7f), re-run on main: each client judges the
 * setup by its own policy (privacy/secagg/acceptance.ts), but both setups pass it — n = 4 and n = 3 meet the
 * default minClients = 3, the (k, t) are the client's own, and `dp-min-survivors` has nothing to check because
 * the evaluation sum carries no DP noise — so both runs unmask and the difference is exactly 37.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientNode } from '../client/node.ts';
import { DEFAULT_CLIENT_POLICY } from '../client/policy/schema.ts';
import { socketIoClientTransport } from '../client/transport/socketio-client.ts';
import { secAggEvaluationProtocol, type SecAggEvaluationReport } from '../coordinator/secagg-evaluation.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import { initBackend } from '../ml/backend.ts';
import { cryptoRandom } from '../privacy/random.ts';
import { simulatedIdentities } from '../privacy/secagg/identity-directory.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { consortium, coordinator, logisticJob, mnistSlice } from './support/federation-fixtures.ts';
import { policyNode, waitUntilConnected } from './support/policy-node.ts';

const DIM = 784 * 10 + 10;
const SIZES = { a: 50, b: 61, c: 72, victim: 37 } as const;
const IDS = Object.keys(SIZES) as Array<keyof typeof SIZES>;
const root = mkdtempSync(join(tmpdir(), 'tessera-review-eval-'));
let server: CoordinatorServer;
const nodes: ClientNode[] = [];

const job = logisticJob({
  rounds: 2,
  minClients: 3,
  sampling: { mode: 'poisson', rate: 1 },
  secagg: { enabled: true, threatModel: 'semi-malicious', consistencyCheck: true, weighting: 'uniform' },
  dp: { enabled: true, epsilon: 8, noiseMultiplier: 1, clipNorm: 1, placement: 'distributed' },
});

beforeAll(async () => {
  await initBackend();
  server = await coordinator();
  const identities = simulatedIdentities([...IDS], cryptoRandom());
  let from = 0;
  for (const id of IDS) {
    // Authenticated with the test consortium's key; no example count in the handshake (disclose.exampleCount off).
    const transport = socketIoClientTransport({ url: server.url, handshake: { protocolVersion: PROTOCOL_VERSION, clientId: id, orgId: `org-${id}` }, identity: consortium.identityOf(id, `org-${id}`), reconnectDelayMs: 100, reconnectDelayMaxMs: 200 });
    nodes.push(policyNode({ id, transport, data: { train: mnistSlice(from, SIZES[id]) }, policy: DEFAULT_CLIENT_POLICY, identities, recordRoot: root }).node);
    from += SIZES[id];
  }
  await waitUntilConnected(server, IDS);
  // The coordinator's own roster copy.
  evaluate = async (members, round) => {
    let report: SecAggEvaluationReport | undefined;
    const protocol = secAggEvaluationProtocol({ resolveIdentity: identities.resolve, pollMs: 10, onReport: (r) => (report = r) });
    const clients = server.federation.clients().filter((c) => members.includes(c.clientId as keyof typeof SIZES));
    const e = await protocol.run({ federation: server.federation, clients, jobId: 'review-eval', spec: job, round, weights: new Float32Array(DIM) });
    expect(report?.sum).toBeDefined();
    return { examples: e?.examples ?? NaN, correct: Math.round((e?.accuracy ?? NaN) * (e?.examples ?? NaN)) };
  };
}, 60_000);

let evaluate: (members: readonly string[], round: number) => Promise<{ examples: number; correct: number }>;

afterAll(async () => {
  for (const n of nodes) n.close();
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

describe('secure evaluation sums with coordinator-chosen recipients', () => {
  // GAP (open): see the header. The assertion states the claim; today the difference IS the victim's count.
  it.fails('the victim’s exact held-out example count cannot be recovered by differencing two secure evaluations', async () => {
    const withVictim = await evaluate(['a', 'b', 'c', 'victim'], 1);
    const without = await evaluate(['a', 'b', 'c'], 1);
    // Both runs completed with the default policy: each unmasked an exact sum.
    expect(withVictim.examples).toBe(SIZES.a + SIZES.b + SIZES.c + SIZES.victim);
    expect(without.examples).toBe(SIZES.a + SIZES.b + SIZES.c);
    // The attack: the victim's own count (its policy keeps it out of the handshake) is the difference.
    expect(withVictim.examples - without.examples).not.toBe(SIZES.victim);
  }, 60_000);
});
