/**
 * Review attack (issue 10 §1 × issue 11 §2; adversary: a deviating coordinator against client nodes with the
 * DEFAULT policy): get a released sum with less noise than the ledger and the clients account for, by making
 * each distributed noise share small and releasing a sum that holds few of them.
 *
 * Under distributed placement each client adds N(0, σ²C²/m), m = max(minClients, pinned t) taken from the job
 * spec the COORDINATOR sends (privacy/dp/placement.ts); the sum carries σ²C² only if it holds ≥ m shares. The
 * client records its contribution at σ (client/policy/epsilon.ts: "under secure aggregation the sum carries
 * σ"), but nothing on the client checks that the round it joins has m clients: the coordinator's own guard
 * (secagg-exchange.ts, `masked.size < spec.minClients`) is the coordinator's to skip — here it is handed a spec
 * with minClients = 3 while the clients' tasks say minClients = 100.
 *
 * Real coordinator code (runSecAggExchange, SecAggServer), real sockets on 127.0.0.1, three real ClientNodes with
 * the standard mods, the default policy and real SecureAggregation. Learning rate 1e-12 makes every clipped
 * update ≈ 0, so the unmasked sum is the clients' noise alone: its sample std over 7,850 coordinates is
 * measured against the accounted σC = 2. Expected (and measured): σC·√(3/100) ≈ 0.35.
 *
 * CLOSED by the malicious-secure secure aggregation (merge c5daf7f): each client judges the setup by its
 * ORGANISATION's policy (`SecureAggregation({ policy })`, here secAggClientPolicy(DEFAULT_CLIENT_POLICY)) in
 * privacy/secagg/acceptance.ts, whose rule `dp-min-survivors` refuses a round of n = 3 when the job's DP noise
 * assumes m = 100 (and, under DP, demands the consistency check so |U3| < m is refused too). Every client
 * declines the task with TESSERA_ERR_SECAGG_POLICY (rule dp-min-survivors) before advertising a key, the server
 * aborts, no unmask request goes out and the harness gets no sum at all (before the merge the same harness
 * released the sum and measured its noise std at 0.35 against the accounted σC = 2).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientNode } from '../client/node.ts';
import { DEFAULT_CLIENT_POLICY } from '../client/policy/schema.ts';
import type { SecureAggregation } from '../client/secure-aggregation.ts';
import { jobHashOf, runSecAggExchange } from '../coordinator/secagg-exchange.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import { initBackend } from '../ml/backend.ts';
import { cryptoRandom } from '../privacy/random.ts';
import { simulatedIdentities } from '../privacy/secagg/identity-directory.ts';
import { planForJob } from '../privacy/secagg/job-plan.ts';
import { secAggRoundId } from '../privacy/secagg/round-id.ts';
import { SecAggServer } from '../privacy/secagg/server.ts';
import { encodeFloat32 } from '../protocol/tensor.ts';
import { authenticatedTransport, coordinator, logger, logisticJob, mnistSlice } from './support/federation-fixtures.ts';
import { policyNode, waitUntilConnected } from './support/policy-node.ts';

const DIM = 784 * 10 + 10;
const IDS = ['a', 'b', 'c'] as const;
const SIGMA = 2;
const CLIP = 1;
const root = mkdtempSync(join(tmpdir(), 'tessera-review-shares-'));
let server: CoordinatorServer;
const nodes: ClientNode[] = [];
const secures: SecureAggregation[] = [];
const identities = simulatedIdentities([...IDS], cryptoRandom());

/** What the clients are told: m = minClients = 100, so each adds σC/10. */
const sent = logisticJob({
  rounds: 2,
  minClients: 100,
  sampling: { mode: 'poisson', rate: 1 },
  training: { epochs: 1, batchSize: 32, learningRate: 1e-12, optimizer: 'sgd' },
  secagg: { enabled: true, threatModel: 'semi-malicious', consistencyCheck: true, weighting: 'uniform' },
  dp: { enabled: true, epsilon: 8, noiseMultiplier: SIGMA, clipNorm: CLIP, placement: 'distributed' },
});

beforeAll(async () => {
  await initBackend();
  server = await coordinator();
  IDS.forEach((id, i) => {
    const transport = authenticatedTransport(server, id, 40);
    const { node, secure } = policyNode({ id, transport, data: { train: mnistSlice(i * 40, 40) }, policy: DEFAULT_CLIENT_POLICY, identities, recordRoot: root });
    secures.push(secure);
    nodes.push(node);
  });
  await waitUntilConnected(server, IDS);
}, 60_000);

afterAll(async () => {
  for (const n of nodes) n.close();
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

describe('distributed noise shares sized for m = 100, released in a sum of 3', () => {
  it('is declined by every client (dp-min-survivors), so no sum with less than the accounted noise σC is released', async () => {
    const selected = server.federation.clients().filter((c) => (IDS as readonly string[]).includes(c.clientId));
    // The (k, t) each client checks: what the spec it was sent gives for n = 3.
    const plan = planForJob(sent, selected.length, DIM);
    // Round and task ids as the real round derives them (coordinator/secagg-round.ts), so the clients accept them.
    const nonce = randomUUID();
    const roundId = secAggRoundId({ jobId: 'review-shares', round: 1, kind: 'train', nonce });
    // The setup hash binds the spec the clients were sent.
    const secagg = new SecAggServer({ roundId, clients: selected.map((c) => c.clientId), k: plan.k, t: plan.t, dim: plan.dim, consistencyCheck: plan.consistencyCheck, resolveIdentity: identities.resolve, rng: cryptoRandom(), jobHash: jobHashOf(sent) });
    const weights = encodeFloat32(new Float32Array(DIM));
    // The deviation: the coordinator's guard sees minClients = 3, the clients' tasks say 100.
    const exchange = await runSecAggExchange({
      jobId: 'review-shares',
      round: 1,
      spec: { ...sent, minClients: 3 },
      federation: server.federation,
      selected,
      logger,
      server: secagg,
      roundId,
      nonce,
      pollMs: 10,
      task: (taskId) => ({ type: 'train', jobId: 'review-shares', round: 1, taskId, job: sent, weights, deadlineMs: 20_000 }),
    });
    // The documented reason: every client declines the setup under its own policy's dp-min-survivors rule.
    expect([...exchange.declined.values()].map((d) => d.code)).toEqual(IDS.map(() => 'TESSERA_ERR_SECAGG_POLICY'));
    for (const d of exchange.declined.values()) expect(d.reason).toContain('rule dp-min-survivors');
    expect(secures.flatMap((x) => x.refusals.map((r) => r.code))).toEqual(IDS.map(() => 'TESSERA_ERR_SECAGG_POLICY'));
    // So nothing is released: the round aborts and the harness has no sum to measure.
    expect(secagg.stage).toBe('aborted');
  }, 60_000);
});
