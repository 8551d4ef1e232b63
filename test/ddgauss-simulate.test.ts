/**
 * End to end (issue 19 §1): `tessera simulate` on Adult with secure aggregation and dp.mechanism "ddgauss", as a
 * user runs it — a real state directory (durable ledger), the OS CSPRNG for the noise, a client dropping out of
 * nothing: 20 clients, q = 1, 3 rounds. The job completes and learns, and the ledger charged each round with the
 * DDGauss bound for the survivors actually in the sum (ledger-005): the recorded parameters are Proposition 14's
 * for n′ = 20, and ε after each round is the accountant's for the rounds charged so far.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { ddgaussRoundParams } from '../privacy/accountant/ddgauss.ts';
import { epsilonForRounds } from '../privacy/accountant/index.ts';
import { accountedDelta } from '../privacy/dp/underfill.ts';
import { SHARED_DATA_DIR } from './paths.ts';
import { cli } from './support/cli.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-ddgauss-sim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tessera simulate --secagg with the distributed discrete Gaussian', () => {
  it('Adult, 20 clients, 3 rounds: completes, learns, and the ledger charges each round at the survivors present', async () => {
    const job = join(dir, 'job.json');
    writeFileSync(job, JSON.stringify({ dp: { mechanism: 'ddgauss', ddgauss: { bits: 32, granularity: 1e-6 } } }));
    const state = join(dir, 'state');
    const r = await cli('simulate', '--dataset', 'adult', '--data-dir', SHARED_DATA_DIR, '--clients', '20', '--rounds', '3', '--sampling-rate', '1', '--min-clients', '10', '--dp-epsilon', '20', '--dp-noise-multiplier', '1', '--dp-clip', '1', '--secagg', '--no-contract', '--job', job, '--state', state, '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { status: string; rounds: Array<{ accuracy: number | null; participants: number }> };
    expect(out.status).toBe('completed');
    expect(out.rounds).toHaveLength(3);
    expect(out.rounds.at(-1)?.accuracy).toBeGreaterThan(0.75);

    const db = new Database(join(state, 'tessera.db'), { readonly: true });
    const rows = db.prepare('SELECT round, participants, noise_multiplier, epsilon_after, ddgauss FROM ledger_rounds ORDER BY round').all() as Array<{ round: number; participants: number; noise_multiplier: number; epsilon_after: number; ddgauss: string | null }>;
    db.close();
    expect(rows).toHaveLength(3);
    const dim = 256; // Adult's logistic model (2 × (features + 1) ≤ 256 weights), padded
    for (const [i, row] of rows.entries()) {
      expect(row.participants).toBe(20);
      // σ_local = σC/√m with m = max(minClients, secagg threshold) = 10; charged with n′ = 20 survivors.
      const expected = ddgaussRoundParams({ clipNorm: 1, granularity: 1e-6, beta: Math.exp(-0.5), localStd: 1 / Math.sqrt(10), survivors: 20, dim });
      expect(JSON.parse(row.ddgauss ?? 'null')).toEqual(expected);
      const eps = epsilonForRounds([{ samplingRate: 1, noiseMultiplier: 1, steps: i + 1, ddgauss: expected }], { delta: accountedDelta(1e-5, 0.1) }).epsilon;
      expect(row.epsilon_after).toBeCloseTo(eps, 10);
    }
  }, 120_000);
});
