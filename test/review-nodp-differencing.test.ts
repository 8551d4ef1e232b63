/**
 * Review attack (issue 10; adversary: a deviating coordinator against client nodes with the DEFAULT policy):
 * recover one organisation's EXACT update from secure sums alone, with no colluding client.
 *
 * docs/client-policy.md said of `dp.required: false` (then the default): "With secure aggregation required, a job
 * without DP still reveals only the sum." But the coordinator picks who is in each sum, and local training is
 * deterministic given (weights, data, job seed, round): the shuffle seed is `${job.seed}/${clientId}/${round}`
 * (client/node.ts). So it runs the same job under two job ids — the participation record limits rounds PER job
 * id, and a job without DP adds nothing to the cumulative ε — once with {a, b, c, victim} and once with
 * {a, b, c}, from the same weights. a, b and c send the same update twice; the difference of the two unmasked
 * sums is the victim's update, up to one quantisation level per honest client (stochastic rounding).
 * Measured before the fix: the victim's update (L2 norm 0.29) recovered to within 6e-9 per coordinate.
 *
 * Real coordinator code (runSecAggExchange, SecAggServer), real sockets on 127.0.0.1, four real ClientNodes with
 * real local training on MNIST, the standard mods and real SecureAggregation. The victim runs the DEFAULT policy;
 * a, b and c run it with `dp.required: false`, so that they join a job without DP and the ONLY thing that can
 * stop the attack is the victim's own policy. The victim's quantised input would be captured to check the
 * recovered vector (SecureAggregation's `onEncoded` test hook).
 *
 * CLOSED by the default client policy requiring DP (client/policy/schema.ts, DpPolicySection `required`
 * defaults to true; checked below on DEFAULT_CLIENT_POLICY): the victim declines the no-DP job with
 * TESSERA_ERR_POLICY_DP_REQUIRED before training, so it is in neither sum, no input of it is ever encoded, and
 * the difference of the two sums is zero up to quantisation — nothing of the victim. (An organisation that sets
 * `dp.required: false` still has no protection here: without noise no client-side rule stops the differencing.)
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClientNode } from '../client/node.ts';
import { DEFAULT_CLIENT_POLICY, type ClientPolicy } from '../client/policy/schema.ts';
import type { ConnectedClient } from '../coordinator/federation.ts';
import { jobHashOf, runSecAggExchange } from '../coordinator/secagg-exchange.ts';
import type { ExcludedClient } from '../coordinator/round-records.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import { initBackend } from '../ml/backend.ts';
import { cryptoRandom } from '../privacy/random.ts';
import { simulatedIdentities } from '../privacy/secagg/identity-directory.ts';
import { planForJob } from '../privacy/secagg/job-plan.ts';
import type { SecAggPlan } from '../privacy/secagg/plan.ts';
import { secAggRoundId } from '../privacy/secagg/round-id.ts';
import { dequantizeSum } from '../privacy/secagg/quantize.ts';
import { SecAggServer } from '../privacy/secagg/server.ts';
import { encodeFloat32 } from '../protocol/tensor.ts';
import { authenticatedTransport, coordinator, logger, logisticJob, mnistSlice } from './support/federation-fixtures.ts';
import { policyNode, waitUntilConnected } from './support/policy-node.ts';

const DIM = 784 * 10 + 10;
const IDS = ['a', 'b', 'c', 'victim'] as const;
const root = mkdtempSync(join(tmpdir(), 'tessera-review-nodp-'));
let server: CoordinatorServer;
const nodes: ClientNode[] = [];
const identities = simulatedIdentities([...IDS], cryptoRandom());
/** The victim's quantised input per job id, as fed to masking (never sent anywhere). */
const victimInput = new Map<string, Uint32Array>();

/** The default policy of the other organisations, but joining jobs without DP. */
const WITHOUT_DP_REQUIRED: ClientPolicy = { ...DEFAULT_CLIENT_POLICY, dp: { ...DEFAULT_CLIENT_POLICY.dp, required: false } };

const job = logisticJob({
  rounds: 1,
  minClients: 3,
  sampling: { mode: 'poisson', rate: 1 },
  secagg: { enabled: true, threatModel: 'semi-malicious', consistencyCheck: true, weighting: 'uniform', clipRange: 1 },
});

