/**
 * Attack test (issue 19 §1): a coordinator must not lower the noise a client's update gets under the distributed
 * discrete Gaussian. The deviating coordinator (test/support/policy-harness.ts: a real coordinator server driven by
 * hand, real sockets, a real ClientNode with the standard mods and the DEFAULT policy) keeps dp.noiseMultiplier —
 * the number a σ-only check looks at — and coarsens the grid instead: dp.ddgauss.granularity γ = C/4. Each client's
 * integer noise std σ_int = σ_local/γ collapses to a fraction of one grid step while conditional rounding still
 * moves a vector of norm C/γ = 4 by up to ~√D/2 steps, so the rounded update's sensitivity grows ~12-fold
 * (Kairouz et al. 2021, Theorem 1 / Prop. 22) and τ, the distance of the summed noise from a discrete Gaussian, is
 * no longer negligible: ε is in the hundreds (332 where 8 was planned). A client checking σ alone would accept (the continuous-Gaussian ε at
 * the same σ is below its cap — asserted below); the node recomputes ε from γ, β and D (client/policy/epsilon.ts)
 * and declines with TESSERA_ERR_POLICY_EPSILON before training, sending nothing that bears its update. The honest
 * plan (tessera privacy plan --mechanism ddgauss) passes the same policy.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { recomputeJobEpsilon } from '../client/policy/epsilon.ts';
import { evaluatePolicy } from '../client/policy/rules.ts';
import { DEFAULT_CLIENT_POLICY } from '../client/policy/schema.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import { initBackend } from '../ml/backend.ts';
import { epsilonFor } from '../privacy/accountant/index.ts';
import { planDdgauss } from '../privacy/dp/ddgauss/planner.ts';
import { accountedDelta } from '../privacy/dp/underfill.ts';
import type { JobSpecInput } from '../protocol/job/spec.ts';
import { coordinator, logisticJob, mnistSlice } from './support/federation-fixtures.ts';
import { sendTask, startVictim, updateBearing, type Victim } from './support/policy-harness.ts';
import { waitUntilConnected } from './support/policy-node.ts';

const DIM = 784 * 10 + 10;
const M = 4;
const ROUNDS = 3;
const DELTA = 1e-5;
const root = mkdtempSync(join(tmpdir(), 'tessera-ddgauss-attack-'));
let server: CoordinatorServer;
const victims: Victim[] = [];

beforeAll(async () => {
  await initBackend();
  server = await coordinator();
});
afterEach(() => {
  for (const v of victims.splice(0)) v.close();
});
afterAll(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

// The honest plan for ε = 8 (the default policy's cap is 10) at q = 1, 3 rounds, m = 4, the model's 7,850 weights.
const plan = planDdgauss({ epsilon: 8, delta: accountedDelta(DELTA, 0.1), samplingRate: 1, rounds: ROUNDS, clipNorm: 1, dimension: DIM, minSurvivors: M, clients: 8 });

function ddgaussJob(ddgauss: { bits: number; granularity: number; beta: number }, noiseMultiplier = plan.noiseMultiplier) {
  const o: Partial<JobSpecInput> = {
    rounds: ROUNDS,
    minClients: M,
    sampling: { mode: 'poisson', rate: 1 },
    secagg: { enabled: true, threatModel: 'semi-malicious', consistencyCheck: true, weighting: 'uniform' },
    dp: { enabled: true, placement: 'distributed', epsilon: 8, delta: DELTA, noiseMultiplier, clipNorm: 1, mechanism: 'ddgauss', ddgauss },
  };
  return logisticJob(o);
}

describe('DDGauss: a deviating coordinator cannot lower a client’s noise', () => {
  it('the honest plan meets the default policy; its ε is the planned one', () => {
    const honest = ddgaussJob({ bits: plan.bits, granularity: plan.granularity, beta: plan.beta });
    const eps = recomputeJobEpsilon(honest, { centralTrusted: false });
    expect(eps.epsilon).toBeLessThanOrEqual(8);
    expect(eps.epsilon).toBeGreaterThan(7.9);
    expect(evaluatePolicy(DEFAULT_CLIENT_POLICY, honest, { task: 'train' }).violations).toEqual([]);
  });

  it('a coarse grid with the same σ → POLICY_EPSILON before training, nothing update-bearing sent (a σ-only check would accept)', async () => {
    const attack = ddgaussJob({ bits: plan.bits, granularity: 0.25, beta: plan.beta });
    // The control: σ itself meets the policy's floor, and the continuous-Gaussian ε at that σ is under the cap.
    expect(attack.dp.noiseMultiplier).toBeGreaterThanOrEqual(DEFAULT_CLIENT_POLICY.dp.minNoiseMultiplier);
    const gaussianEps = epsilonFor({ samplingRate: 1, noiseMultiplier: attack.dp.noiseMultiplier, steps: ROUNDS, delta: accountedDelta(DELTA, 0.1) }).epsilon;
    expect(gaussianEps).toBeLessThan(DEFAULT_CLIENT_POLICY.dp.maxEpsilon);
    const recomputed = recomputeJobEpsilon(attack, { centralTrusted: false }).epsilon;
    expect(recomputed).toBeGreaterThan(100);

    const v = startVictim(server, { id: 'ddg-victim', stateDir: join(root, 'ddg-victim'), data: { train: mnistSlice(0, 64) }, policy: DEFAULT_CLIENT_POLICY, secure: true });
    victims.push(v);
    await waitUntilConnected(server, ['ddg-victim']);
    const reply = await sendTask(server, v, attack, { jobId: 'ddg-coarse', round: 1, dim: DIM });
    expect(reply.type === 'decline' ? reply.reason.code : reply.type).toBe('TESSERA_ERR_POLICY_EPSILON');
    if (reply.type === 'decline') expect(reply.reason.message).toMatch(/granularity 0\.25/);
    // Lowering σ through the ddgauss section's companion number is caught the same way.
    const lower = await sendTask(server, v, ddgaussJob({ bits: plan.bits, granularity: plan.granularity, beta: plan.beta }, plan.noiseMultiplier / 3), { jobId: 'ddg-lower', round: 1, dim: DIM });
    expect(lower.type === 'decline' ? lower.reason.code : lower.type).toBe('TESSERA_ERR_POLICY_EPSILON');
    expect(updateBearing(v)).toHaveLength(0);
  }, 60_000);
});
