/**
 * The ledger's ε against the TRUE ε of the mechanism that runs (issue 11 §1, §7), computed independently by a
 * privacy-loss-distribution accountant (test/support/pld.ts: FFT composition with pessimistic/optimistic
 * discretisation — a different method from the ledger's RDP).
 *
 * ATTACK (the old round loop): re-sampling a round until |S| ≥ m makes an organisation's inclusion probability
 * q' = P(j ∈ S | |S| ≥ m) = q·P(Bin(N−1, q) ≥ m − 1)/P(Bin(N, q) ≥ m) > q, while the ledger charged q. An
 * OPTIMISTIC PLD (a lower bound on δ(ε), hence on ε) of just the released sums — a post-processing of everything
 * the mechanism reveals — already exceeds the ledger's ε in both retry cases of the issue. The round loop now
 * refuses both jobs (a DP round is never re-sampled, and these populations are short far too often).
 *
 * The mechanism that now runs (no re-sampling; a short round releases ⊥ and ends the job) for a job the ledger
 * admits: per round, under add/remove of organisation j, P (j present) releases ⊥ with probability
 * (1 − q)·P(Bin(N−1, q) < m) + q·P(Bin(N−1, q) < m − 1) and otherwise the Gaussian mixture with inclusion
 * probability P(j ∈ S | |S| ≥ m); Q (j absent) releases ⊥ with probability P(Bin(N−1, q) < m), else N(0, σ²).
 * Continuing after ⊥ only reveals more, so T independent such rounds bound the stopping mechanism. The
 * PESSIMISTIC PLD (an upper bound on the true ε) in both directions stays below the ε the ledger charges.
 */
import { describe, expect, it } from 'vitest';
import { dpFeature } from '../coordinator/features/dp.ts';
import type { ConnectedClient } from '../coordinator/federation.ts';
import { silentLogger } from '../lib/logger.ts';
import { epsilonFor } from '../privacy/accountant/index.ts';
import { DEFAULT_UNDERFILL_DELTA_FRACTION } from '../privacy/dp/config.ts';
import { binomialBelow } from '../privacy/dp/underfill.ts';
import { seededRandom } from '../privacy/random.ts';
import { parseJobSpec } from '../protocol/job/spec.ts';
import { composedDelta, epsilonAt } from './support/pld.ts';

const DELTA = 1e-5;
/** What the ledger charges: RDP at (1 − f)·δ. */
const ledgerEpsilon = (q: number, sigma: number, rounds: number): number => epsilonFor({ samplingRate: q, noiseMultiplier: sigma, steps: rounds, delta: DELTA * (1 - DEFAULT_UNDERFILL_DELTA_FRACTION) }).epsilon;

function clients(n: number): ConnectedClient[] {
  return Array.from({ length: n }, (_, i) => ({ clientId: `c${i}`, orgId: `org-${i}`, examples: 100, connectedAt: 0 }));
}

/** The real DP feature's decision before round 1 of a job over `n` organisations (in-memory ledger: a seeded simulation). */
function firstRound(o: { n: number; q: number; m: number; sigma: number; rounds: number }) {
  const spec = parseJobSpec({
    model: { kind: 'logistic', inputs: 4, classes: 2 },
    data: { dataset: 'adult' },
    rounds: o.rounds,
    minClients: o.m,
    sampling: { mode: 'poisson', rate: o.q },
    dp: { enabled: true, epsilon: 1000, delta: DELTA, noiseMultiplier: o.sigma },
  });
  const feature = dpFeature({ jobId: `true-eps-${o.n}-${o.q}`, spec, logger: silentLogger(), rng: seededRandom('true-epsilon') });
  const hooks = feature?.hooks;
  if (!hooks?.beforeRound || !hooks.eligible) throw new Error('the DP feature has no eligibility or beforeRound hook');
  // As the round loop does: the eligibility pass first (it opens the round), then the decision.
  const { eligible } = hooks.eligible(clients(o.n), 1);
  const decision = hooks.beforeRound(1, eligible);
  hooks.onJobEnd?.({ jobId: 'x', status: 'stopped', message: '', rounds: [], weights: new Float32Array(0), final: { accuracy: null, loss: null } });
  return decision;
}

describe('true ε of the round loop, by an independent PLD accountant', () => {
  // The two retry cases of issue 11.
  it.each([
    { n: 10, q: 0.1, m: 1, sigma: 1, rounds: 50 },
    { n: 40, q: 0.1, m: 5, sigma: 2, rounds: 100 },
  ])('ATTACK N=$n q=$q m=$m σ=$sigma T=$rounds: re-sampling beats the ledger; the loop now refuses the job', (c) => {
    const inflated = (c.q * (1 - binomialBelow(c.n - 1, c.q, c.m - 1))) / (1 - binomialBelow(c.n, c.q, c.m));
    const trueLower = epsilonAt(composedDelta({ abortP: 0, abortQ: 0, pIn: inflated, qIn: 0, sigma: c.sigma }, c.rounds, 'optimistic'), DELTA);
    const charged = epsilonFor({ samplingRate: c.q, noiseMultiplier: c.sigma, steps: c.rounds, delta: DELTA }).epsilon;
    expect(trueLower).toBeGreaterThan(charged * 1.3);
    const decision = firstRound(c);
    expect(decision.proceed).toBe(false);
    if (!decision.proceed) expect(decision.message).toMatch(/TESSERA_ERR_DP_CONFIG.*short/);
  }, 60_000);

  it('an admitted job (N=40, q=0.5, m=1, σ=2, T=12): the true ε of the mechanism that runs is below the ledger’s', () => {
    const c = { n: 40, q: 0.5, m: 1, sigma: 2, rounds: 12 };
    const admitted = firstRound(c);
    expect(admitted.proceed, admitted.proceed ? '' : admitted.message).toBe(true);
    const below = (k: number): number => binomialBelow(c.n - 1, c.q, k);
    const abortP = (1 - c.q) * below(c.m) + c.q * below(c.m - 1);
    const abortQ = below(c.m);
    const pIn = (c.q * (1 - below(c.m - 1))) / (1 - abortP);
    const add = epsilonAt(composedDelta({ abortP, abortQ, pIn, qIn: 0, sigma: c.sigma }, c.rounds, 'pessimistic'), DELTA);
    const remove = epsilonAt(composedDelta({ abortP: abortQ, abortQ: abortP, pIn: 0, qIn: pIn, sigma: c.sigma }, c.rounds, 'pessimistic'), DELTA);
    const charged = ledgerEpsilon(c.q, c.sigma, c.rounds);
    expect(Math.max(add, remove)).toBeLessThanOrEqual(charged);
  }, 60_000);
});
