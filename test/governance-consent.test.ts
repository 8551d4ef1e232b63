/**
 * Consent end to end against a real state database: revoked or expired consent is not eligible (and so
 * never sampled), revocation takes effect from the next eligibility query, and a client's local decline is
 * audited in the hash-chained log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { eligibleOrganisations, grantConsent, listConsents, revokeConsent } from '../governance/consent/store.ts';
import { localConsentDecision } from '../governance/consent/local-consent.ts';
import { AUDIT_ACTIONS } from '../governance/audit/actions.ts';
import { appendAudit, readAuditEntries } from '../governance/audit/log.ts';
import { verifyAuditLog } from '../governance/audit/verify.ts';
import { selectClients } from '../coordinator/sampling.ts';
import { cryptoRandom } from '../privacy/random.ts';
import { tempStateDir } from './governance-fixtures.ts';

const HOSPITALS = ['cleveland', 'hungarian', 'switzerland', 'va'];
const T0 = new Date('2025-03-01T00:00:00Z');
let state: { dir: string; cleanup: () => void };
let db: Db;

beforeAll(() => {
  state = tempStateDir();
  db = openDatabase(state.dir);
  for (const org of HOSPITALS) {
    grantConsent(db, {
      organisation: org,
      dataset: 'heart',
      purposes: ['cardiology-research'],
      expiresAt: org === 'switzerland' ? '2025-04-01' : '2026-03-01',
      maxEpsilon: 4,
      retentionDays: 365,
      actor: 'cli:privacy-officer',
      at: T0,
    });
  }
});

afterAll(() => {
  db.close();
  state.cleanup();
});

describe('consent and sampling', () => {
  it('excludes an organisation with revoked or expired consent from every round', () => {
    const query = { purpose: 'cardiology-research', epsilonNeeded: 3, dataset: 'heart' };
    expect(eligibleOrganisations(db, { ...query, at: new Date('2025-03-15T00:00:00Z') }).eligible).toEqual(HOSPITALS.slice().sort());

    revokeConsent(db, { organisation: 'hungarian', reason: 'ethics board withdrew approval', actor: 'cli:privacy-officer', at: new Date('2025-03-20T00:00:00Z') });
    // The next round's query (after expiry of switzerland's consent on 2025-04-01).
    const next = eligibleOrganisations(db, { ...query, at: new Date('2025-04-02T00:00:00Z') });
    expect(next.eligible).toEqual(['cleveland', 'va']);
    expect(next.excluded.map((e) => `${e.organisation}:${e.code}`)).toEqual(['hungarian:CONSENT_REVOKED', 'switzerland:CONSENT_EXPIRED']);

    // Sampling all eligible clients (rate 1) many times never picks an excluded organisation.
    const clients = HOSPITALS.map((orgId, i) => ({ clientId: `c${i}`, orgId }));
    const rng = cryptoRandom();
    const allowed = new Set(next.eligible);
    for (let round = 0; round < 50; round++) {
      const { selected } = selectClients({ mode: 'poisson', rate: 0.9 }, clients.filter((c) => allowed.has(c.orgId)), rng);
      for (const c of selected) expect(allowed.has(c.orgId)).toBe(true);
    }
    expect(readAuditEntries(db, { action: AUDIT_ACTIONS.consentRevoked })[0]).toMatchObject({ subject: 'hungarian', details: { reason: 'ethics board withdrew approval', dataset: 'heart' } });
    expect(listConsents(db).find((c) => c.organisation === 'hungarian')?.revokedAt).toBe('2025-03-20T00:00:00.000Z');
  });

  it('does not make a job with a larger ε or another purpose eligible', () => {
    const at = new Date('2025-03-15T00:00:00Z');
    expect(eligibleOrganisations(db, { purpose: 'cardiology-research', epsilonNeeded: 5, at }).eligible).toEqual([]);
    expect(eligibleOrganisations(db, { purpose: 'marketing', epsilonNeeded: 1, at }).excluded.every((e) => e.code === 'CONSENT_PURPOSE' || e.code === 'CONSENT_REVOKED')).toBe(true);
  });

  it('audits a client declining a job its local consent does not cover', () => {
    const local = { organisation: 'va', consents: [{ dataset: 'heart', purposes: ['cardiology-research'], expiresAt: '2026-03-01', maxEpsilon: 4, retentionDays: 365 }] };
    const job = { purpose: 'insurance-pricing', data: { dataset: 'heart' as const }, dp: { enabled: true, epsilon: 2, placement: 'distributed' as const, clipNorm: 1, noiseMultiplier: 1, delta: 1e-5, trustedCoordinator: false } };
    const decision = localConsentDecision(local, job, { at: new Date('2025-03-15T00:00:00Z'), epsilon: 2 });
    expect(decision.accept).toBe(false);
    if (decision.accept) return;
    // What the coordinator records when the decline arrives (the round loop calls appendAudit the same way).
    appendAudit(db, { actor: 'client:va-1', action: AUDIT_ACTIONS.clientDeclined, subject: 'job-7/1', details: { organisation: 'va', code: decision.code, reason: decision.reason } });
    const entry = readAuditEntries(db, { action: AUDIT_ACTIONS.clientDeclined })[0];
    expect(entry?.details).toMatchObject({ organisation: 'va', code: 'CONSENT_PURPOSE' });
    expect(verifyAuditLog(db).ok).toBe(true);
  });
});
