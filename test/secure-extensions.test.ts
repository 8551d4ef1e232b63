/**
 * Feature data inside the secure sum (issue 21 §3, issue 13 §5): the same job run with and without secure
 * aggregation gives the same round figures, because both paths carry one definition — the secure extensions
 * (privacy/secagg/extension.ts) — summed in the clear on the plain path and unmasked only as a sum under SecAgg+.
 *  1. Drift: the README's Heart walkthrough (four hospitals, the built-in contract; Switzerland declines for its
 *     cholesterol zeros, Janosi et al. 1988 via ../shared/data): the same contract counts and the same drift
 *     alerts per round with and without `secagg`.
 *  2. Adaptive clipping (Andrew et al. 2021) under secure aggregation runs — it was refused before — and its
 *     clip-norm trajectory follows the plain path's (seeded: the same clients, the same noise shares; the only
 *     difference is the secure path's stochastic quantisation of the update and the indicator).
 */
import { describe, expect, it } from 'vitest';
import type { RoundRecord } from '../coordinator/round-records.ts';
import { dataContractFeature } from '../coordinator/features/data-contract.ts';
import { loadBuiltinContract } from '../datasets/contracts/index.ts';
import { contractHash } from '../governance/contract/schema.ts';
import { cryptoRandom } from '../privacy/random.ts';
import { parseJobSpec } from '../protocol/job/spec.ts';
import { thrownTesseraError } from './support/thrown.ts';
import { silentLogger } from '../lib/logger.ts';
import { runSimulation, type SimulationConfigInput } from '../simulations/simulate.ts';
import { SHARED_DATA_DIR } from './paths.ts';
import { slotOf } from './support/slots.ts';

const SECAGG = { enabled: true, clipRange: 10 };

async function heart(config: Partial<SimulationConfigInput>): Promise<readonly RoundRecord[]> {
  const sim = await runSimulation({ dataset: 'heart', dataDir: SHARED_DATA_DIR, rounds: 2, ...config }, { logger: silentLogger() });
  expect(sim.result.status).toBe('completed');
  return sim.result.rounds;
}