beforeAll(async () => {
  await initBackend();
  server = await coordinator();
  IDS.forEach((id, i) => {
    const transport = authenticatedTransport(server, id, 60);
    const policy = id === 'victim' ? DEFAULT_CLIENT_POLICY : WITHOUT_DP_REQUIRED;
    nodes.push(
      policyNode({
        id,
        transport,
        data: { train: mnistSlice(i * 60, 60) },
        policy,
        identities,
        recordRoot: root,
        ...(id === 'victim' ? { onEncoded: (task: { jobId: string }, input: Uint32Array) => void victimInput.set(task.jobId, input.slice()) } : {}),
      }).node,
    );
  });
  await waitUntilConnected(server, IDS);
}, 60_000);

afterAll(async () => {
  for (const n of nodes) n.close();
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

interface SecureSum {
  readonly sum: Float64Array;
  readonly plan: SecAggPlan;
  readonly survivors: readonly string[];
  readonly declined: ReadonlyMap<string, ExcludedClient>;
}

/** One secure round of `job` under `jobId` over `members` (those that answer), by the coordinator's own exchange code. */
async function secureSum(jobId: string, members: readonly string[]): Promise<SecureSum> {
  const selected: ConnectedClient[] = server.federation.clients().filter((c) => members.includes(c.clientId));
  const plan = planForJob(job, selected.length, DIM);
  // Round and task ids as the real round derives them (coordinator/secagg-round.ts); the setup hash binds the job.
  const nonce = randomUUID();
  const roundId = secAggRoundId({ jobId, round: 1, kind: 'train', nonce });
  const secagg = new SecAggServer({ roundId, clients: selected.map((c) => c.clientId), k: plan.k, t: plan.t, dim: plan.dim, consistencyCheck: plan.consistencyCheck, resolveIdentity: identities.resolve, rng: cryptoRandom(), jobHash: jobHashOf(job) });
  const weights = encodeFloat32(new Float32Array(DIM));
  const exchange = await runSecAggExchange({ jobId, round: 1, spec: job, federation: server.federation, selected, logger, server: secagg, roundId, nonce, pollMs: 10, task: (taskId) => ({ type: 'train', jobId, round: 1, taskId, job, weights, deadlineMs: 20_000 }) });
  expect(secagg.stage).toBe('done');
  const { sum, survivors } = secagg.result();
  return { sum: dequantizeSum(sum, plan.quant, survivors.length), plan, survivors, declined: exchange.declined };
}

describe('a job without DP under the default policy: two secure sums with coordinator-chosen members', () => {
  it('do not reveal the victim’s update: the victim declines the job (TESSERA_ERR_POLICY_DP_REQUIRED)', async () => {
    // What closes the gap: the default policy requires DP.
    expect(DEFAULT_CLIENT_POLICY.dp.required).toBe(true);
    const withVictim = await secureSum('nodp-1', ['a', 'b', 'c', 'victim']);
    const without = await secureSum('nodp-2', ['a', 'b', 'c']);
    // The documented reason: the victim's coded decline; the others (dp.required: false) joined both sums.
    expect(withVictim.declined.get('victim')?.code).toBe('TESSERA_ERR_POLICY_DP_REQUIRED');
    expect([...withVictim.declined.keys()]).toEqual(['victim']);
    expect([...withVictim.survivors].sort()).toEqual(['a', 'b', 'c']);
    expect([...without.survivors].sort()).toEqual(['a', 'b', 'c']);
    // The victim never encoded an input, so neither sum holds anything of it.
    expect(victimInput.size).toBe(0);
    // The coordinator's difference is the others' quantisation noise only (one level per client and sum).
    const level = (p: SecAggPlan): number => p.quant.clipRange / p.quant.maxLevel;
    const tolerance = 3 * level(withVictim.plan) + 3 * level(without.plan);
    let worst = 0;
    let norm = 0;
    for (let i = 0; i < DIM; i++) {
      worst = Math.max(worst, Math.abs((withVictim.sum[i] as number) - (without.sum[i] as number)));
      norm += (without.sum[i] as number) ** 2;
    }
    // a, b and c really trained (their sum is far from zero), and sent the same updates twice.
    expect(Math.sqrt(norm)).toBeGreaterThan(1000 * tolerance);
    expect(worst).toBeLessThanOrEqual(tolerance);
  }, 90_000);
});
