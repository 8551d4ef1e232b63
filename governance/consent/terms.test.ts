import { describe, expect, it } from 'vitest';
import { consentCovers, jobEpsilon, type ConsentTerms } from './terms.ts';
import { localConsentDecision } from './local-consent.ts';

const terms: ConsentTerms = {
  dataset: 'heart',
  purposes: ['cardiology-research', 'quality-improvement'],
  expiresAt: '2026-01-01',
  maxEpsilon: 4,
  retentionDays: 365,
  revokedAt: null,
  revokedReason: null,
};
const at = new Date('2025-06-01T00:00:00Z');
const use = { purpose: 'cardiology-research', epsilon: 3, at };

describe('consentCovers', () => {
  it('covers a consented purpose within ε and before expiry', () => {
    expect(consentCovers(terms, use)).toEqual({ ok: true });
    expect(consentCovers(terms, { ...use, epsilon: 4 })).toEqual({ ok: true });
  });

  it('names the first condition that fails', () => {
    expect(consentCovers(terms, { ...use, purpose: 'marketing' })).toMatchObject({ ok: false, code: 'CONSENT_PURPOSE' });
    expect(consentCovers(terms, { ...use, epsilon: 4.01 })).toMatchObject({ ok: false, code: 'CONSENT_EPSILON' });
    expect(consentCovers(terms, { ...use, epsilon: Infinity })).toMatchObject({ ok: false, code: 'CONSENT_EPSILON', reason: expect.stringMatching(/no differential-privacy bound/) });
    // Expiry is exclusive: at 2026-01-01T00:00Z the consent has ended.
    expect(consentCovers(terms, { ...use, at: new Date('2026-01-01T00:00:00Z') })).toMatchObject({ ok: false, code: 'CONSENT_EXPIRED' });
    const revoked = { ...terms, revokedAt: '2025-05-01T00:00:00Z', revokedReason: 'board decision' };
    expect(consentCovers(revoked, use)).toMatchObject({ ok: false, code: 'CONSENT_REVOKED', reason: expect.stringMatching(/board decision/) });
    // Revocation is not retroactive: before it, the consent covered the use.
    expect(consentCovers(revoked, { ...use, at: new Date('2025-04-01T00:00:00Z') })).toEqual({ ok: true });
  });

  it('takes a job without DP or without a budget as unbounded ε', () => {
    expect(jobEpsilon({ dp: { enabled: true, epsilon: 2 } })).toBe(2);
    expect(jobEpsilon({ dp: { enabled: true } })).toBe(Infinity);
    expect(jobEpsilon({ dp: { enabled: false, epsilon: 2 } })).toBe(Infinity);
  });
});

describe('localConsentDecision (client node)', () => {
  const file = { organisation: 'cleveland', consents: [terms] };
  const job = { purpose: 'cardiology-research', data: { dataset: 'heart' as const }, dp: { enabled: true, epsilon: 3, placement: 'distributed' as const, clipNorm: 1, noiseMultiplier: 1, delta: 1e-5, trustedCoordinator: false } };

  it('accepts a job its consent covers', () => {
    expect(localConsentDecision(file, job, { at, epsilon: 3 })).toEqual({ accept: true });
  });

  it('declines a job whose purpose its consent lacks, with a code and reason', () => {
    expect(localConsentDecision(file, { ...job, purpose: 'insurance-pricing' }, { at, epsilon: 3 })).toEqual({
      accept: false,
      code: 'CONSENT_PURPOSE',
      reason: "purpose 'insurance-pricing' is not among the purposes consented to for heart (cardiology-research, quality-improvement)",
    });
  });

  it('declines a larger (recomputed) privacy budget, another data set, and a malformed file', () => {
    // The cap is compared with the ε the client recomputed (client/policy/epsilon.ts), whatever dp.epsilon declares.
    expect(localConsentDecision(file, job, { at, epsilon: 8 })).toMatchObject({ accept: false, code: 'CONSENT_EPSILON' });
    expect(localConsentDecision(file, job, { at, epsilon: Infinity })).toMatchObject({ accept: false, code: 'CONSENT_EPSILON' });
    expect(localConsentDecision(file, { ...job, data: { dataset: 'adult' } }, { at, epsilon: 3 })).toMatchObject({ accept: false, code: 'CONSENT_MISSING' });
    expect(localConsentDecision({ organisation: 'x', consents: [{ dataset: 'heart' }] }, job, { at, epsilon: 3 })).toMatchObject({ accept: false, code: 'CONSENT_MALFORMED' });
    expect(localConsentDecision('not json object', job, { at, epsilon: 3 })).toMatchObject({ accept: false, code: 'CONSENT_MALFORMED' });
  });
});
