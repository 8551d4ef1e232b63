/**
 * Review attack (issue 10 §5, "nothing exact in the clear"), now a claim with its residue named: a coordinator
 * chooses the recipients of each evaluation task. Running the REAL secure evaluation protocol (coordinator/secagg-
 * evaluation.ts) twice over the same weights, once with {a, b, c, victim} and once with {a, b, c}, it unmasked two
 * exact integer sums [examples, correct, loss, ...] whose difference was the victim's own vector — under the
 * DEFAULT client policy. What holds now (docs/privacy-accounting.md, "Evaluation releases"):
 *  (a) every client records each evaluation it releases in its participation record and evaluates at most once per
 *      (job, round) (rule record.evaluationOncePerRound): the in-round differencing is refused, by the victim for a
 *      second evaluation it is asked for, with TESSERA_ERR_POLICY_REPEATED_EVALUATION;
 *  (b) a DP job's evaluation carries distributed discrete Gaussian noise on every coordinate (evaluation.noise,
 *      privacy/dp/evaluation-noise.ts): the difference of two rounds' sums estimates the victim's example count with
 *      an error of the planned noise, measured here over many trials of the real sampler and encoding;
 *  (c) a coordinator that sends a DP evaluation without noise, or with less than the job planned, is refused by the
 *      victim's policy (TESSERA_ERR_POLICY_EVALUATION_NOISE), which recomputes ε itself.
 * Residue, asserted so that it cannot go unnoticed: a job WITHOUT DP keeps exact sums, and two honest evaluation
 * rounds whose rosters differ by one organisation still give its exact example count (the once-per-round rule stops
 * only the in-round version). Real sockets on 127.0.0.1, real ClientNodes with the standard mods, real SecAgg.
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
import { addEvaluationNoise, decodeEvaluationSum, encodeEvaluationInput, evaluationInput, evaluationPlanForJob } from '../privacy/secagg/evaluation-input.ts';
import type { ClientMessage } from '../protocol/messages.ts';
import type { JobSpec } from '../protocol/job/spec.ts';
import type { ClientTransport } from '../protocol/transport.ts';
import { PROTOCOL_VERSION } from '../protocol/version.ts';
import { consortium, coordinator, logisticJob, mnistSlice } from './support/federation-fixtures.ts';
import { policyNode, waitUntilConnected } from './support/policy-node.ts';

const DIM = 784 * 10 + 10;
const SIZES = { a: 50, b: 61, c: 72, victim: 37 } as const;
const IDS = Object.keys(SIZES) as Array<keyof typeof SIZES>;
const root = mkdtempSync(join(tmpdir(), 'tessera-review-eval-'));
let server: CoordinatorServer;
const nodes: ClientNode[] = [];
/** Every decline each node sent (code per task), seen on its own side of the socket. */
const declines = new Map<string, Array<{ jobId: string; round: number; code: string }>>();

const SECAGG = { enabled: true, threatModel: 'semi-malicious', consistencyCheck: true, weighting: 'uniform' } as const;
/** §3: no DP, so no budget to charge — exact sums, and only the once-per-round rule. */
const plainJob = logisticJob({ rounds: 3, minClients: 3, sampling: { mode: 'poisson', rate: 1 }, secagg: SECAGG });
/** A DP job whose evaluation carries the noise it plans (ε recomputed with its evaluation release: 5.40 ≤ 8). */
const NOISE = { noiseMultiplier: 2, maxExamplesPerClient: 80 };
const dpJob = logisticJob({ rounds: 2, minClients: 3, sampling: { mode: 'poisson', rate: 1 }, secagg: SECAGG, dp: { enabled: true, epsilon: 8, noiseMultiplier: 1.5, clipNorm: 1 }, evaluation: { everyRounds: 0, noise: NOISE } });

/** A transport that records the node's declines before sending them. */
function observed(id: string, t: ClientTransport): ClientTransport {
  return {
    send: (m: ClientMessage) => {
      if (m.type === 'decline') declines.get(id)?.push({ jobId: m.jobId, round: m.round, code: m.reason.code });
      t.send(m);
    },
    onMessage: (h) => t.onMessage(h),
    onConnect: (h) => t.onConnect(h),
    onDisconnect: (h) => t.onDisconnect(h),
    onRefused: (h) => t.onRefused(h),
    coordinatorIdentity: () => t.coordinatorIdentity?.(),
    close: () => t.close(),
  };
}

