/**
 * A full job with `secagg.enabled` through `runSimulation({transport: 'socket'})` on Heart (four hospitals,
 * the natural split; real rows from ../shared/data/heart): real client nodes train with TensorFlow.js, mask
 * their updates, and the coordinator learns only each round's sum. The global model must match the plain
 * protocol's for the same seed up to quantisation error (step r/L = 10 / ⌊(2^31 − 1)/4⌋ ≈ 1.9e−8 per client
 * and coordinate, privacy/secagg/quantize.ts), and the round records carry the chosen (k, t).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assembleJob } from '../coordinator/features/assemble.ts';
import { SECAGG_ROSTER_FILE } from '../coordinator/features/secagg.ts';
import { SECAGG_PROTOCOL_NAME } from '../coordinator/secagg-round.ts';
import { silentLogger } from '../lib/logger.ts';
import { cryptoRandom } from '../privacy/random.ts';
import { simulatedIdentities } from '../privacy/secagg/identity-directory.ts';
import { parseJobSpec } from '../protocol/job/spec.ts';
import { runSimulation, type SimulationResult } from '../simulations/simulate.ts';
import { SHARED_DATA_DIR } from './paths.ts';

const logger = silentLogger();

function run(secagg: boolean): Promise<SimulationResult> {
  return runSimulation(
    {
      dataset: 'heart',
      dataDir: SHARED_DATA_DIR,
      rounds: 3,
      seed: 7,
      transport: 'socket',
      deadlineMs: 30_000,
      // clipRange bounds every update coordinate; 10 leaves the Heart logistic updates unclipped.
      job: secagg ? { secagg: { enabled: true, clipRange: 10 } } : {},
    },
    { logger },
  );
}

describe('a secure-aggregation job over real sockets on Heart', () => {
  it('gives the plain protocol’s global model up to quantisation error', async () => {
    const plain = await run(false);
    const secure = await run(true);
    expect(plain.result.status).toBe('completed');
    expect(secure.result.status).toBe('completed');
    expect(secure.result.rounds).toHaveLength(3);
    const a = plain.result.weights;
    const b = secure.result.weights;
    expect(b.length).toBe(a.length);
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs((a[i] as number) - (b[i] as number)));
    // Three rounds of ≤ 4 · 1.9e−8 quantisation error per coordinate, amplified a little by retraining on the
    // slightly different model, stay far below 1e−4; a wrong weighting or a lost client would show at ≥ 1e−2.
    expect(maxDiff).toBeLessThan(1e-4);
    expect(Math.abs((secure.result.final.accuracy ?? 0) - (plain.result.final.accuracy ?? 1))).toBeLessThan(0.01);
    for (const r of secure.result.rounds) {
      expect(r.participants).toBe(plain.result.rounds[r.round - 1]?.participants);
      // Switzerland's rows fail the Heart contract: it declines, so 3 of the 4 in the roster are in the sum; the
      // finder picks a ring (k = 2, t = 2) for n = 4, δ = 0.1, γ = 0.05.
      expect(r.extra.secagg).toMatchObject({ clients: r.selected, survivors: r.participants, k: 2, t: 2, weighting: 'examples' });
      expect(r.declined.map((d) => d.code)).toEqual(['TESSERA_ERR_CONTRACT_VIOLATION']);
      // Per-client training losses would leak individual facts: the secure protocol does not collect them.
      expect(r.trainLoss).toBeNull();
    }
  }, 120_000);
});

describe('the secagg feature in a deployment', () => {
  const spec = parseJobSpec({
    name: 'secagg-feature',
    purpose: 'research',
    model: { kind: 'logistic', inputs: 9, classes: 2 },
    data: { dataset: 'heart' },
    rounds: 1,
    sampling: { mode: 'fixed', clientsPerRound: 4 },
    minClients: 1,
    roundDeadlineMs: 1000,
    training: { epochs: 1, batchSize: 8, learningRate: 0.1, optimizer: 'sgd' },
    consent: { required: false },
    secagg: { enabled: true },
  });
  it('refuses to run without the identity roster, and runs the SecAgg+ protocol with the one in the state directory', () => {
    const base = { jobId: 'job-feature', spec, logger, rng: cryptoRandom() };
    expect(() => assembleJob(base)).toThrow(/state directory/);
    const dir = mkdtempSync(join(tmpdir(), 'secagg-state-'));
    expect(() => assembleJob({ ...base, stateDir: dir })).toThrow(new RegExp(SECAGG_ROSTER_FILE));
    writeFileSync(join(dir, SECAGG_ROSTER_FILE), JSON.stringify(simulatedIdentities(['client-a', 'client-b'], cryptoRandom()).roster));
    expect(assembleJob({ ...base, stateDir: dir }).protocol?.name).toBe(SECAGG_PROTOCOL_NAME);
  });
});
