/**
 * One δ split for the three places that turn (q, σ, rounds, δ) into ε (issue 11, closing note of stop 22): the
 * σ `tessera privacy plan` gives for a budget (ε, δ) is exactly the σ with which the LEDGER's charges and the
 * CLIENT's recomputation reach that ε — all three convert at δ_acc = (1 − f)·δ through
 * privacy/dp/underfill.ts `accountedDelta`. Before, plan converted at the full δ: a job planned at ε = 5 ran out
 * of budget before its last round (the ledger, at 0.9·δ, charged more) and a client whose cap was the planned ε
 * declined it.
 *
 * Real CLI processes for plan and epsilon, the real ledger (chargeRound on an in-memory SQLite database with the
 * state migrations and triggers), the real client recomputation (client/policy/epsilon.ts).
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { recomputeJobEpsilon } from '../client/policy/epsilon.ts';
import { chargeRound, setJobBudget } from '../governance/ledger/index.ts';
import { migrate } from '../governance/state/database.ts';
import { DEFAULT_UNDERFILL_DELTA_FRACTION } from '../privacy/dp/config.ts';
import { cli } from './support/cli.ts';
import { logisticJob } from './support/federation-fixtures.ts';

const DELTA = 1e-5;
const Plan = z.strictObject({ noiseMultiplier: z.number(), epsilon: z.number(), delta: z.number(), accountedDelta: z.number() });
const Eps = z.object({ epsilon: z.number(), delta: z.number(), accountedDelta: z.number() });

/** ε after each round as the ledger charges it; null from the first round it refuses (budget). */
function ledgerEpsilons(o: { q: number; sigma: number; rounds: number; f: number; budget: number }): Array<number | null> {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  migrate(db);
  setJobBudget(db, { jobId: 'j', epsilon: o.budget, delta: DELTA, placement: 'distributed', trustedCoordinator: false, accountant: 'rdp', conversion: 'improved', underfillFraction: o.f });
  const out: Array<number | null> = [];
  for (let round = 1; round <= o.rounds; round++) {
    try {
      db.transaction(() => out.push(chargeRound(db, { jobId: 'j', round, samplingRate: o.q, noiseMultiplier: o.sigma, clipNorm: 1, eligibleOrgIds: ['a', 'b', 'c', 'd'], participants: 4 }).epsilonAfter)).immediate();
    } catch {
      out.push(null);
      break;
    }
  }
  db.close();
  return out;
}

const job = (o: { q: number; sigma: number; rounds: number; f?: number; budget: number }) =>
  logisticJob({
    rounds: o.rounds,
    minClients: 1,
    sampling: { mode: 'poisson', rate: o.q },
    secagg: { enabled: true, threatModel: 'semi-malicious', consistencyCheck: true, weighting: 'uniform' },
    dp: { enabled: true, epsilon: o.budget, noiseMultiplier: o.sigma, clipNorm: 1, delta: DELTA, ...(o.f === undefined ? {} : { underfillDeltaFraction: o.f }) },
  });

describe('privacy plan, the ledger and the client convert ε at the same δ', () => {
  it.each([
    { label: 'the default reserve', f: undefined, flags: [] as string[] },
    { label: 'a declared reserve f = 0.3', f: 0.3, flags: ['--underfill-delta-fraction', '0.3'] },
  ])('$label: the planned σ reaches the budget exactly in the ledger and in the client', async ({ f, flags }) => {
    const target = 5;
    const q = 0.5;
    const rounds = 3;
    const planned = await cli('privacy', 'plan', '--epsilon', String(target), '--delta', String(DELTA), '--sampling-rate', String(q), '--steps', String(rounds), ...flags, '--json');
    expect(planned.code, planned.stderr).toBe(0);
    const p = Plan.parse(JSON.parse(planned.stdout));
    const fraction = f ?? DEFAULT_UNDERFILL_DELTA_FRACTION;
    expect(p.accountedDelta).toBeCloseTo(DELTA * (1 - fraction), 15);
    expect(p.epsilon).toBeLessThanOrEqual(target);

    const ledger = ledgerEpsilons({ q, sigma: p.noiseMultiplier, rounds, f: fraction, budget: target });
    const client = recomputeJobEpsilon(job({ q, sigma: p.noiseMultiplier, rounds, budget: target, ...(f === undefined ? {} : { f }) }), { centralTrusted: false }).epsilon;
    // All three agree to the last bit the accountant computes (same function, same δ).
    expect(ledger.at(-1)).toBe(p.epsilon);
    expect(client).toBe(p.epsilon);
    const back = await cli('privacy', 'epsilon', '--sampling-rate', String(q), '--noise-multiplier', String(p.noiseMultiplier), '--steps', String(rounds), '--delta', String(DELTA), ...flags, '--json');
    expect(Eps.parse(JSON.parse(back.stdout)).epsilon).toBe(p.epsilon);

    // The plan is tight: a σ a hair smaller would take the ledger past the budget at the last round.
    expect(ledgerEpsilons({ q, sigma: p.noiseMultiplier * (1 - 1e-6), rounds, f: fraction, budget: target }).at(-1)).toBeNull();
    // What the old plan (at the full δ) gave: the ledger refuses its last round.
    const atFullDelta = await cli('privacy', 'plan', '--epsilon', String(target), '--delta', String(DELTA), '--sampling-rate', String(q), '--steps', String(rounds), '--underfill-delta-fraction', '0', '--json');
    const old = Plan.parse(JSON.parse(atFullDelta.stdout));
    expect(old.noiseMultiplier).toBeLessThan(p.noiseMultiplier);
    expect(ledgerEpsilons({ q, sigma: old.noiseMultiplier, rounds, f: fraction, budget: target }).at(-1)).toBeNull();
  }, 60_000);
});
