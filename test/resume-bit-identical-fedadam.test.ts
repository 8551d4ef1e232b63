/**
 * Resume stays bit-identical with a server optimiser that has memory (issue 18 §6). The resume fixture (a seeded
 * DP simulation on Adult, test/fixtures/resume-coordinator.ts) runs FedAdam (Reddi et al. 2021): its moments m_t,
 * v_t after each round are committed in the round's row (job_rounds.server_state, migration jobs-004) with its
 * weights. The run is SIGKILLed right after round 1 commits; the restart resumes from round 1's weights AND
 * moments, and the final weights equal an uninterrupted run's to the
 * bit (same accuracy, loss and registered model).
 * It fails if the moments are not saved or not restored (a resumed FedAdam with fresh m = 0, v = τ² takes
 * different steps: other weights), or are restored from a round other than the one the weights come from.
 * FedAdam under DP is post-processing of the released noised mean, so this job is also the DP combination's test.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeServerState } from '../coordinator/state/server-state-codec.ts';
import { openDatabase } from '../governance/state/database.ts';
import { runResumeFixture, type Kill } from './support/resume-runs.ts';

const ROUNDS = 3;
const FEDADAM = { name: 'fedadam', serverLearningRate: 0.05 };
const root = mkdtempSync(join(tmpdir(), 'tessera-resume-fedadam-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('a seeded FedAdam simulation killed after a commit resumes to bit-identical weights', () => {
  it('moments committed per round and restored: same final weights, accuracy, loss and model', async () => {
    const reference = await runResumeFixture(join(root, 'reference'), ROUNDS, undefined, 0, FEDADAM);
    expect(reference.end?.status, reference.stderr.slice(-2000)).toBe('completed');

    const dir = join(root, 'killed');
    const kill: Kill = { cue: 'round committed', round: 1 };
    const killed = await runResumeFixture(dir, ROUNDS, kill, 0, FEDADAM);
    expect(killed.signal, killed.stderr.slice(-2000)).toBe('SIGKILL');
    expect(killed.firstStarted).toBe(1);
    // Rounds 2 and 3 run in the resumed process, from round 1's committed weights and moments.
    const last = await runResumeFixture(dir, ROUNDS, undefined, 0, FEDADAM);
    expect(last.firstStarted).toBe(2);
    expect(last.end).toEqual(reference.end);

    const db = openDatabase(dir);
    try {
      const states = db.prepare('SELECT server_state FROM job_rounds ORDER BY round').pluck().all() as Buffer[];
      expect(states).toHaveLength(ROUNDS);
      const decoded = states.map((s) => decodeServerState(s));
      expect(decoded.map((s) => s.kind)).toEqual(['fedadam', 'fedadam', 'fedadam']);
      // The moments move every round (a state that stayed at m = 0 would mean they were never carried).
      expect(decoded[1]?.m.some((x, i) => x !== decoded[0]?.m[i])).toBe(true);
    } finally {
      db.close();
    }
  }, 170_000);
});
