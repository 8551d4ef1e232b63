import { describe, expect, it } from 'vitest';
import { epsilonFor } from '../../privacy/accountant/index.ts';
import { decideRound, eligibleOrgs, groupRounds, withRound } from './decide.ts';

const next = { samplingRate: 0.05, noiseMultiplier: 1.1 };
const terms = { delta: 1e-5 };

describe('decideRound', () => {
  it('ε after = the accountant for all rounds so far plus one (composition, not a sum of per-round ε)', () => {
    const charged = groupRounds(Array.from({ length: 9 }, () => next));
    const d = decideRound({ budget: { epsilon: 100, ...terms }, charged, next });
    expect(d.epsilonAfter).toBe(epsilonFor({ ...next, steps: 10, delta: 1e-5 }).epsilon);
    expect(d.epsilonBefore).toBe(epsilonFor({ ...next, steps: 9, delta: 1e-5 }).epsilon);
    expect(d.epsilonAfter).toBeLessThan(10 * epsilonFor({ ...next, steps: 1, delta: 1e-5 }).epsilon);
  });

  it('allows a round that lands exactly on the budget and refuses one just above it', () => {
    const charged = groupRounds([next, next]);
    const exact = epsilonFor({ ...next, steps: 3, delta: 1e-5 }).epsilon;
    expect(decideRound({ budget: { epsilon: exact, ...terms }, charged, next }).allowed).toBe(true);
    const refused = decideRound({ budget: { epsilon: exact * (1 - 1e-12), ...terms }, charged, next });
    expect(refused.allowed).toBe(false);
    expect(refused.reason).toMatch(/above the budget/);
  });

  it('composes rounds with different σ', () => {
    const charged = groupRounds([next, { samplingRate: 0.05, noiseMultiplier: 2 }]);
    expect(charged).toHaveLength(2);
    const d = decideRound({ budget: { epsilon: 100, ...terms }, charged, next });
    const onlySame = epsilonFor({ ...next, steps: 2, delta: 1e-5 }).epsilon;
    expect(d.epsilonAfter).toBeGreaterThan(onlySame);
    expect(d.epsilonAfter).toBeLessThan(epsilonFor({ ...next, steps: 3, delta: 1e-5 }).epsilon);
  });
});

describe('eligibleOrgs', () => {
  it('excludes exactly the organisations whose cap the next round would exceed', () => {
    const tenRounds = groupRounds(Array.from({ length: 10 }, () => next));
    const after11 = epsilonFor({ ...next, steps: 11, delta: 1e-5 }).epsilon;
    const r = eligibleOrgs({
      orgs: [
        { orgId: 'a', charged: tenRounds },
        { orgId: 'b', charged: tenRounds, cap: after11 },
        { orgId: 'c', charged: tenRounds, cap: after11 * 0.999 },
        { orgId: 'd', charged: [], cap: after11 * 0.999 }, // newly eligible: only one round on it
      ],
      next,
      terms,
    });
    expect(r.eligible.map((o) => o.orgId)).toEqual(['a', 'b', 'd']);
    expect(r.excluded.map((o) => o.orgId)).toEqual(['c']);
    expect(r.eligible.find((o) => o.orgId === 'd')?.epsilonAfter).toBe(epsilonFor({ ...next, steps: 1, delta: 1e-5 }).epsilon);
  });

  it('withRound does not mutate its input', () => {
    const g = groupRounds([next]);
    withRound(g, next);
    expect(g[0]?.steps).toBe(1);
  });
});
