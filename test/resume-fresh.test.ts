/**
 * `--fresh` (issue 14 §1): a job with no privacy charge starts over at round 1 — its committed rounds are
 * discarded with a `job.restarted` audit entry; a job with charges is refused with TESSERA_ERR_FRESH_REFUSED and
 * nothing in its state changes (its released rounds stay charged; a second round 1 could be neither charged nor
 * left uncharged). Real simulations on Heart with real SQLite state directories.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../governance/state/database.ts';
import { runSimulation, type SimulationConfigInput } from '../simulations/simulate.ts';
import { SHARED_DATA_DIR } from './paths.ts';

const root = mkdtempSync(join(tmpdir(), 'tessera-fresh-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const logger = pino({ level: 'silent' });

function count(dir: string, sql: string): number {
  const db = openDatabase(dir);
  try {
    return db.prepare(sql).pluck().get() as number;
  } finally {
    db.close();
  }
}

describe('--fresh', () => {
  it('starts an uncharged job over (audited) and refuses a job with ledger charges, changing nothing', async () => {
    const base: SimulationConfigInput = { dataset: 'heart', dataDir: SHARED_DATA_DIR, checkContract: false, rounds: 2 };
    const plain = join(root, 'plain');
    const first = await runSimulation({ ...base, stateDir: plain }, { logger });
    expect(first.result.status).toBe('completed');
    // Resumed: nothing left to run, the same result.
    const again = await runSimulation({ ...base, stateDir: plain }, { logger });
    expect(again.result.rounds.map((r) => r.round)).toEqual([1, 2]);
    expect(Array.from(again.result.weights)).toEqual(Array.from(first.result.weights));
    const started: number[] = [];
    const fresh = await runSimulation({ ...base, stateDir: plain, fresh: true }, { logger, onRound: (r) => started.push(r.round) });
    expect(started).toEqual([1, 2]);
    expect(fresh.result.rounds).toHaveLength(2);
    expect(count(plain, "SELECT COUNT(*) FROM audit_log WHERE action = 'job.restarted'")).toBe(1);

    const dp = join(root, 'dp');
    const job = { dp: { enabled: true, placement: 'distributed', epsilon: 30, delta: 1e-5, noiseMultiplier: 2, clipNorm: 1 } };
    await runSimulation({ ...base, stateDir: dp, samplingRate: 1, job }, { logger });
    const charged = count(dp, 'SELECT COUNT(*) FROM ledger_rounds');
    const rows = count(dp, 'SELECT COUNT(*) FROM job_rounds');
    expect(charged).toBe(2);
    await expect(runSimulation({ ...base, stateDir: dp, samplingRate: 1, job, fresh: true }, { logger })).rejects.toMatchObject({ code: 'TESSERA_ERR_FRESH_REFUSED' });
    expect(count(dp, 'SELECT COUNT(*) FROM ledger_rounds')).toBe(charged);
    expect(count(dp, 'SELECT COUNT(*) FROM job_rounds')).toBe(rows);
    expect(count(dp, "SELECT COUNT(*) FROM audit_log WHERE action = 'job.restarted'")).toBe(0);
    // The refusal let go of the state: resuming the same job on it works at once.
    const resumed = await runSimulation({ ...base, stateDir: dp, samplingRate: 1, job }, { logger });
    expect(resumed.result.status).toBe('completed');
    expect(count(dp, 'SELECT COUNT(*) FROM ledger_rounds')).toBe(charged);
  }, 120_000);
});
