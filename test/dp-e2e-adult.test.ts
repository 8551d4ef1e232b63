/**
 * Differential privacy end to end (issue 4 "done when"): Adult, 1000 clients, distributed placement, Poisson
 * sampling, through `runSimulation` (in-memory transport, the same round code as a deployment) with a state
 * directory. The job records one ledger row per committed round, stops with status 'budget-exhausted' exactly
 * when the next round would exceed ε, and its final ε is the accountant's answer for the rounds run. Further
 * cases: central placement (with the throw-away in-memory ledger), central placement without a trusted
 * coordinator refused at every layer, and organisations over their caps never sampled.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../lib/logger.ts';
import { chargedRounds, getJobBudget, orgSpend, setJobBudget, setOrgCap } from '../governance/ledger/index.ts';
import { openDatabase } from '../governance/state/database.ts';
import { roundRecords } from '../coordinator/state/job-store.ts';
import { dpFeature } from '../coordinator/features/dp.ts';
import { dpClientMod } from '../client/mods/dp.ts';
import { epsilonFor } from '../privacy/accountant/index.ts';
import { DEFAULT_UNDERFILL_DELTA_FRACTION } from '../privacy/dp/config.ts';
import { seededRandom } from '../privacy/random.ts';
import { TesseraError } from '../protocol/errors.ts';
import { parseJobSpec, type JobSpec } from '../protocol/job/spec.ts';
import type { TrainTask } from '../protocol/messages.ts';
import { encodeFloat32 } from '../protocol/tensor.ts';
import { runSimulation } from '../simulations/simulate.ts';
import { SHARED_DATA_DIR } from './paths.ts';
import { slotOf } from './support/slots.ts';

const dirs: string[] = [];
const tempState = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'tessera-dp-e2e-'));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const DELTA = 1e-5;
// The ledger converts at (1 − f)·δ: the rest of δ pays for short rounds (privacy/dp/underfill.ts).
const eps = (q: number, sigma: number, steps: number): number => epsilonFor({ samplingRate: q, noiseMultiplier: sigma, steps, delta: DELTA * (1 - DEFAULT_UNDERFILL_DELTA_FRACTION) }).epsilon;
const training = { epochs: 1, batchSize: 32, learningRate: 0.1, optimizer: 'sgd' as const };

function jobIdOf(stateDir: string): string {
  const db = openDatabase(stateDir);
  try {
    return db.prepare('SELECT id FROM jobs').pluck().get() as string;
  } finally {
    db.close();
  }
}

describe('DP end to end on Adult', () => {
  it('1000 clients, distributed: one ledger row per round, stops exactly at the budget, final ε = accountant', async () => {
    const q = 0.05;
    const sigma = 1;
    const allowed = 5;
    // A budget strictly between ε after 5 and after 6 rounds: the 6th round must be refused.
    const budget = (eps(q, sigma, allowed) + eps(q, sigma, allowed + 1)) / 2;
    const stateDir = tempState();
    const sim = await runSimulation(
      {
        dataset: 'adult',
        dataDir: SHARED_DATA_DIR,
        clients: 1000,
        rounds: 50,
        samplingRate: q,
        checkContract: false,
        stateDir,
        job: { training, dp: { enabled: true, placement: 'distributed', epsilon: budget, delta: DELTA, noiseMultiplier: sigma, clipNorm: 1 } },
      },
      { logger: silentLogger() },
    );
    expect(sim.result.status).toBe('budget-exhausted');
    expect(sim.result.message).toMatch(/round 6 refused/);
    expect(sim.result.rounds.map((r) => r.round)).toEqual([1, 2, 3, 4, 5]);

    const jobId = jobIdOf(stateDir);
    const db = openDatabase(stateDir);
    try {
      const ledger = chargedRounds(db, jobId);
      const committed = roundRecords(db, jobId);
      expect(ledger.map((r) => r.round)).toEqual([1, 2, 3, 4, 5]);
      expect(committed.map((r) => r.round)).toEqual(ledger.map((r) => r.round));
      ledger.forEach((row, i) => {
        expect(row.epsilonAfter).toBe(eps(q, sigma, i + 1));
        expect(row).toMatchObject({ samplingRate: q, noiseMultiplier: sigma, clipNorm: 1, placement: 'distributed', eligible: 1000, delta: DELTA });
        // Sampling is seeded in a simulation: the ledger marks the rounds not private.
        expect(row.privateNoise).toBe(false);
        expect(row.participants).toBe(committed[i]?.participants);
      });
      expect(ledger.at(-1)?.epsilonAfter).toBe(eps(q, sigma, 5));
      expect(ledger.at(-1)?.epsilonAfter).toBeLessThanOrEqual(budget);
      expect(eps(q, sigma, 6)).toBeGreaterThan(budget);
      expect(getJobBudget(db, jobId)).toMatchObject({ epsilon: budget, placement: 'distributed', trustedCoordinator: false });
      // Every organisation was eligible in every round: its spend is the job's ε.
      const spend = orgSpend(db, { jobId });
      expect(spend).toHaveLength(1000);
      expect(new Set(spend.map((s) => s.epsilon))).toEqual(new Set([eps(q, sigma, 5)]));
      expect(db.prepare('SELECT status FROM jobs WHERE id = ?').pluck().get(jobId)).toBe('budget-exhausted');
    } finally {
      db.close();
    }
    for (const [i, r] of sim.result.rounds.entries()) {
      const privacy = slotOf(r, 'privacy');
      expect(privacy.epsilon).toBe(eps(q, sigma, i + 1));
      expect(privacy.participation).toMatchObject({ expected: q * 1000, actual: r.participants, population: 1000 });
      expect(privacy.clippedFraction).not.toBeNull();
      // Distributed noise without secure aggregation: the coordinator sees each update with 1/√m of the noise.
      expect(privacy.againstCoordinator).toBe(false);
      // Poisson(q = 0.05, N = 1000): 50 ± 6.9; 6 standard deviations either way is a broken sampler.
      expect(Math.abs(r.participants - 50)).toBeLessThan(6 * Math.sqrt(1000 * q * (1 - q)));
    }
  }, 90_000);

  it('central placement with a trusted coordinator (in-memory ledger): ε per round from the accountant', async () => {
    const q = 0.5;
    const sigma = 2;
    const budget = (eps(q, sigma, 3) + eps(q, sigma, 4)) / 2;
    const sim = await runSimulation(
      {
        dataset: 'adult',
        dataDir: SHARED_DATA_DIR,
        clients: 40,
        rounds: 10,
        samplingRate: q,
        trainLimit: 4000,
        testLimit: 1000,
        checkContract: false,
        job: { training, dp: { enabled: true, placement: 'central', trustedCoordinator: true, epsilon: budget, delta: DELTA, noiseMultiplier: sigma, clipNorm: 1 } },
      },
      { logger: silentLogger() },
    );
    expect(sim.result.status).toBe('budget-exhausted');
    expect(sim.result.rounds.map((r) => slotOf(r, 'privacy').epsilon)).toEqual([1, 2, 3].map((t) => eps(q, sigma, t)));
    expect(sim.result.rounds.every((r) => slotOf(r, 'privacy').placement === 'central')).toBe(true);
  }, 60_000);

  it('distributed under secure aggregation with a pinned threshold: charged per round, and the guarantee holds against the coordinator', async () => {
    const q = 1;
    const sigma = 3;
    const budget = (eps(q, sigma, 2) + eps(q, sigma, 3)) / 2;
    const sim = await runSimulation(
      {
        dataset: 'adult',
        dataDir: SHARED_DATA_DIR,
        clients: 12,
        rounds: 10,
        samplingRate: q,
        minClients: 8,
        trainLimit: 3000,
        testLimit: 500,
        checkContract: false,
        job: { training, secagg: { enabled: true, degree: 11, threshold: 8, weighting: 'uniform' }, dp: { enabled: true, epsilon: budget, delta: DELTA, noiseMultiplier: sigma, clipNorm: 0.5 } },
      },
      { logger: silentLogger() },
    );
    expect(sim.result.status).toBe('budget-exhausted');
    expect(sim.result.rounds).toHaveLength(2);
    for (const [i, r] of sim.result.rounds.entries()) {
      expect(r.participants).toBe(12);
      expect(r.extra.privacy).toMatchObject({ epsilon: eps(q, sigma, i + 1), minSurvivors: 8, againstCoordinator: true });
      expect(r.extra.secagg).toMatchObject({ t: 8, survivors: 12 });
    }
  }, 60_000);

  it('refuses central placement without a trusted coordinator: job spec, coordinator feature, client mod', async () => {
    const dp = { enabled: true, placement: 'central', epsilon: 3, noiseMultiplier: 1 };
    await expect(runSimulation({ dataset: 'adult', dataDir: SHARED_DATA_DIR, clients: 5, rounds: 1, samplingRate: 0.5, trainLimit: 500, testLimit: 100, job: { dp } }, { logger: silentLogger() })).rejects.toThrow(
      /central placement requires trustedCoordinator/,
    );
    // A spec that slipped past the schema (hand-built) is still refused where it would act.
    const trusted = parseJobSpec({ model: { kind: 'logistic', inputs: 4, classes: 2 }, data: { dataset: 'adult' }, rounds: 1, sampling: { mode: 'poisson', rate: 0.5 }, dp: { ...dp, trustedCoordinator: true } });
    const untrusted: JobSpec = { ...trusted, dp: { ...trusted.dp, trustedCoordinator: false } };
    const refused = (f: () => unknown): TesseraError => {
      try {
        f();
      } catch (e) {
        if (e instanceof TesseraError) return e;
        throw e;
      }
      throw new Error('not refused');
    };
    const feature = refused(() => dpFeature({ jobId: 'j', spec: untrusted, logger: silentLogger(), rng: seededRandom(1) }));
    expect(feature.code).toBe('TESSERA_ERR_DP_CONFIG');
    expect(feature.message).toMatch(/trustedCoordinator/);
    const task: TrainTask = { type: 'train', jobId: 'j', round: 1, taskId: 't', job: untrusted, weights: encodeFloat32(new Float32Array(4)), deadlineMs: 1000 };
    const mod = dpClientMod({ rng: seededRandom(1) });
    const client = refused(() => mod.transformUpdate?.(new Float32Array(4), { task, clientId: 'c', orgId: 'o', logger: silentLogger() }));
    expect(client.code).toBe('TESSERA_ERR_DP_CONFIG');
    // Fixed-size sampling cannot be accounted by the Poisson accountant: refused at job start.
    await expect(runSimulation({ dataset: 'adult', dataDir: SHARED_DATA_DIR, clients: 5, rounds: 1, trainLimit: 500, testLimit: 100, job: { dp: { enabled: true, epsilon: 3, noiseMultiplier: 1 } } }, { logger: silentLogger() })).rejects.toMatchObject({
      code: 'TESSERA_ERR_DP_CONFIG',
    });
  }, 60_000);

  it("never raises a budget a privacy officer set in the ledger for the job", () => {
    const db = openDatabase(tempState());
    try {
      setJobBudget(db, { jobId: 'officer-job', epsilon: 1, delta: DELTA, placement: 'distributed', trustedCoordinator: false, accountant: 'rdp', conversion: 'improved' });
      const spec = parseJobSpec({ model: { kind: 'logistic', inputs: 4, classes: 2 }, data: { dataset: 'adult' }, rounds: 1, sampling: { mode: 'poisson', rate: 0.5 }, dp: { enabled: true, epsilon: 3, delta: DELTA, noiseMultiplier: 1 } });
      expect(dpFeature({ jobId: 'officer-job', spec, db, logger: silentLogger(), rng: seededRandom(1) })?.name).toBe('dp');
      expect(getJobBudget(db, 'officer-job')?.epsilon).toBe(1);
    } finally {
      db.close();
    }
  });

  it('never samples an organisation whose cap the next round would exceed', async () => {
    const q = 0.5;
    const sigma = 1;
    const stateDir = tempState();
    const db = openDatabase(stateDir);
    // org-01 may spend what two rounds cost; org-02 not even one round; the rest have no cap.
    setOrgCap(db, { orgId: 'org-01', maxEpsilon: eps(q, sigma, 2) });
    setOrgCap(db, { orgId: 'org-02', maxEpsilon: eps(q, sigma, 1) * 0.99 });
    db.close();
    const sim = await runSimulation(
      {
        dataset: 'adult',
        dataDir: SHARED_DATA_DIR,
        // 40 organisations: with 20 at q = 0.5 an empty round (probability 2e-6) is too likely for the δ reserve.
        clients: 40,
        rounds: 4,
        samplingRate: q,
        trainLimit: 4000,
        testLimit: 500,
        checkContract: false,
        stateDir,
        job: { training, dp: { enabled: true, epsilon: 1000, delta: DELTA, noiseMultiplier: sigma, clipNorm: 1 } },
      },
      { logger: silentLogger() },
    );
    expect(sim.result.status).toBe('completed');
    for (const r of sim.result.rounds) {
      const capped = r.declined.filter((d) => d.code === 'TESSERA_ERR_BUDGET_EXCEEDED').map((d) => d.orgId);
      expect(capped).toEqual(r.round <= 2 ? ['org-02'] : ['org-01', 'org-02']);
      expect(r.eligible).toBe(r.round <= 2 ? 39 : 38);
      expect(r.participantOrgs).not.toContain('org-02');
      if (r.round > 2) expect(r.participantOrgs).not.toContain('org-01');
      expect(slotOf(r, 'privacy').participation.population).toBe(r.eligible);
    }
    const jobId = jobIdOf(stateDir);
    const check = openDatabase(stateDir);
    try {
      const eligibleIn = (org: string): number[] => check.prepare('SELECT round FROM ledger_org_rounds WHERE job_id = ? AND org_id = ? ORDER BY round').pluck().all(jobId, org) as number[];
      expect(eligibleIn('org-01')).toEqual([1, 2]);
      expect(eligibleIn('org-02')).toEqual([]);
      expect(eligibleIn('org-03')).toEqual([1, 2, 3, 4]);
      const spend = orgSpend(check, { jobId, orgId: 'org-01' });
      expect(spend).toEqual([expect.objectContaining({ rounds: 2, epsilon: eps(q, sigma, 2) })]);
      expect(chargedRounds(check, jobId).map((r) => r.eligible)).toEqual([39, 39, 38, 38]);
    } finally {
      check.close();
    }
  }, 60_000);
});
