/**
 * Review attack (issue 10 §1 "parameter weakening"; adversary: a deviating coordinator against a client node
 * with the DEFAULT policy). docs/client-policy.md says the node computes its (k, t) floor from its own
 * `secagg.dropoutRate` / `secagg.corruptRate` "and refuses any round set up below that floor", and enforces
 * `secagg.minClients` at setup. When this attack was written that was not wired: `tessera client` passes the policy to
 * SecureAggregation as an option the class does not have (cli/client.ts builds it as a variable "so this
 * compiles before and after that option lands"), and the client accepts any (k, t) that equals what the
 * COORDINATOR-sent spec gives — so a spec that pins `secagg.degree: 2, threshold: 2` sets the floor.
 *
 * The attack: a setup for n = 20 with the ring k = 2, t = 2 (a client's seed and key are each shared with two
 * neighbours only; threshold 2 means a single corrupt neighbour plus the coordinator's split requests suffice,
 * issue 10 §2), sent to a real ClientNode over a real socket by the real SecAggServer. The node answers with its
 * key advertisement: it joined.
 *
 * CLOSED by the malicious-secure secure aggregation (merge c5daf7f): SecureAggregation takes the organisation's
 * policy (`policy: secAggClientPolicy(DEFAULT_CLIENT_POLICY)`, as cli/client.ts now passes it) and
 * privacy/secagg/acceptance.ts computes the (k, t) floor from the policy's own dropoutRate / corruptRate with the
 * client's own parameter finder; the ring k = 2, t = 2 is below it, so the node declines the task with
 * TESSERA_ERR_SECAGG_POLICY before advertising any key.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientNode } from '../client/node.ts';
import { standardClientMods } from '../client/mods/index.ts';
import { fileParticipationRecord } from '../client/policy/participation.ts';
import { DEFAULT_CLIENT_POLICY, secAggClientPolicy } from '../client/policy/schema.ts';
import { SecureAggregation } from '../client/secure-aggregation.ts';
import { TrainingTurns } from '../client/training-turns.ts';
import { jobHashOf } from '../coordinator/secagg-exchange.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import { initBackend } from '../ml/backend.ts';
import { cryptoRandom } from '../privacy/random.ts';
import { simulatedIdentities } from '../privacy/secagg/identity-directory.ts';
import { planForJob } from '../privacy/secagg/job-plan.ts';
import { secAggRoundId, secAggTaskId } from '../privacy/secagg/round-id.ts';
import { SecAggServer } from '../privacy/secagg/server.ts';
import { encodeFloat32 } from '../protocol/tensor.ts';
import { authenticatedTransport, coordinator, logger, logisticJob, mnistSlice } from './support/federation-fixtures.ts';

const DIM = 784 * 10 + 10;
const N = 20;
const IDS = ['victim', ...Array.from({ length: N - 1 }, (_, i) => `peer-${i + 1}`)];
const root = mkdtempSync(join(tmpdir(), 'tessera-review-pinned-'));
let server: CoordinatorServer;
let node: ClientNode;
let secure: SecureAggregation;
const identities = simulatedIdentities(IDS, cryptoRandom());

beforeAll(async () => {
  await initBackend();
  server = await coordinator();
  const transport = authenticatedTransport(server, 'victim', 40);
  secure = new SecureAggregation({ clientId: 'victim', identity: identities.identityOf('victim'), resolveIdentity: identities.resolve, logger, policy: secAggClientPolicy(DEFAULT_CLIENT_POLICY) });
  const mods = standardClientMods({ policy: DEFAULT_CLIENT_POLICY, record: fileParticipationRecord(join(root, 'victim')) });
  node = new ClientNode({ clientId: 'victim', orgId: 'org-victim', transport, data: { train: mnistSlice(0, 40) }, logger, mods, disclosure: DEFAULT_CLIENT_POLICY.disclose, turns: new TrainingTurns(), secure });
  for (let i = 0; i < 200 && !server.federation.isConnected('victim'); i++) await new Promise((r) => setTimeout(r, 25));
  expect(server.federation.isConnected('victim')).toBe(true);
}, 60_000);

afterAll(async () => {
  node.close();
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

describe('a coordinator-pinned ring (k = 2, t = 2) for n = 20 against the default policy', () => {
  it('is declined by the organisation’s own (k, t) floor', async () => {
    const job = logisticJob({
      rounds: 1,
      minClients: 3,
      sampling: { mode: 'poisson', rate: 1 },
      secagg: { enabled: true, threatModel: 'semi-malicious', consistencyCheck: true, weighting: 'uniform', degree: 2, threshold: 2 },
      dp: { enabled: true, epsilon: 8, noiseMultiplier: 1, clipNorm: 1, placement: 'distributed' },
    });
    const plan = planForJob(job, N, DIM);
    expect([plan.k, plan.t]).toEqual([2, 2]);
    // Round and task ids as the real round derives them (coordinator/secagg-round.ts); the setup hash binds the job.
    const nonce = randomUUID();
    const roundId = secAggRoundId({ jobId: 'pinned', round: 1, kind: 'train', nonce });
    const secagg = new SecAggServer({ roundId, clients: IDS, k: plan.k, t: plan.t, dim: plan.dim, consistencyCheck: true, resolveIdentity: identities.resolve, rng: cryptoRandom(), jobHash: jobHashOf(job) });
    const setup = secagg.start().find((m) => m.to === 'victim');
    expect(setup).toBeDefined();
    if (setup === undefined) return;
    const taskId = secAggTaskId(nonce, IDS.indexOf('victim'));
    const reply = server.federation.request('victim', { type: 'train', jobId: 'pinned', round: 1, taskId, job, weights: encodeFloat32(new Float32Array(DIM)), deadlineMs: 20_000 }, 20_000);
    server.federation.send('victim', { type: 'secagg', jobId: 'pinned', round: 1, taskId, message: setup.message });
    const r = await reply;
    // The claim: a decline naming the organisation's secure-aggregation policy. Today: its key advertisement.
    expect(r.type === 'decline' ? r.reason.code : `${r.type}${r.type === 'secagg' ? `:${r.message.type}` : ''}`).toBe('TESSERA_ERR_SECAGG_POLICY');
    // For the floor, not for anything else (n = 20 meets minClients = 3 and m = max(3, t)).
    expect(r.type === 'decline' ? r.reason.message : '').toMatch(/rule (threshold|connectivity)/);
    expect(secure.refusals.map((x) => x.code)).toEqual(['TESSERA_ERR_SECAGG_POLICY']);
  }, 60_000);
});
