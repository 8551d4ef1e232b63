/**
 * Churn soak (issue 14 §6), through `runSimulation` over real loopback sockets with `churn`: connections are cut
 * at random moments of the rounds (simulations/churn.ts) and clients come back by themselves. The claims: no
 * round is lost or counted twice (committed rounds 1..N, each with one ledger row), the ledger's ε is the
 * accountant's for the rounds it charged, and the audit log verifies. The 200-round version with memory figures
 * is `npm run bench -- churn`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logger.ts';
import { chargedRounds } from '../governance/ledger/index.ts';
import { openDatabase } from '../governance/state/database.ts';
import { verifyAuditLog } from '../governance/audit/index.ts';
import { roundRecords } from '../coordinator/state/job-store.ts';
import { epsilonFor } from '../privacy/accountant/index.ts';
import { DEFAULT_UNDERFILL_DELTA_FRACTION } from '../privacy/dp/config.ts';
import { runSimulation, type SimulationConfigInput } from '../simulations/simulate.ts';
import { SHARED_DATA_DIR } from './paths.ts';


const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const DELTA = 1e-5;
const eps = (q: number, sigma: number, steps: number): number => epsilonFor({ samplingRate: q, noiseMultiplier: sigma, steps, delta: DELTA * (1 - DEFAULT_UNDERFILL_DELTA_FRACTION) }).epsilon;
const training = { epochs: 1, batchSize: 64, learningRate: 0.1, optimizer: 'sgd' as const };

async function soak(config: Partial<SimulationConfigInput> & { rounds: number; clients: number; q: number; sigma: number; budget: number }) {
  const stateDir = mkdtempSync(join(tmpdir(), 'tessera-churn-'));
  dirs.push(stateDir);
  const { q, sigma, budget, ...rest } = config;
  const sim = await runSimulation(
    {
      dataset: 'adult',
      dataDir: SHARED_DATA_DIR,
      transport: 'socket',
      samplingRate: q,
      checkContract: false,
      stateDir,
      ...rest,
      job: { training, ...rest.job, dp: { enabled: true, placement: 'distributed', epsilon: budget, delta: DELTA, noiseMultiplier: sigma, clipNorm: 1 } },
    },
    { logger: silentLogger() },
  );
  const db = openDatabase(stateDir);
  try {
    const jobId = db.prepare('SELECT id FROM jobs').pluck().get() as string;
    return { sim, ledger: chargedRounds(db, jobId), committed: roundRecords(db, jobId), audit: verifyAuditLog(db) };
  } finally {
    db.close();
  }
}

describe('churn soak over sockets', () => {
  it('plain rounds with DP: 60 rounds, connections cut at random, no round lost or counted twice, ledger = accountant', async () => {
    const rounds = 60;
    const q = 0.5;
    const sigma = 3;
    const { sim, ledger, committed, audit } = await soak({ rounds, clients: 50, q, sigma, budget: 8, churn: 0.15, trainLimit: 8000 });
    expect(sim.result, sim.result.message).toMatchObject({ status: 'completed' });
    expect(sim.churn?.drops).toBeGreaterThan(rounds * 50 * 0.15 * 0.5);
    const all = Array.from({ length: rounds }, (_, i) => i + 1);
    expect(committed.map((r) => r.round)).toEqual(all);
    expect(ledger.map((r) => r.round)).toEqual(all);
    // Cut connections show up as clients dropped from the rounds they were in, never as a lost round.
    expect(sim.result.rounds.filter((r) => r.dropped.length > 0).length).toBeGreaterThan(5);
    ledger.forEach((row, i) => {
      expect(row.epsilonAfter).toBe(eps(q, sigma, i + 1));
      expect(row.participants).toBe(committed[i]?.participants);
    });
    expect(audit.ok).toBe(true);
  }, 240_000);

  it('secure aggregation with DP: clients cut during the SecAgg+ stages are dropouts, the sums still unmask', async () => {
    const rounds = 6;
    const q = 0.5;
    const sigma = 1.5;
    const { sim, ledger, committed, audit } = await soak({ rounds, clients: 60, q, sigma, budget: 8, churn: 0.05, minClients: 3, trainLimit: 6000, job: { secagg: { enabled: true, weighting: 'uniform', dropoutRate: 0.3 } } });
    expect(sim.result, sim.result.message).toMatchObject({ status: 'completed' });
    expect(committed.map((r) => r.round)).toEqual(ledger.map((r) => r.round));
    expect(committed.map((r) => r.round)).toEqual([1, 2, 3, 4, 5, 6]);
    ledger.forEach((row, i) => expect(row.epsilonAfter).toBe(eps(q, sigma, i + 1)));
    expect(sim.churn?.drops).toBeGreaterThan(0);
    expect(audit.ok).toBe(true);
  }, 240_000);

  it('refuses churn on the in-memory transport, naming the flag', async () => {
    await expect(runSimulation({ dataset: 'adult', dataDir: SHARED_DATA_DIR, transport: 'memory', churn: 0.1, rounds: 1 }, { logger: silentLogger() })).rejects.toMatchObject({
      code: 'TESSERA_ERR_INVALID_ARGUMENT',
      message: expect.stringMatching(/--churn .*--transport socket/) as unknown,
    });
  });
});
