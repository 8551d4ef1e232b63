/**
 * Review attack (issue 10 §1 × issue 11 §1): can a coordinator make the ε a client node RECOMPUTES differ from
 * the ε of the mechanism that runs? The coordinator's ledger converts RDP at δ_acc = (1 − f)·δ, f =
 * `dp.underfillDeltaFraction` (privacy/dp/underfill.ts: the rest of δ pays for short rounds), while the client
 * node recomputed ε at the full δ. The spec's f is the coordinator's choice (any value in (0, 1)): with f close
 * to 1 the client's figure is well below the ε the ledger charges for the same (q, σ, rounds, δ), so a job above
 * the organisation's `dp.maxEpsilon` passed its check.
 *
 * The attack: a spec with f = 0.999 whose ledger ε is above the default cap (10) but whose ε at the full δ is
 * below it. Against the REAL ledger (in-memory SQLite, the same setJobBudget/chargeRound calls the coordinator's
 * DP feature makes at its release gate) and the REAL policy rules (evaluatePolicy with the default policy).
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { recomputeJobEpsilon } from '../client/policy/epsilon.ts';
import { evaluatePolicy } from '../client/policy/rules.ts';
import { DEFAULT_CLIENT_POLICY } from '../client/policy/schema.ts';
import { chargeRound, setJobBudget } from '../governance/ledger/index.ts';
import { migrate } from '../governance/state/database.ts';
import { memoryParticipationRecord } from '../client/policy/participation.ts';
import { logisticJob } from './support/federation-fixtures.ts';

const ROUNDS = 2;
const SIGMA = 0.85;
const DELTA = 1e-5;

/** ε after every round of the job, as the coordinator's ledger charges it. */
function ledgerEpsilon(f: number): number {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  migrate(db);
  setJobBudget(db, { jobId: 'j', epsilon: 1e6, delta: DELTA, placement: 'distributed', trustedCoordinator: false, accountant: 'rdp', conversion: 'improved', underfillFraction: f });
  let eps = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    db.transaction(() => {
      eps = chargeRound(db, { jobId: 'j', round, samplingRate: 1, noiseMultiplier: SIGMA, clipNorm: 1, eligibleOrgIds: ['a', 'b', 'c'], participants: 3 }).epsilonAfter;
    }).immediate();
  }
  db.close();
  return eps;
}

const spec = (f: number) =>
  logisticJob({
    rounds: ROUNDS,
    minClients: 3,
    sampling: { mode: 'poisson', rate: 1 },
    secagg: { enabled: true, threatModel: 'semi-malicious', consistencyCheck: true, weighting: 'uniform' },
    dp: { enabled: true, epsilon: 1e6, noiseMultiplier: SIGMA, clipNorm: 1, delta: DELTA, underfillDeltaFraction: f },
  });

describe('the client recomputes the ε the ledger charges, whatever δ reserve the spec declares', () => {
  // Was a gap (the client converted at the full δ, the ledger at (1 − f)·δ); fixed in client/policy/epsilon.ts.
  it('f = 0.999: the client ε equals the ledger ε, and a job above the default cap is declined', () => {
    const f = 0.999;
    const ledger = ledgerEpsilon(f);
    const client = recomputeJobEpsilon(spec(f), { centralTrusted: false }).epsilon;
    // The attack's premise: at the full δ this job would pass the default cap of 10; the ledger charges more.
    expect(ledgerEpsilon(1e-9)).toBeLessThan(DEFAULT_CLIENT_POLICY.dp.maxEpsilon);
    expect(ledger).toBeGreaterThan(DEFAULT_CLIENT_POLICY.dp.maxEpsilon);
    expect(client).toBeCloseTo(ledger, 6);
    const e = evaluatePolicy(DEFAULT_CLIENT_POLICY, spec(f), { task: 'train', round: 1, jobId: 'j', record: memoryParticipationRecord() });
    expect(e.violations.map((v) => v.rule)).toContain('dp.maxEpsilon');
  });

  it('the default reserve (f = 0.1): client and ledger agree too', () => {
    expect(recomputeJobEpsilon(spec(0.1), { centralTrusted: false }).epsilon).toBeCloseTo(ledgerEpsilon(0.1), 6);
  });
});
