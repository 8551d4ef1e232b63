/**
 * Attack tests for the client node's own policy (issue 10 §1–2, docs/client-policy.md): a deviating coordinator
 * (test/support/policy-harness.ts — a real coordinator server whose federation the test drives by hand) sends
 * downgraded, lying and repeated train tasks over real sockets to a real ClientNode with the standard mods and
 * a participation record in its own state directory. Each time the harness checks that it received NO update
 * and no secure-aggregation message (nothing from which the victim's update could be recovered) and that the
 * decline carries the documented code; a job that meets the policy still trains.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { cumulativeEpsilon } from '../client/policy/epsilon.ts';
import { DEFAULT_CLIENT_POLICY, parseClientPolicy, type ClientPolicyFileInput } from '../client/policy/schema.ts';
import type { CoordinatorServer } from '../coordinator/server.ts';
import { initBackend } from '../ml/backend.ts';
import { l2Norm } from '../privacy/dp/clip.ts';
import type { JobSpecInput } from '../protocol/job/spec.ts';
import type { ClientMessage } from '../protocol/messages.ts';
import { decodeFloat32 } from '../protocol/tensor.ts';
import { coordinator, logisticJob, mnistSlice } from './support/federation-fixtures.ts';
import { sendTask, startVictim, updateBearing, type Victim, type VictimOptions } from './support/policy-harness.ts';
import { waitUntilConnected } from './support/policy-node.ts';

const DIM = 784 * 10 + 10;
const root = mkdtempSync(join(tmpdir(), 'tessera-policy-attacks-'));
let server: CoordinatorServer;
const victims: Victim[] = [];
let n = 0;

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

async function victim(o: Partial<VictimOptions> & { policy: VictimOptions['policy'] }): Promise<Victim> {
  const id = o.id ?? `victim-${++n}`;
  const v = startVictim(server, { id, stateDir: o.stateDir ?? join(root, id), data: { train: mnistSlice(0, 64) }, ...o });
  victims.push(v);
  await waitUntilConnected(server, [id]);
  return v;
}

const policy = (p: Omit<ClientPolicyFileInput, 'version'>) => parseClientPolicy({ version: 1, ...p }, 'test policy');

/** A secure-aggregation section that meets the strict default (malicious coordinator, consistency check). */
const STRONG_SECAGG = { enabled: true, threatModel: 'semi-malicious', consistencyCheck: true, weighting: 'uniform' } as const;
const job = (o: Partial<JobSpecInput>) => logisticJob({ sampling: { mode: 'poisson', rate: 1 }, ...o });

/** The reply is a decline with `code`, and the victim sent no update-bearing message beyond the `before` earlier ones. */
function expectDecline(reply: ClientMessage, code: string, v: Victim, before = 0): void {
  expect(reply.type === 'decline' ? reply.reason.code : reply.type).toBe(code);
  if (reply.type === 'decline') expect(reply.reason.message).toMatch(/^policy rule /);
  expect(updateBearing(v)).toHaveLength(before);
}

describe('a deviating coordinator against a client node with the default policy', () => {
  it('downgrade: secagg.enabled = false to a node with secure aggregation → SECAGG_REQUIRED, nothing sent', async () => {
    const v = await victim({ policy: DEFAULT_CLIENT_POLICY, secure: true });
    expectDecline(await sendTask(server, v, job({ secagg: { enabled: false } }), { jobId: 'downgrade', round: 1, dim: DIM }), 'TESSERA_ERR_POLICY_SECAGG_REQUIRED', v);
    // Weakening instead of switching off: a semi-honest plan, or no consistency check.
    expectDecline(await sendTask(server, v, job({ secagg: { ...STRONG_SECAGG, threatModel: 'semi-honest' } }), { jobId: 'weaken', round: 1, dim: DIM }), 'TESSERA_ERR_POLICY_SECAGG_WEAK', v);
    expectDecline(await sendTask(server, v, job({ secagg: { ...STRONG_SECAGG, consistencyCheck: false } }), { jobId: 'weaken', round: 1, dim: DIM }), 'TESSERA_ERR_POLICY_SECAGG_WEAK', v);
  }, 30_000);

  it('ε-declaration lie: ε = 1 declared with q = 1, σ = 0.05, 100 rounds → POLICY_EPSILON with ε ≈ 22,000 recomputed', async () => {
    const v = await victim({ policy: DEFAULT_CLIENT_POLICY, secure: true });
    const lie = job({ rounds: 100, secagg: STRONG_SECAGG, dp: { enabled: true, epsilon: 1, noiseMultiplier: 0.05, clipNorm: 1 } });
    const reply = await sendTask(server, v, lie, { jobId: 'eps-lie', round: 1, dim: DIM });
    expectDecline(reply, 'TESSERA_ERR_POLICY_EPSILON', v);
    if (reply.type === 'decline') {
      const eps = reply.reason.counts?.recomputedEpsilon ?? 0;
      expect(eps).toBeGreaterThan(20_000);
      expect(eps).toBeLessThan(25_000);
    }
  }, 30_000);

  it('central-placement lie: trustedCoordinator: true is not trust → DP_PLACEMENT', async () => {
    const v = await victim({ policy: DEFAULT_CLIENT_POLICY, secure: true });
    const central = job({ secagg: STRONG_SECAGG, dp: { enabled: true, epsilon: 5, noiseMultiplier: 1, placement: 'central', trustedCoordinator: true } });
    expectDecline(await sendTask(server, v, central, { jobId: 'central', round: 1, dim: DIM }), 'TESSERA_ERR_POLICY_DP_PLACEMENT', v);
  }, 30_000);
});