describe('secure extensions: the same figures with and without secure aggregation', () => {
  it('Heart walkthrough: contract counts and drift alerts match round by round', async () => {
    const plain = await heart({});
    const secure = await heart({ job: { secagg: SECAGG } });
    expect(secure.map((r) => slotOf(r, 'secagg').survivors)).toEqual([3, 3]);
    for (const [i, p] of plain.entries()) {
      const s = secure[i] as RoundRecord;
      const a = slotOf(p, 'dataContract');
      const b = slotOf(s, 'dataContract');
      // Four hospitals checked, Switzerland failed (its decline is the one thing in the clear, on both paths).
      expect([a.checked, a.failed]).toEqual([4, 1]);
      expect([b.checked, b.failed]).toEqual([4, 1]);
      expect(s.declined.map((d) => d.code)).toEqual(['TESSERA_ERR_CONTRACT_VIOLATION']);
      // The same alerts: columns, statistics and client counts exactly; the n-weighted means within the secure
      // path's quantisation (far below the 4 decimals recorded).
      const key = (x: (typeof a.driftAlerts)[number]) => `${x.column}/${x.statistic}/${x.clients}/${x.driftedClients}`;
      expect(b.driftAlerts.map(key)).toEqual(a.driftAlerts.map(key));
      expect(a.driftAlerts.length).toBeGreaterThan(0);
      expect(a.driftAlerts.every((x) => x.clients === 4)).toBe(true);
      b.driftAlerts.forEach((x, j) => {
        expect(x.meanValue).toBeCloseTo(a.driftAlerts[j]?.meanValue ?? Number.NaN, 3);
        expect(x.threshold).toBeCloseTo(a.driftAlerts[j]?.threshold ?? Number.NaN, 3);
      });
    }
  }, 60_000);

  it('adaptive clipping runs under secure aggregation; its clip norms follow the plain path within the noise', async () => {
    const rounds = 6;
    const job = (secagg: boolean) => ({
      training: { epochs: 2, batchSize: 16, learningRate: 0.1, optimizer: 'sgd' },
      ...(secagg ? { secagg: { ...SECAGG, weighting: 'uniform' } } : {}),
      // σ_b = 2 (explicit: the default 0.05·q·N would be 0.2 for four hospitals, below σ/2).
      dp: { enabled: true, placement: 'distributed', epsilon: 1000, delta: 1e-5, noiseMultiplier: 0.5, clipNorm: 4, adaptiveClipping: { enabled: true, targetQuantile: 0.5, learningRate: 0.5, countNoiseStd: 2, minClipNorm: 0.01, maxClipNorm: 100 } },
    });
    const config = { rounds, samplingRate: 1, minClients: 2, checkContract: false, seededNoise: true };
    const plain = await heart({ ...config, job: job(false) });
    const secure = await heart({ ...config, job: job(true) });
    const trajectory = (rs: readonly RoundRecord[]) => rs.map((r) => slotOf(r, 'privacy').adaptiveClipping);
    const p = trajectory(plain);
    const s = trajectory(secure);
    expect(s).toHaveLength(rounds);
    for (let i = 0; i < rounds; i++) {
      // Every survivor's indicator is inside the secure sum: the count is released every round.
      expect(s[i]?.reports).toBe(slotOf(secure[i] as RoundRecord, 'secagg').survivors);
      expect(s[i]?.unclippedFraction).not.toBeNull();
      expect(p[i]?.reports).toBe(4);
      // The seeded count-noise shares are the same on both paths; what differs is the secure path's stochastic
      // rounding of the update and the indicator (≈ 1e-8 of a unit here), far inside the count noise σ_b/(qN) = 0.5.
      // An indicator could only flip for an update norm within that rounding of C_t (then ln C would move by η·0.25).
      expect(Math.abs(Math.log((s[i]?.nextClipNorm ?? 1) / (p[i]?.nextClipNorm ?? 1)))).toBeLessThan(1e-4);
      expect(Math.abs((s[i]?.unclippedFraction ?? 0) - (p[i]?.unclippedFraction ?? 0))).toBeLessThan(1e-4);
    }
    // And C moved: from a C_0 far above the update norms it fell on both paths.
    expect(s.at(-1)?.nextClipNorm).toBeLessThan(4);
    expect(p.at(-1)?.nextClipNorm).toBeLessThan(4);
  }, 60_000);

  it('a coordinator without the named contract refuses a secure job (it could not lay out the sums); a wrong contract is named', () => {
    const spec = (contract: string, secagg: boolean) => parseJobSpec({ model: { kind: 'logistic', inputs: 15, classes: 2 }, data: { dataset: 'csv', contractHash: contract }, rounds: 1, sampling: { mode: 'poisson', rate: 1 }, secagg: { enabled: secagg } });
    const ctx = (s: ReturnType<typeof spec>, extra = {}) => ({ jobId: 'j', spec: s, logger: silentLogger(), rng: cryptoRandom(), ...extra });
    const unknown = 'e'.repeat(64);
    expect(thrownTesseraError(() => dataContractFeature(ctx(spec(unknown, true)))).code).toBe('TESSERA_ERR_CONTRACT_UNAVAILABLE');
    // Plain: it still counts declines, without alerts.
    expect(dataContractFeature(ctx(spec(unknown, false)))?.name).toBe('data-contract');
    const heart = loadBuiltinContract('heart');
    expect(thrownTesseraError(() => dataContractFeature(ctx(spec(unknown, true), { contract: heart }))).code).toBe('TESSERA_ERR_CONTRACT_MISMATCH');
    // A built-in contract is found by its hash.
    expect(dataContractFeature(ctx(spec(contractHash(heart), true)))?.name).toBe('data-contract');
  });
});
