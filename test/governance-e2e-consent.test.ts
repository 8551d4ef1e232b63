/**
 * Coordinator-side consent in a real job (Heart, four hospitals, in-memory transport, a state directory):
 * the job requires consent and runs with DP (a consent caps ε, so only a DP job can be covered). Switzerland's
 * consent was revoked and VA's has expired: neither is ever sampled, each exclusion is in the round record
 * with its code and audited as `client.excluded`. Hungarian's consent is revoked while the job runs, after
 * round 1: it trains in round 1 and is excluded from round 2 on (revocation applies from the next round).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUDIT_ACTIONS } from '../governance/audit/actions.ts';
import { readAuditEntries } from '../governance/audit/log.ts';
import { grantConsent, revokeConsent } from '../governance/consent/store.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { silentLogger } from '../lib/logger.ts';
import { runSimulation, type SimulationResult } from '../simulations/simulate.ts';
import { tempStateDir } from './governance-fixtures.ts';
import { SHARED_DATA_DIR } from './paths.ts';

const PURPOSE = 'cardiology-research';
let state: { dir: string; cleanup: () => void };
let db: Db;
let sim: SimulationResult;

beforeAll(async () => {
  state = tempStateDir('tessera-e2e-consent-');
  db = openDatabase(state.dir);
  const past = new Date('2025-01-01T00:00:00Z');
  const grant = (organisation: string, expiresAt: string, at?: Date): void => {
    grantConsent(db, { organisation, dataset: 'heart', purposes: [PURPOSE], expiresAt, maxEpsilon: 5, retentionDays: 365, actor: 'cli:officer', ...(at ? { at } : {}) });
  };
  grant('cleveland', '2099-01-01');
  grant('hungarian', '2099-01-01');
  grant('switzerland', '2099-01-01');
  revokeConsent(db, { organisation: 'switzerland', reason: 'ethics board withdrew approval', actor: 'cli:officer' });
  grant('switzerland', '2099-01-01'); // and granted again: a re-grant after a revocation is in force
  grant('va', '2025-06-01', past); // granted in the past, expired since
  sim = await runSimulation(
    {
      dataset: 'heart',
      dataDir: SHARED_DATA_DIR,
      rounds: 3,
      samplingRate: 1,
      stateDir: state.dir,
      // Without the contract check every hospital would train if sampled: only consent keeps one out. (A DP round
      // needs at least two eligible organisations: with one, whether the round runs reveals it — issue 11.)
      checkContract: false,
      seededNoise: true,
      job: { name: 'heart-consent', purpose: PURPOSE, consent: { required: true }, dp: { enabled: true, epsilon: 4, noiseMultiplier: 6 } },
    },
    {
      logger: silentLogger(),
      onRound: (r) => {
        if (r.round === 1) revokeConsent(db, { organisation: 'hungarian', reason: 'patient council objection', actor: 'cli:officer' });
      },
    },
  );
}, 120_000);

afterAll(() => {
  db?.close();
  state?.cleanup();
});

describe('consent in the round loop', () => {
  it('never samples an organisation whose consent is revoked or expired; a revocation applies from the next round', () => {
    expect(sim.result.status).toBe('completed');
    expect(sim.result.rounds.map((r) => r.participantOrgs)).toEqual([['cleveland', 'hungarian', 'switzerland'], ['cleveland', 'switzerland'], ['cleveland', 'switzerland']]);
    const codes = sim.result.rounds.map((r) => r.declined.map((d) => `${d.orgId}:${d.code}`).sort());
    expect(codes).toEqual([
      ['va:CONSENT_EXPIRED'],
      ['hungarian:CONSENT_REVOKED', 'va:CONSENT_EXPIRED'],
      ['hungarian:CONSENT_REVOKED', 'va:CONSENT_EXPIRED'],
    ]);
    expect(sim.registered?.name).toBe('heart-consent');
  });

  it('audits each exclusion with its reason, and charges ε per committed round', () => {
    const jobId = sim.result.jobId;
    const excluded = readAuditEntries(db, { action: AUDIT_ACTIONS.clientExcluded }).filter((e) => e.subject.startsWith(`${jobId}/`));
    expect(excluded.map((e) => `${e.subject.slice(jobId.length + 1)}:${(e.details as { organisation: string }).organisation}`).sort()).toEqual(
      ['1:va', '2:hungarian', '2:va', '3:hungarian', '3:va'],
    );
    const hungarian = excluded.find((e) => (e.details as { organisation: string }).organisation === 'hungarian');
    expect(hungarian?.details).toMatchObject({ stage: 'consent', code: 'CONSENT_REVOKED' });
    expect((hungarian?.details as { reason: string }).reason).toContain('patient council objection');
    // Consent exclusions are not also logged as client declines.
    expect(readAuditEntries(db, { action: AUDIT_ACTIONS.clientDeclined }).filter((e) => e.subject.startsWith(`${jobId}/`))).toEqual([]);
    const committed = readAuditEntries(db, { action: AUDIT_ACTIONS.roundCommitted }).filter((e) => e.subject.startsWith(`${jobId}/`));
    const charges = committed.map((e) => (e.details as { epsilonCharge: number }).epsilonCharge);
    expect(charges).toHaveLength(3);
    for (const c of charges) expect(c).toBeGreaterThan(0);
    const spent = (committed.at(-1)?.details as { epsilonSpent: number }).epsilonSpent;
    expect(charges.reduce((a, b) => a + b, 0)).toBeCloseTo(spent, 9);
    expect(spent).toBeLessThanOrEqual(4);
  });
});
