/**
 * Durable draws (review finding 4), below the process level of test/review-restart-redraw.test.ts: the ledger's
 * `ledger_draws` table refuses a second draw of a round by ANY writer (a hand-written INSERT included) unless the
 * first came out short, and the real DP feature, restarted on the same state database, runs a drawn round on the
 * recorded sample — it never calls the round loop's draw again, and an organisation of the sample that is absent
 * is left out rather than replaced. A short draw (nothing released; its chance paid from the δ reserve) is the one
 * case a resumed job draws again, with the next attempt's stream.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dpFeature } from '../coordinator/features/dp.ts';
import type { ConnectedClient } from '../coordinator/federation.ts';
import { selectClients, type Selection } from '../coordinator/sampling.ts';
import { jobDraws, latestDraw, recordDraw, setJobBudget } from '../governance/ledger/index.ts';
import { openDatabase } from '../governance/state/database.ts';
import { silentLogger } from '../lib/logger.ts';
import { cryptoRandom } from '../privacy/random.ts';
import { parseJobSpec } from '../protocol/job/spec.ts';
import { thrownTesseraError } from './support/thrown.ts';

const root = mkdtempSync(join(tmpdir(), 'tessera-draws-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const budget = (jobId: string) => ({ jobId, epsilon: 10, delta: 1e-5, placement: 'distributed' as const, trustedCoordinator: false, accountant: 'rdp' as const, conversion: 'improved' as const, underfillFraction: 0.1 });

function clients(n: number): ConnectedClient[] {
  return Array.from({ length: n }, (_, i) => ({ clientId: `c${String(i).padStart(2, '0')}`, orgId: `org-${String(i).padStart(2, '0')}`, examples: 100, connectedAt: 0 }));
}

describe('ledger_draws', () => {
  it('one draw per round; a second only after a short draw and with a larger attempt; append-only, even through raw SQL', () => {
    const db = openDatabase(join(root, 'store'));
    try {
      setJobBudget(db, budget('j'));
      const draw = { jobId: 'j', round: 1, attempt: 1, eligibleOrgIds: ['a', 'b', 'c'], selectedOrgIds: ['b'], short: false };
      recordDraw(db, draw);
      expect(latestDraw(db, 'j', 1)).toEqual(draw);
      const redraw = thrownTesseraError(() => recordDraw(db, { ...draw, attempt: 2, selectedOrgIds: ['a', 'c'] }));
      expect(redraw.code).toBe('TESSERA_ERR_LEDGER');
      expect(redraw.message).toMatch(/drawn again only after a short draw/);
      expect(() => db.prepare(`INSERT INTO ledger_draws VALUES ('j', 1, 7, '[]', '["a"]', 0, 't')`).run()).toThrow(/drawn again only after a short draw/);
      expect(() => db.prepare(`UPDATE ledger_draws SET selected = '["a"]'`).run()).toThrow(/append-only/);
      expect(() => db.prepare('DELETE FROM ledger_draws').run()).toThrow(/append-only/);
      // Round 2 came out short: it may be drawn again, with a larger attempt only.
      recordDraw(db, { ...draw, round: 2, selectedOrgIds: [], short: true });
      expect(thrownTesseraError(() => recordDraw(db, { ...draw, round: 2, attempt: 1 })).code).toBe('TESSERA_ERR_LEDGER');
      recordDraw(db, { ...draw, round: 2, attempt: 2 });
      expect(latestDraw(db, 'j', 2)).toMatchObject({ attempt: 2, short: false });
      expect(jobDraws(db, 'j').map((d) => [d.round, d.attempt])).toEqual([[1, 1], [2, 1], [2, 2]]);
    } finally {
      db.close();
    }
  });
});

describe('the DP feature after a restart', () => {
  const spec = parseJobSpec({
    name: 'draws',
    model: { kind: 'logistic', inputs: 4, classes: 2 },
    data: { dataset: 'adult' },
    rounds: 3,
    minClients: 2,
    sampling: { mode: 'poisson', rate: 0.5 },
    dp: { enabled: true, epsilon: 10, noiseMultiplier: 3 },
  });

  /** One "process": a fresh DP feature on the state, up to its draw of round 1 (nothing charged). */
  function drawRound1(dir: string, present: readonly ConnectedClient[], draw: (attempt: number) => Selection<ConnectedClient>): { selected: readonly ConnectedClient[]; drawn: readonly string[] | undefined } {
    const db = openDatabase(dir);
    try {
      const h = dpFeature({ jobId: 'draws-job', spec, logger: silentLogger(), rng: cryptoRandom(), db })?.hooks;
      if (!h?.eligible || !h.beforeRound || !h.drawSample) throw new Error('the DP feature lacks a round hook');
      const { eligible } = h.eligible(present, 1);
      const decision = h.beforeRound(1, eligible);
      if (!decision.proceed) throw new Error(decision.message);
      const { selected } = h.drawSample(1, 1, eligible, draw);
      return { selected, drawn: latestDraw(db, 'draws-job', 1)?.selectedOrgIds };
    } finally {
      db.close();
    }
  }

  it('reuses the recorded sample, never draws again, and leaves out an absent organisation instead of replacing it', () => {
    const dir = join(root, 'reuse');
    const all = clients(40);
    const first = drawRound1(dir, all, () => selectClients(spec.sampling, all, cryptoRandom()));
    expect(first.drawn).toEqual(first.selected.map((c) => c.orgId));
    expect(first.selected.length).toBeGreaterThanOrEqual(2);
    // The restart: the first organisation of the sample has not reconnected; the loop's draw must not be used.
    const missing = first.selected[0]?.orgId;
    const present = all.filter((c) => c.orgId !== missing);
    let drawsAfterRestart = 0;
    const second = drawRound1(dir, present, () => {
      drawsAfterRestart++;
      return { selected: [...present], expected: present.length };
    });
    expect(drawsAfterRestart).toBe(0);
    expect(second.selected.map((c) => c.orgId)).toEqual(first.selected.map((c) => c.orgId).filter((o) => o !== missing));
    expect(second.drawn).toEqual(first.drawn);
  });

  it('after a short draw a resumed job draws the round again, from the next attempt', () => {
    const dir = join(root, 'short');
    const all = clients(40);
    const attempts: number[] = [];
    const short = drawRound1(dir, all, (a) => {
      attempts.push(a);
      return { selected: all.slice(0, 1), expected: 20 };
    });
    expect(short.selected).toHaveLength(1);
    const again = drawRound1(dir, all, (a) => {
      attempts.push(a);
      return { selected: all.slice(0, 5), expected: 20 };
    });
    expect(attempts).toEqual([1, 2]);
    expect(again.drawn).toEqual(all.slice(0, 5).map((c) => c.orgId));
  });
});
