/**
 * The DP flags of `tessera simulate` and `tessera ledger show` in child processes (Heart, four hospitals, real
 * loopback sockets): --dp-* turn DP on and merge over --job; the job ends 'budget-exhausted' (exit 0) exactly
 * when the next round would exceed ε; the ledger in --state shows the same ε as the accountant; central
 * placement without --trusted-coordinator is unusable input (exit 2) and no job starts.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { epsilonFor } from '../privacy/accountant/index.ts';
import { DEFAULT_UNDERFILL_DELTA_FRACTION } from '../privacy/dp/config.ts';
import { REPO_ROOT, SHARED_DATA_DIR } from './paths.ts';
import { PRIVACY_SLOT } from '../coordinator/features/dp-slot.ts';

const run = promisify(execFile);
const dir = mkdtempSync(join(tmpdir(), 'tessera-dp-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const tessera = (args: string[]) => run('node', ['bin/tessera.mjs', ...args], { cwd: REPO_ROOT, timeout: 120_000 });

describe('tessera simulate with DP', () => {
  it('stops at the budget, and the ledger shows the accountant’s ε', async () => {
    // q = 1: with four hospitals any q < 1 leaves a round empty too often for the δ reserve (refused).
    const q = 1;
    const sigma = 0.5;
    const eps = (t: number): number => epsilonFor({ samplingRate: q, noiseMultiplier: sigma, steps: t, delta: 1e-5 * (1 - DEFAULT_UNDERFILL_DELTA_FRACTION) }).epsilon;
    const budget = (eps(2) + eps(3)) / 2;
    const job = join(dir, 'job.json');
    // The file says distributed and σ = 9; the flags win where they are given.
    writeFileSync(job, JSON.stringify({ dp: { placement: 'distributed', noiseMultiplier: 9, clipNorm: 0.5 } }));
    const state = join(dir, 'state');
    const { stdout } = await tessera(['simulate', '--dataset', 'heart', '--data-dir', SHARED_DATA_DIR, '--transport', 'socket', '--no-contract', '--rounds', '10', '--sampling-rate', String(q), '--job', job, '--dp-epsilon', String(budget), '--dp-noise-multiplier', String(sigma), '--dp-placement', 'local', '--state', state, '--json']);
    // The CLI's JSON is parsed with the DP feature's own slot schema: a renamed field fails here too.
    const doc = z.object({ status: z.string(), private: z.boolean(), rounds: z.array(z.object({ extra: z.object({ privacy: PRIVACY_SLOT.schema }) })) }).parse(JSON.parse(stdout));
    expect(doc.status).toBe('budget-exhausted');
    expect(doc.private).toBe(false);
    expect(doc.rounds.map((r) => r.extra.privacy.epsilon)).toEqual([eps(1), eps(2)]);
    expect(doc.rounds[0]?.extra.privacy).toMatchObject({ placement: 'local', clipNorm: 0.5, noiseMultiplier: sigma, againstCoordinator: true });
    const shown = JSON.parse((await tessera(['ledger', 'show', '--state', state, '--json'])).stdout) as { jobs: Array<{ epsilonSpent: number; roundsCharged: number; notPrivateRounds: number; budget: { epsilon: number; placement: string } }> };
    expect(shown.jobs).toHaveLength(1);
    expect(shown.jobs[0]).toMatchObject({ epsilonSpent: eps(2), roundsCharged: 2, notPrivateRounds: 2, budget: { epsilon: budget, placement: 'local' } });
  }, 120_000);

  it('refuses central placement without --trusted-coordinator as unusable input', async () => {
    const failed = await tessera(['simulate', '--dataset', 'heart', '--data-dir', SHARED_DATA_DIR, '--rounds', '1', '--sampling-rate', '0.5', '--dp-epsilon', '3', '--dp-placement', 'central']).then(
      () => null,
      (e: { code: number; stderr: string }) => e,
    );
    expect(failed?.code).toBe(2);
    expect(failed?.stderr).toMatch(/TESSERA_ERR_INVALID_JOB_SPEC.*trustedCoordinator/);
  }, 60_000);
});