describe('central placement is honoured only for the coordinator key the organisation trusts', () => {
  const trusted = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const trusting = policy({ secagg: { required: false }, dp: { allowedPlacements: ['central', 'distributed', 'local'], trustedCoordinatorKeys: [trusted.toString('base64')] } });
  const central = job({ rounds: 2, dp: { enabled: true, epsilon: 5, noiseMultiplier: 1, clipNorm: 0.5, placement: 'central', trustedCoordinator: true } });

  it('refuses with no proven key and with the wrong key; sends only the clipped update to the trusted one', async () => {
    const none = await victim({ policy: trusting });
    expectDecline(await sendTask(server, none, central, { jobId: 'central-none', round: 1, dim: DIM }), 'TESSERA_ERR_POLICY_DP_PLACEMENT', none);
    const wrong = await victim({ policy: trusting, provenCoordinatorKey: new Uint8Array(other) });
    expectDecline(await sendTask(server, wrong, central, { jobId: 'central-wrong', round: 1, dim: DIM }), 'TESSERA_ERR_POLICY_DP_PLACEMENT', wrong);
    const right = await victim({ policy: trusting, provenCoordinatorKey: new Uint8Array(trusted) });
    const reply = await sendTask(server, right, central, { jobId: 'central-right', round: 1, dim: DIM });
    expect(reply.type).toBe('update');
    if (reply.type !== 'update') return;
    expect(l2Norm(decodeFloat32(reply.update))).toBeLessThanOrEqual(0.5 + 1e-6);
    // Nothing exact in the clear beside the update: no example count, loss, time or clipped bit.
    expect([reply.examples, reply.trainLoss, reply.trainMillis, reply.features?.dp?.clipped]).toEqual([undefined, undefined, undefined, undefined]);
  }, 60_000);
});

describe('noise, repeats and rounds against the participation record', () => {
  const plainDp = policy({ secagg: { required: false }, dp: { minNoiseMultiplier: 0.8, maxEpsilon: 1000, maxTotalEpsilon: 1000 } });

  it('noise below the policy minimum → DP_NOISE', async () => {
    const v = await victim({ policy: plainDp });
    const weak = job({ dp: { enabled: true, epsilon: 5, noiseMultiplier: 0.6, placement: 'local' } });
    expectDecline(await sendTask(server, v, weak, { jobId: 'noise', round: 1, dim: DIM }), 'TESSERA_ERR_POLICY_DP_NOISE', v);
  }, 30_000);

  it('a repeated round, a round beyond the declared ones and a re-declared job are refused, across a restart', async () => {
    const stateDir = join(root, 'repeat-state');
    const spec = job({ rounds: 2, dp: { enabled: true, epsilon: 20, noiseMultiplier: 1, placement: 'local' } });
    const first = await victim({ policy: plainDp, stateDir, id: 'repeat' });
    const ok = await sendTask(server, first, spec, { jobId: 'repeat-job', round: 1, dim: DIM });
    expect(ok.type).toBe('update');
    expect(updateBearing(first)).toHaveLength(1);
    expectDecline(await sendTask(server, first, spec, { jobId: 'repeat-job', round: 1, dim: DIM }), 'TESSERA_ERR_POLICY_REPEATED_ROUND', first, 1);
    first.close();
    // The record is a file under the node's own state: a restarted node still refuses the repeat.
    const again = await victim({ policy: plainDp, stateDir, id: 'repeat-2' });
    expectDecline(await sendTask(server, again, spec, { jobId: 'repeat-job', round: 1, dim: DIM }), 'TESSERA_ERR_POLICY_REPEATED_ROUND', again);
    expectDecline(await sendTask(server, again, spec, { jobId: 'repeat-job', round: 3, dim: DIM }), 'TESSERA_ERR_POLICY_ROUNDS_EXCEEDED', again);
    // Re-declaring the job with more rounds does not lift the limit the node saw first.
    const redeclared = job({ rounds: 10, dp: { enabled: true, epsilon: 20, noiseMultiplier: 1, placement: 'local' } });
    expect((await sendTask(server, again, redeclared, { jobId: 'repeat-job', round: 2, dim: DIM })).type).toBe('update');
    expectDecline(await sendTask(server, again, redeclared, { jobId: 'repeat-job', round: 3, dim: DIM }), 'TESSERA_ERR_POLICY_ROUNDS_EXCEEDED', again, 1);
  }, 60_000);

  it('fresh job ids cannot get around the cumulative ε cap (each contribution composed at q = 1)', async () => {
    const cap = 8;
    const capped = policy({ secagg: { required: false }, dp: { maxTotalEpsilon: cap } });
    const v = await victim({ policy: capped });
    // Each job declares q = 0.01 (a small per-job ε), but the node counts what it actually contributed.
    const spec = job({ rounds: 1, sampling: { mode: 'poisson', rate: 0.01 }, dp: { enabled: true, epsilon: 1, noiseMultiplier: 1, placement: 'local' } });
    const allowed = [1, 2, 3, 4, 5, 6].filter((k) => cumulativeEpsilon(Array.from({ length: k }, () => ({ effectiveNoiseMultiplier: 1 })), 1e-5) <= cap).length;
    expect(allowed).toBeGreaterThan(0);
    expect(allowed).toBeLessThan(6);
    for (let i = 1; i <= allowed; i++) expect((await sendTask(server, v, spec, { jobId: `fresh-${i}`, round: 1, dim: DIM })).type).toBe('update');
    const reply = await sendTask(server, v, spec, { jobId: `fresh-${allowed + 1}`, round: 1, dim: DIM });
    expect(reply.type === 'decline' ? reply.reason.code : reply.type).toBe('TESSERA_ERR_POLICY_TOTAL_EPSILON');
    expect(v.sent.filter((m) => m.type === 'update')).toHaveLength(allowed);
  }, 60_000);
});
