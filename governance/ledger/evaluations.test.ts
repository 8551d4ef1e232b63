/**
 * The ledger's charge for a noised evaluation release (ledger-006, evaluations.ts) on a real SQLite state: the
 * job's ε composes its training rounds and its releases exactly as the accountant does; a second charge of one
 * round, a charge above the budget or above an organisation's cap, and a hand-written row that would lower ε or
 * rewrite one are refused (by the code and by SQLite's triggers). Reference: the accountant's own answer
 * (privacy/accountant, Mironov 2017 Prop. 1 for the composition; Kairouz et al. 2021 Prop. 14 for one release).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { epsilonForRounds } from '../../privacy/accountant/index.ts';
import { evaluationReleaseParams, evaluationSensitivity } from '../../privacy/dp/evaluation-noise.ts';
import { type Db, openDatabase } from '../state/database.ts';
import { chargeEvaluation, chargedEvaluations, chargeRound, orgSpend, setJobBudget, setOrgCap } from './index.ts';
import { thrownCode } from '../../test/support/thrown.ts';

let dir: string;
let db: Db;
const orgs = ['org-a', 'org-b', 'org-c', 'org-d'];
const terms = { delta: 1e-5, accountant: 'rdp' as const, conversion: 'improved' as const };

// One release: W = 50, two classes, the baseline block (every noised release carries it), no fairness, z = 1.5, m = 3, four survivors.
const { l2, l1, dim } = evaluationSensitivity(50, { classes: 2, importance: 0, baseline: true, fairnessCells: 0, fairnessCellBound: 50 });
const plan = { noiseMultiplier: 1.5, maxExamples: 50, l2Sensitivity: l2, l1Sensitivity: l1, dim, minSurvivors: 3, clientVariance: (1.5 * l2) ** 2 / 3 };
const release = evaluationReleaseParams(plan, 4);

const codeOf = thrownCode;

const inTx = <T>(fn: () => T): T => db.transaction(fn)();

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-ledger-eval-'));
  db = openDatabase(dir);
  setJobBudget(db, { jobId: 'j', epsilon: 6, ...terms, placement: 'distributed', trustedCoordinator: false });
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('evaluation releases in the ledger', () => {
  it('composes training rounds and releases into the job ε the accountant gives, charged to every organisation in the sum', () => {
    inTx(() => chargeRound(db, { jobId: 'j', round: 1, samplingRate: 1, noiseMultiplier: 2, clipNorm: 1, eligibleOrgIds: orgs, participants: 4 }));
    const e = inTx(() => chargeEvaluation(db, { jobId: 'j', round: 1, orgIds: orgs.slice(0, 3), ddgauss: release }));
    const expected = epsilonForRounds([{ samplingRate: 1, noiseMultiplier: 2, steps: 1 }, { samplingRate: 1, noiseMultiplier: 1 / release.l2Scale, ddgauss: release, steps: 1 }], terms).epsilon;
    expect(e.epsilonAfter).toBeCloseTo(expected, 12);
    expect(chargedEvaluations(db, 'j').map((x) => [x.round, x.participants])).toEqual([[1, 3]]);
    // org-d was eligible for training but not in the evaluation sum: it is charged the training round only.
    const spend = new Map(orgSpend(db, { jobId: 'j' }).map((s) => [s.orgId, s]));
    expect(spend.get('org-a')?.epsilon).toBeCloseTo(expected, 12);
    expect(spend.get('org-a')?.rounds).toBe(2);
    expect(spend.get('org-d')?.rounds).toBe(1);
    expect(spend.get('org-d')?.epsilon).toBeLessThan(expected);
    // The next training round is charged on top of the release (ε never goes down).
    const r2 = inTx(() => chargeRound(db, { jobId: 'j', round: 2, samplingRate: 1, noiseMultiplier: 2, clipNorm: 1, eligibleOrgIds: orgs, participants: 4 }));
    expect(r2.epsilonAfter).toBeGreaterThan(e.epsilonAfter);
  });

  it('refuses a second charge of one round, a charge outside a transaction, above the budget or above a cap', () => {
    expect(codeOf(() => chargeEvaluation(db, { jobId: 'j', round: 1, orgIds: orgs, ddgauss: release }))).toBe('TESSERA_ERR_LEDGER');
    inTx(() => chargeEvaluation(db, { jobId: 'j', round: 1, orgIds: orgs, ddgauss: release }));
    expect(codeOf(() => inTx(() => chargeEvaluation(db, { jobId: 'j', round: 1, orgIds: orgs, ddgauss: release })))).toBe('TESSERA_ERR_LEDGER');
    // Within five more releases ε passes the budget of 6: that charge is refused.
    let refused: string | undefined;
    for (let r = 2; r <= 6 && refused === undefined; r++) refused = codeOf(() => inTx(() => chargeEvaluation(db, { jobId: 'j', round: r, orgIds: orgs, ddgauss: release })));
    expect(refused).toBe('TESSERA_ERR_BUDGET_EXCEEDED');
    setJobBudget(db, { jobId: 'k', epsilon: 100, ...terms, placement: 'distributed', trustedCoordinator: false });
    setOrgCap(db, { orgId: 'org-capped', maxEpsilon: 1 });
    expect(codeOf(() => inTx(() => chargeEvaluation(db, { jobId: 'k', round: 1, orgIds: ['org-a', 'org-capped'], ddgauss: release })))).toBe('TESSERA_ERR_BUDGET_EXCEEDED');
    // Rolled back: nothing of the refused charge stays.
    expect(chargedEvaluations(db, 'k')).toEqual([]);
  });

  it('its triggers refuse hand-written rows that lower ε, overspend or rewrite a charge', () => {
    inTx(() => chargeEvaluation(db, { jobId: 'j', round: 1, orgIds: orgs, ddgauss: release }));
    const insert = db.prepare("INSERT INTO ledger_evaluations (job_id, round, participants, noise_multiplier, ddgauss, epsilon_after, delta, private_noise, charged_at) VALUES ('j', ?, 4, 1, '{}', ?, 1e-5, 1, 't')");
    expect(() => insert.run(2, 0.001)).toThrow(/must not decrease/);
    expect(() => insert.run(2, 7)).toThrow(/exceed the job budget/);
    expect(() => db.prepare('UPDATE ledger_evaluations SET epsilon_after = 0').run()).toThrow(/append-only/);
    expect(() => db.prepare('DELETE FROM ledger_org_evaluations').run()).toThrow(/append-only/);
  });
});
