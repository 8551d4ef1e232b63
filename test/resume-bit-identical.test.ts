/**
 * Resume is bit-identical (issue 14 §1). A seeded DP simulation with adaptive clipping (test/fixtures/
 * resume-coordinator.ts: sampling, central and client noise, clip-count noise and batch order all seeded) is
 * SIGKILLed — the whole process group, cued by the coordinator's own log lines — at every stage that lies
 * BEFORE a round's charge or AFTER its commit: just after sampling, with the training tasks out, just after a
 * commit, and during model registration. Each restart on the same state resumes (same job id, last committed
 * weights, the clip norm of the last committed round) and the final run reaches the same weights, to the bit,
 * as an uninterrupted run on a fresh state, with the same accuracy, loss and registered model version.
 *
 * What bit-identical does NOT cover, by design: a kill between a round's charge (the release gate) and its
 * commit loses that round — it may have been released, so the accounting rules never re-run it — and the job
 * continues from the previous weights (test/resume-crash-matrix.test.ts covers those stages).
 * It fails when any per-round stream is shared across rounds again (the resumed draws shift), when the
 * adaptive clip norm is not restored, or when resume starts from the wrong round or weights.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../governance/state/database.ts';
import { runResumeFixture, type Kill } from './support/resume-runs.ts';

const ROUNDS = 3;
const root = mkdtempSync(join(tmpdir(), 'tessera-resume-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('a seeded simulation killed before a charge or after a commit resumes to bit-identical weights', () => {
  it('sampling, training, after commit, registration: same final weights, accuracy, loss and model', async () => {
    const reference = await runResumeFixture(join(root, 'reference'), ROUNDS);
    expect(reference.end?.status, reference.stderr.slice(-2000)).toBe('completed');

    const dir = join(root, 'killed');
    const kills: Array<{ kill: Kill; resumesAt: number }> = [
      { kill: { cue: 'round started', round: 1 }, resumesAt: 1 },
      { kill: { cue: 'training dispatched', round: 2 }, resumesAt: 1 },
      { kill: { cue: 'round committed', round: 2 }, resumesAt: 2 },
      { kill: { cue: 'model registering' }, resumesAt: 3 },
    ];
    for (const { kill, resumesAt } of kills) {
      const run = await runResumeFixture(dir, ROUNDS, kill);
      expect(run.signal, `${kill.cue}: ${run.stderr.slice(-2000)}`).toBe('SIGKILL');
      expect(run.end).toBeNull();
      expect(run.firstStarted).toBe(resumesAt);
    }
    const last = await runResumeFixture(dir, ROUNDS);
    // Every round was committed before the registration kill: nothing left to run, only to register.
    expect(last.firstStarted).toBeUndefined();
    expect(last.end).toEqual(reference.end);

    const db = openDatabase(dir);
    try {
      expect(db.prepare('SELECT COUNT(*) FROM models').pluck().get()).toBe(1);
      expect(db.prepare('SELECT round FROM ledger_rounds ORDER BY round').pluck().all()).toEqual([1, 2, 3]);
    } finally {
      db.close();
    }
  }, 360_000);
});
