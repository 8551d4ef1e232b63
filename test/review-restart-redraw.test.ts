/**
 * Review attack (issue 11 §1 and §3; adversary: a coordinator OPERATOR who wants to spend more ε than the ledger
 * shows, using only restarts). A DP job never re-samples a round inside one run (privacy/dp/underfill.ts), and a
 * restart resumes "at the round after the last one that was charged or committed" (coordinator/state/resume.ts).
 * So a round whose sample was drawn — and whose tasks went out — but which was not yet charged is simply drawn
 * AGAIN after a restart, and nothing records the first draw. An operator who looks at each draw (who got a
 * task) and restarts the coordinator until the draw suits them (e.g. until organisation V is in it) releases
 * only favourable samples: V's inclusion probability approaches 1 while the ledger charges q. That is the free
 * re-sampling issue 11 §1 measured (N = 10, q = 0.1, m = 1, σ = 1, 50 rounds: ledger 5.88, true ε ≥ 8.32), done
 * by hand; the coupling lemma covers only the short-round event, not an operator's choice.
 *
 * The attack, on a real coordinator process (test/fixtures/dp-coordinator.ts: runSimulation with a state
 * directory, real round loop and release gate, Adult, 30 clients): SIGKILL right after 'round started' of round
 * 1 (sample drawn, before the gate), restart on the same state; the restart draws round 1 again. It is charged
 * once, for two draws.
 *
 * GAP (open, it.fails): a fix needs each draw recorded durably before any task leaves, and on resume either the
 * drawn-but-uncharged round charged (every draw is a charged round — conservative; this test's assertion) or
 * the recorded sample re-used for that round (then assert the second run's tasks go to the first draw's
 * organisations instead).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { chargedRounds } from '../governance/ledger/index.ts';
import { openDatabase } from '../governance/state/database.ts';
import { runKillableChild } from './support/killable-child.ts';
import { REPO_ROOT } from './paths.ts';

const FIXTURE = join(REPO_ROOT, 'test/fixtures/dp-coordinator.ts');
const dir = mkdtempSync(join(tmpdir(), 'tessera-review-redraw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the coordinator until the first `cue` line of round 1, then SIGKILLs it; returns the rounds it drew. */
async function runUntil(cue: string): Promise<{ started: number[]; charged: number[]; signal: NodeJS.Signals | null; stderr: string }> {
  const started: number[] = [];
  const charged: number[] = [];
  const outcome = await runKillableChild({
    script: FIXTURE,
    // Budget ε = 1, q = 0.5, σ = 6, 30 clients (enough that a short sample fits the δ reserve: η = 0.5^29 a round).
    args: [dir, '1', '0.5', '6', '30'],
    killJitterMs: 5,
    timeoutMs: 120_000,
    onLine(line) {
      if (!line.startsWith('{')) return false;
      const entry = JSON.parse(line) as { msg?: string; round?: number; component?: string };
      if (entry.component !== 'coordinator' || entry.round === undefined) return false;
      if (entry.msg === 'round started') started.push(entry.round);
      if (entry.msg === 'release gate passed') charged.push(entry.round);
      return entry.msg === cue && entry.round === 1;
    },
  });
  return { started, charged, signal: outcome.signal, stderr: outcome.stderr };
}

describe('a restart between the draw and the charge', () => {
  it.fails('does not give the operator a free re-draw of the round', async () => {
    const first = await runUntil('round started');
    expect(first.signal, first.stderr.slice(-2000)).toBe('SIGKILL');
    expect(first.started).toEqual([1]);
    expect(first.charged).toEqual([]);
    const second = await runUntil('release gate passed');
    expect(second.signal, second.stderr.slice(-2000)).toBe('SIGKILL');
    // The restart drew round 1 again.
    expect(second.started).toEqual([1]);
    const db = openDatabase(dir);
    try {
      const jobId = db.prepare('SELECT id FROM jobs').pluck().get() as string;
      const charges = chargedRounds(db, jobId);
      // Two draws of a DP round left the coordinator; the claim: each is a charged round.
      expect(charges.length).toBeGreaterThanOrEqual(first.started.length + second.started.length);
    } finally {
      db.close();
    }
  }, 240_000);
});
