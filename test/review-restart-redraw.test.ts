/**
 * Review attack (finding 4; issue 11 §1 and §3; adversary: a coordinator OPERATOR who wants to spend more ε than
 * the ledger shows, using only restarts). A DP job never re-samples a round inside one run (privacy/dp/underfill.ts),
 * and a restart resumes at the round after the last one charged or committed (coordinator/state/resume.ts). Before
 * the fix a round whose sample was drawn — and whose tasks went out — but which was not yet charged was simply drawn
 * AGAIN after a restart, and nothing recorded the first draw: an operator who restarts until a draw suits them
 * (e.g. until organisation V is in it) releases only favourable samples, V's inclusion probability approaches 1
 * while the ledger charges q — the free re-sampling issue 11 §1 measured (ledger 5.88 against a true ε ≥ 8.32),
 * done by hand.
 *
 * The attack, on a real coordinator process (test/fixtures/dp-coordinator.ts: runSimulation with a state
 * directory, the real round loop and release gate, Adult, 30 organisations, q = 0.5) that samples from the OS
 * CSPRNG as a deployment does — so a second draw would differ from the first except with probability 2⁻³⁰:
 * SIGKILL right after 'round started' of round 1 (sample drawn, tasks leaving, nothing charged), restart on the
 * same state and let round 1 commit.
 *
 * The claim (now holds): the restart does not re-roll the round. The draw was recorded before any task left
 * (governance/ledger/draws.ts), the restarted coordinator logs 'round sample reused', the ledger holds ONE draw of
 * round 1, and the organisations that took part in the released round are exactly the first draw's. So each
 * organisation's inclusion in the released round is the one Bernoulli(q) draw the ledger charged for (q = 0.5, one
 * charge): the ledger's ε is the ε of what happened. Before the fix the same harness found a second, different
 * sample released (it failed at `draws` and at `participantOrgs`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { roundRecords } from '../coordinator/state/job-store.ts';
import { chargedRounds, jobDraws } from '../governance/ledger/index.ts';
import { openDatabase } from '../governance/state/database.ts';
import { runKillableChild } from './support/killable-child.ts';
import { REPO_ROOT } from './paths.ts';

const FIXTURE = join(REPO_ROOT, 'test/fixtures/dp-coordinator.ts');
const Q = 0.5;
const dir = mkdtempSync(join(tmpdir(), 'tessera-review-redraw-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  started: number[];
  reused: number[];
  charged: number[];
  signal: NodeJS.Signals | null;
  stderr: string;
}

/** Runs the coordinator until `stop` says so, then SIGKILLs its process group. */
async function runUntil(stop: (line: string, entry: { msg?: string; round?: number } | null) => boolean): Promise<Run> {
  const run: Run = { started: [], reused: [], charged: [], signal: null, stderr: '' };
  const outcome = await runKillableChild({
    script: FIXTURE,
    // Budget ε = 1, q = 0.5, σ = 6, 30 organisations (a short sample has probability 0.5^29 a round), CSPRNG sampling.
    args: [dir, '1', String(Q), '6', '30', 'csprng'],
    killJitterMs: 5,
    timeoutMs: 150_000,
    onLine(line) {
      let entry: { msg?: string; round?: number; component?: string } | null = null;
      if (line.startsWith('{')) {
        entry = JSON.parse(line) as { msg?: string; round?: number; component?: string };
        if (entry.component === 'coordinator' && entry.round !== undefined) {
          if (entry.msg === 'round started') run.started.push(entry.round);
          if (entry.msg === 'round sample reused') run.reused.push(entry.round);
          if (entry.msg === 'release gate passed') run.charged.push(entry.round);
        }
      }
      return stop(line, entry);
    },
  });
  return { ...run, signal: outcome.signal, stderr: outcome.stderr };
}

function readState() {
  const db = openDatabase(dir);
  try {
    const jobId = db.prepare('SELECT id FROM jobs').pluck().get() as string;
    return { draws: jobDraws(db, jobId), charges: chargedRounds(db, jobId), records: roundRecords(db, jobId) };
  } finally {
    db.close();
  }
}

describe('a restart between the draw and the charge', () => {
  it('does not give the operator a fresh draw of the round: the recorded sample is the one released and charged', async () => {
    const first = await runUntil((_line, e) => e?.msg === 'round started' && e.round === 1);
    expect(first.signal, first.stderr.slice(-2000)).toBe('SIGKILL');
    expect(first.started).toEqual([1]);
    expect(first.charged).toEqual([]);
    // The draw is durable although the process died before any charge.
    const afterKill = readState();
    expect(afterKill.charges).toEqual([]);
    expect(afterKill.draws).toHaveLength(1);
    const drawn = afterKill.draws[0];
    if (drawn === undefined) throw new Error('no draw recorded');
    expect(drawn).toMatchObject({ round: 1, attempt: 1, short: false });
    expect(drawn.eligibleOrgIds).toHaveLength(30);

    // Restart on the same state; stop once round 1 is committed (the fixture prints "round 1 <ε>").
    const second = await runUntil((line) => line.startsWith('round 1 '));
    expect(second.signal, second.stderr.slice(-2000)).toBe('SIGKILL');
    expect(second.reused).toEqual([1]);
    expect(second.charged).toContain(1);

    const after = readState();
    // One draw of round 1, ever: the restart did not draw again.
    expect(after.draws.filter((d) => d.round === 1)).toEqual([drawn]);
    // The released round is the first draw's sample (a fresh CSPRNG draw would match it with probability 2⁻³⁰).
    const record = after.records.find((r) => r.round === 1);
    expect(record?.participantOrgs).toEqual([...drawn.selectedOrgIds].sort());
    // Charged once, at the q the draw used: the ledger accounts exactly the mechanism that ran.
    const charge = after.charges.find((c) => c.round === 1);
    expect(after.charges.filter((c) => c.round === 1)).toHaveLength(1);
    expect(charge).toMatchObject({ samplingRate: Q, eligible: drawn.eligibleOrgIds.length, participants: drawn.selectedOrgIds.length });
  }, 300_000);
});