let evaluate: (jobId: string, spec: JobSpec, members: readonly string[], round: number) => Promise<{ report: SecAggEvaluationReport | undefined; examples: number | null; labelCounts: readonly number[] | null }>;
const identities = simulatedIdentities([...IDS], cryptoRandom());

beforeAll(async () => {
  await initBackend();
  server = await coordinator();
  let from = 0;
  for (const id of IDS) {
    declines.set(id, []);
    const transport = socketIoClientTransport({ url: server.url, handshake: { protocolVersion: PROTOCOL_VERSION, clientId: id, orgId: `org-${id}` }, identity: consortium.identityOf(id, `org-${id}`), reconnectDelayMs: 100, reconnectDelayMaxMs: 200 });
    nodes.push(policyNode({ id, transport: observed(id, transport), data: { train: mnistSlice(from, SIZES[id]) }, policy: DEFAULT_CLIENT_POLICY, identities, recordRoot: root }).node);
    from += SIZES[id];
  }
  await waitUntilConnected(server, IDS);
  // The deviating coordinator: the real protocol, recipients of its choosing, its own roster copy.
  evaluate = async (jobId, spec, members, round) => {
    let report: SecAggEvaluationReport | undefined;
    const protocol = secAggEvaluationProtocol({ resolveIdentity: identities.resolve, pollMs: 10, onReport: (r) => (report = r) });
    const clients = server.federation.clients().filter((c) => members.includes(c.clientId));
    const e = await protocol.run({ federation: server.federation, clients, jobId, spec: { ...spec, roundDeadlineMs: 8_000 }, round, weights: new Float32Array(DIM) });
    return { report, examples: e?.examples ?? null, labelCounts: e?.labelCounts ?? null };
  };
}, 60_000);

