/**
 * `tessera simulate` end to end: the JSON document's shape, determinism for a seed, results under --out,
 * and a federation in which one client's data breaks the data contract (Heart: Switzerland writes missing
 * cholesterol as 0) — that client is excluded with its reason each round and training goes on.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logger.ts';
import { runSimulation } from '../simulations/simulate.ts';
import { REPO_ROOT, SHARED_DATA_DIR } from './paths.ts';
import { slotOf } from './support/slots.ts';

const run = promisify(execFile);

describe('tessera simulate', () => {
  it('prints exactly one JSON document with config, rounds and final figures, and writes --out', async () => {
    const out = mkdtempSync(join(tmpdir(), 'tessera-sim-'));
    const { stdout } = await run('node', ['bin/tessera.mjs', 'simulate', '--dataset', 'heart', '--data-dir', SHARED_DATA_DIR, '--rounds', '2', '--transport', 'socket', '--json', '--out', out], { cwd: REPO_ROOT, timeout: 120_000 });
    const doc = JSON.parse(stdout) as { config: { dataset: string; clients: number; transport: string }; rounds: Array<{ round: number; accuracy: number; loss: number; participants: number; durationMs: number }>; final: { accuracy: number; loss: number } };
    expect(doc.config).toMatchObject({ dataset: 'heart', clients: 4, transport: 'socket' });
    expect(doc.rounds.map((r) => r.round)).toEqual([1, 2]);
    for (const r of doc.rounds) {
      expect(r.accuracy).toBeGreaterThan(0.5);
      expect(r.loss).toBeGreaterThan(0);
      expect(r.durationMs).toBeGreaterThan(0);
    }
    expect(doc.final.accuracy).toBe(doc.rounds[1]?.accuracy);
    const written = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as { final: unknown };
    expect(written.final).toEqual(doc.final);
    // The historical leading columns stay first; every other per-round figure follows (simulations/rounds-csv.ts).
    expect(readFileSync(join(out, 'rounds.csv'), 'utf8').split('\n')[0]).toMatch(/^round,accuracy,loss,participants,dropped,declined,duration_ms,/);
  });

  it('is deterministic for a seed (in-memory transport)', async () => {
    const config = { dataset: 'adult' as const, dataDir: SHARED_DATA_DIR, clients: 5, rounds: 2, trainLimit: 2000, testLimit: 500, seed: 9 };
    const a = await runSimulation(config, { logger: silentLogger() });
    const b = await runSimulation(config, { logger: silentLogger() });
    expect(Array.from(a.result.weights)).toEqual(Array.from(b.result.weights));
    expect(a.result.rounds.map((r) => r.accuracy)).toEqual(b.result.rounds.map((r) => r.accuracy));
    const c = await runSimulation({ ...config, seed: 10 }, { logger: silentLogger() });
    expect(Array.from(c.result.weights)).not.toEqual(Array.from(a.result.weights));
  });

  it('excludes a client whose data breaks the contract, names its reason, and trains on with the others', async () => {
    const sim = await runSimulation({ dataset: 'heart', dataDir: SHARED_DATA_DIR, rounds: 2 }, { logger: silentLogger() });
    expect(sim.result.status).toBe('completed');
    for (const r of sim.result.rounds) {
      expect(r.participants).toBe(3);
      expect(r.participantOrgs).toEqual(['cleveland', 'hungarian', 'va']);
      expect(r.declined).toHaveLength(1);
      const [d] = r.declined;
      expect(d).toMatchObject({ orgId: 'switzerland', code: 'TESSERA_ERR_CONTRACT_VIOLATION' });
      expect(d?.reason).toMatch(/chol/);
      expect(d?.counts).toMatchObject({ violations: 2 });
      const contract = slotOf(r, 'dataContract');
      expect(contract).toMatchObject({ failed: 1, checked: 4 });
    }
    // Without the contract check, all four hospitals take part.
    const unchecked = await runSimulation({ dataset: 'heart', dataDir: SHARED_DATA_DIR, rounds: 1, checkContract: false }, { logger: silentLogger() });
    expect(unchecked.result.rounds[0]?.participants).toBe(4);
  });

  it('reaches the README figures on real data (looser bounds, fewer rounds)', async () => {
    const logger = silentLogger();
    const heart = await runSimulation({ dataset: 'heart', dataDir: SHARED_DATA_DIR, checkContract: false }, { logger });
    expect(heart.result.final.accuracy).toBeGreaterThanOrEqual(0.75); // README: 0.7838 after 10 rounds
    const adult = await runSimulation({ dataset: 'adult', dataDir: SHARED_DATA_DIR, rounds: 3 }, { logger });
    expect(adult.result.final.accuracy).toBeGreaterThanOrEqual(0.83); // README: 0.8469 after 10 rounds
    const mnist = await runSimulation({ rounds: 3, trainLimit: 30_000, testLimit: 2_000 }, { logger });
    expect(mnist.result.final.accuracy).toBeGreaterThanOrEqual(0.85); // README: 0.9294 after 5 rounds on all 60,000 rows
  }, 360_000);
});