afterAll(async () => {
  for (const n of nodes) n.close();
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

const codesOf = (id: string, jobId: string, round: number): string[] => (declines.get(id) ?? []).filter((d) => d.jobId === jobId && d.round === round).map((d) => d.code);

describe('secure evaluation sums with coordinator-chosen recipients', () => {
  it('(a) a second evaluation of one round is refused: the in-round difference never exists', async () => {
    const withVictim = await evaluate('plain', plainJob, ['a', 'b', 'c', 'victim'], 1);
    expect(withVictim.examples).toBe(SIZES.a + SIZES.b + SIZES.c + SIZES.victim);
    // The differencing run of the same round: a, b and c evaluated round 1 already and refuse; nothing is unmasked.
    const without = await evaluate('plain', plainJob, ['a', 'b', 'c'], 1);
    expect(without.report?.sum).toBeUndefined();
    expect(without.examples).toBeNull();
    for (const id of ['a', 'b', 'c']) expect(codesOf(id, 'plain', 1)).toEqual(['TESSERA_ERR_POLICY_REPEATED_EVALUATION']);
    // Asked again for round 1 (say, with other members to difference against), the victim refuses for that reason.
    const again = await evaluate('plain', plainJob, ['a', 'b', 'c', 'victim'], 1);
    expect(again.report?.sum).toBeUndefined();
    expect(codesOf('victim', 'plain', 1)).toEqual(['TESSERA_ERR_POLICY_REPEATED_EVALUATION']);
  }, 60_000);

  it('residue without DP (documented): two honest rounds whose rosters differ by one organisation still give its exact count', async () => {
    const round2 = await evaluate('plain', plainJob, ['a', 'b', 'c', 'victim'], 2);
    const round3 = await evaluate('plain', plainJob, ['a', 'b', 'c'], 3);
    expect((round2.examples ?? NaN) - (round3.examples ?? NaN)).toBe(SIZES.victim);
  }, 60_000);

  it('(c) a DP job evaluated without noise, or with less noise than planned, is refused by the victim’s policy', async () => {
    const { evaluation: _e, ...withoutNoise } = dpJob;
    const exact = await evaluate('dp-exact', { ...withoutNoise, evaluation: { everyRounds: 0, featureImportance: false } }, ['a', 'b', 'c', 'victim'], 1);
    expect(exact.report?.sum).toBeUndefined();
    expect(codesOf('victim', 'dp-exact', 1)).toEqual(['TESSERA_ERR_POLICY_EVALUATION_NOISE']);
    // The same job with z cut from 2 to 0.5 in the spec the evaluation task carries (still at the policy's minimum
    // multiplier): the victim recomputes ε with the announced noise, above the job's declared ε = 8, and refuses
    // before evaluating anything.
    const weak = await evaluate('dp-weak', { ...dpJob, evaluation: { ...dpJob.evaluation, noise: { ...NOISE, noiseMultiplier: 0.5 } } }, ['a', 'b', 'c', 'victim'], 1);
    expect(weak.report?.sum).toBeUndefined();
    expect(codesOf('victim', 'dp-weak', 1)).toEqual(['TESSERA_ERR_POLICY_EVALUATION_NOISE']);
  }, 60_000);

  it('(b) with evaluation noise the released sums are not exact: the two-round difference estimates the count only to within the noise', async () => {
    const withVictim = await evaluate('dp', dpJob, ['a', 'b', 'c', 'victim'], 1);
    const without = await evaluate('dp', dpJob, ['a', 'b', 'c'], 2);
    expect(withVictim.report?.sum).toBeDefined();
    expect(without.report?.sum).toBeDefined();
    // Eleven released counts (examples and ten label counts) against their exact values: noise on every coordinate.
    const exactLabels = (members: readonly (keyof typeof SIZES)[]): number[] => {
      const counts = new Array<number>(10).fill(0);
      let from = 0;
      for (const id of IDS) {
        if (members.includes(id)) for (const y of mnistSlice(from, SIZES[id]).y) counts[y] = (counts[y] ?? 0) + 1;
        from += SIZES[id];
      }
      return counts;
    };
    const released = [withVictim.examples, ...(withVictim.labelCounts ?? [])];
    const exact = [SIZES.a + SIZES.b + SIZES.c + SIZES.victim, ...exactLabels(['a', 'b', 'c', 'victim'])];
    expect(released).not.toEqual(exact);
  }, 60_000);
});

describe('the noise on the difference estimate, measured with the real sampler and encoding', () => {
  it('the two-round estimate of the victim’s example count is unbiased with the planned variance (χ² test over 400 trials)', () => {
    const plan4 = evaluationPlanForJob(dpJob, 4, 0);
    const plan3 = evaluationPlanForJob(dpJob, 3, 0);
    const noise = plan4.noise;
    if (noise === null) throw new Error('the DP job plans evaluation noise');
    // Δ₂ = √8 · W (no importance, no fairness cells; the previous-production block [c′, ℓ′, b′] that every noised
    // release carries) and each client's σ² = z²Δ₂²/m (privacy/dp/evaluation-noise.ts).
    expect(noise.l2Sensitivity).toBeCloseTo(Math.sqrt(8) * NOISE.maxExamplesPerClient, 9);
    expect(noise.clientVariance).toBeCloseTo((NOISE.noiseMultiplier * noise.l2Sensitivity) ** 2 / 3, 6);
    const vector = (n: number): Uint32Array => evaluationInput({ examples: n, correct: Math.floor(n / 2), lossSum: n * 0.3, brierSum: n * 0.1, labelCounts: [n, 0, 0, 0, 0, 0, 0, 0, 0, 0] }, plan4.baseline);
    const release = (plan: typeof plan4, sizes: readonly number[], rng: ReturnType<typeof cryptoRandom>): number => {
      const sum = new Uint32Array(plan.dim);
      for (const n of sizes) {
        const x = addEvaluationNoise(encodeEvaluationInput(vector(n), plan), plan, rng);
        for (let i = 0; i < sum.length; i++) sum[i] = ((sum[i] as number) + (x[i] as number)) % 2 ** 32;
      }
      return decodeEvaluationSum(sum, plan, sizes.length).examples;
    };
    const rng = cryptoRandom();
    const T = 400;
    const estimates = Array.from({ length: T }, () => release(plan4, [SIZES.a, SIZES.b, SIZES.c, SIZES.victim], rng) - release(plan3, [SIZES.a, SIZES.b, SIZES.c], rng));
    const mean = estimates.reduce((s, x) => s + x, 0) / T;
    const variance = estimates.reduce((s, x) => s + (x - mean) ** 2, 0) / (T - 1);
    // Seven clients' noise in the difference: the planned variance is 7σ² (4 shares in one sum, 3 in the other).
    const planned = 7 * noise.clientVariance;
    expect(Math.sqrt(planned)).toBeGreaterThan(200); // an error of hundreds of examples on a count of 37
    expect(Math.abs(mean - SIZES.victim)).toBeLessThan(4.5 * Math.sqrt(planned / T));
    // (T − 1)s²/σ² ~ χ²(T − 1): its sd is √(2(T − 1)) ≈ 28 around 399, so ±30 % is over four sds.
    expect(variance / planned).toBeGreaterThan(0.7);
    expect(variance / planned).toBeLessThan(1.3);
  }, 60_000);
});
