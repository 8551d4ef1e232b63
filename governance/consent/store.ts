/**
 * The coordinator's consent records (consent-001), one current record per organisation and data set, with
 * the earlier grants kept. Granting and revoking are audited in the same transaction. The sampler asks
 * `eligibleOrganisations` before every round, so a revocation takes effect from the next round.
 */
import { TesseraError, describeZodIssues } from '../../protocol/errors.ts';
import type { Db } from '../state/database.ts';
import { AUDIT_ACTIONS } from '../audit/actions.ts';
import { appendAudit } from '../audit/log.ts';
import type { AuditAttest } from '../audit/attribution.ts';
import { ConsentTerms, consentCovers, type ConsentCode, type ConsentRecord } from './terms.ts';
import { verifySignedConsent, type SignedConsent } from './signed.ts';
import type { ClientRoster } from '../identity/client-roster.ts';

interface Row {
  id: number;
  organisation: string;
  dataset: string;
  purposes: string;
  expires_at: string;
  max_epsilon: number;
  retention_days: number;
  granted_at: string;
  revoked_at: string | null;
  revoked_reason: string | null;
  signed: string | null;
}

function toRecord(r: Row): ConsentRecord {
  return {
    organisation: r.organisation,
    dataset: r.dataset,
    purposes: JSON.parse(r.purposes) as string[],
    expiresAt: r.expires_at,
    maxEpsilon: r.max_epsilon,
    retentionDays: r.retention_days,
    grantedAt: r.granted_at,
    revokedAt: r.revoked_at,
    revokedReason: r.revoked_reason,
  };
}

export interface GrantInput {
  readonly organisation: string;
  readonly dataset: string;
  readonly purposes: readonly string[];
  readonly expiresAt: string;
  readonly maxEpsilon: number;
  readonly retentionDays: number;
  readonly actor: string;
  /** The actor's signature over the audit entry (governance/audit/attribution.ts). */
  readonly attest?: AuditAttest;
  readonly at?: Date;
}

/** Records (or replaces) the consent of an organisation for a data set. */
export function grantConsent(db: Db, input: GrantInput): ConsentRecord {
  const organisation = input.organisation.trim();
  if (organisation === '') throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'Consent needs an organisation id');
  const terms = ConsentTerms.safeParse({
    dataset: input.dataset.trim(),
    purposes: [...new Set(input.purposes.map((p) => p.trim()).filter((p) => p !== ''))],
    expiresAt: input.expiresAt,
    maxEpsilon: input.maxEpsilon,
    retentionDays: input.retentionDays,
  });
  if (!terms.success) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Invalid consent: ${describeZodIssues(terms.error.issues)}`);
  const at = input.at ?? new Date();
  if (Date.parse(terms.data.expiresAt) <= at.getTime()) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `The consent would already be expired (${terms.data.expiresAt})`);
  const t = terms.data;
  return db.transaction(() => {
    db.prepare('INSERT INTO consents (organisation, dataset, purposes, expires_at, max_epsilon, retention_days, granted_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
      organisation,
      t.dataset,
      JSON.stringify(t.purposes),
      t.expiresAt,
      t.maxEpsilon,
      t.retentionDays,
      at.toISOString(),
    );
    appendAudit(db, {
      actor: input.actor,
      action: AUDIT_ACTIONS.consentGranted,
      subject: organisation,
      details: { organisation, dataset: t.dataset, purposes: t.purposes, expiresAt: t.expiresAt, maxEpsilon: t.maxEpsilon, retentionDays: t.retentionDays },
      time: at,
      attest: input.attest,
    });
    return currentConsent(db, organisation, t.dataset) as ConsentRecord;
  }).immediate();
}

/**
 * Records a consent the organisation signed (issue 12 §6), after verifying it against the consortium roster
 * (signed.ts) and refusing replays: an expired record, one already recorded, or one not issued after the
 * organisation's latest recorded grant or withdrawal for the data set (so a withdrawn or superseded grant
 * cannot be put back). The row keeps the signed record; eligibility re-verifies it on every read.
 */
export function recordSignedConsent(db: Db, raw: unknown, options: { roster: ClientRoster; actor: string; attest?: AuditAttest; at?: Date }): ConsentRecord {
  const check = verifySignedConsent(raw, options.roster);
  if (!check.ok) throw new TesseraError('TESSERA_ERR_CONSENT_UNSIGNED', `Consent refused: ${check.reason}`);
  const p = check.consent.payload;
  const at = options.at ?? new Date();
  if (Date.parse(p.expiresAt) <= at.getTime()) throw new TesseraError('TESSERA_ERR_CONSENT_REPLAY', `Consent refused: it expired at ${p.expiresAt}`);
  return db.transaction(() => {
    if (db.prepare('SELECT 1 FROM consents WHERE consent_id = ?').get(check.id) !== undefined) {
      throw new TesseraError('TESSERA_ERR_CONSENT_REPLAY', `Consent refused: this signed record (${check.id.slice(0, 16)}…) was recorded before`);
    }
    const latest = db.prepare('SELECT * FROM consents WHERE organisation = ? AND dataset = ? ORDER BY id DESC LIMIT 1').get(p.organisation, p.dataset) as Row | undefined;
    if (latest) {
      const prior = latest.signed !== null ? (JSON.parse(latest.signed) as SignedConsent).payload.issuedAt : latest.granted_at;
      const newest = Math.max(Date.parse(prior), latest.revoked_at !== null ? Date.parse(latest.revoked_at) : -Infinity);
      if (!(Date.parse(p.issuedAt) > newest)) {
        throw new TesseraError(
          'TESSERA_ERR_CONSENT_REPLAY',
          `Consent refused: issued at ${p.issuedAt}, not after ${p.organisation}'s latest ${latest.revoked_at !== null && Date.parse(latest.revoked_at) >= Date.parse(prior) ? `withdrawal (${latest.revoked_at})` : `grant (${prior})`} for ${p.dataset} — an old record replayed`,
        );
      }
    }
    db.prepare('INSERT INTO consents (organisation, dataset, purposes, expires_at, max_epsilon, retention_days, granted_at, signed, consent_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      p.organisation,
      p.dataset,
      JSON.stringify(p.purposes),
      p.expiresAt,
      p.maxEpsilon,
      p.retentionDays,
      at.toISOString(),
      JSON.stringify(check.consent),
      check.id,
    );
    appendAudit(db, {
      actor: options.actor,
      action: AUDIT_ACTIONS.consentGranted,
      subject: p.organisation,
      details: { organisation: p.organisation, dataset: p.dataset, purposes: p.purposes, expiresAt: p.expiresAt, maxEpsilon: p.maxEpsilon, retentionDays: p.retentionDays, signedBy: p.signer.clientId, consentId: check.id, issuedAt: p.issuedAt },
      time: at,
      attest: options.attest,
    });
    return currentConsent(db, p.organisation, p.dataset) as ConsentRecord;
  }).immediate();
}

/**
 * Whether a stored row is backed by its organisation's signature under `roster`, with terms equal to the row's
 * (an insider who edits `purposes` or `max_epsilon` in SQLite, or writes a row, is caught here).
 */
function signatureProblem(r: Row, roster: ClientRoster): string | null {
  if (r.signed === null) return `the consent of '${r.organisation}' for ${r.dataset} was entered without the organisation's signature (TESSERA_ERR_CONSENT_UNSIGNED)`;
  let raw: unknown;
  try {
    raw = JSON.parse(r.signed);
  } catch {
    return `the stored signed consent of '${r.organisation}' is not JSON`;
  }
  const check = verifySignedConsent(raw, roster);
  if (!check.ok) return `the stored consent of '${r.organisation}' does not verify: ${check.reason}`;
  const p = check.consent.payload;
  const same = p.organisation === r.organisation && p.dataset === r.dataset && JSON.stringify(p.purposes) === r.purposes && p.expiresAt === r.expires_at && p.maxEpsilon === r.max_epsilon && p.retentionDays === r.retention_days;
  return same ? null : `the stored terms of '${r.organisation}' for ${r.dataset} differ from what it signed (edited in storage)`;
}

/** Revokes the current consent of an organisation for one data set, or for all of them. */
export function revokeConsent(db: Db, input: { organisation: string; dataset?: string; reason: string; actor: string; attest?: AuditAttest; at?: Date }): ConsentRecord[] {
  const reason = input.reason.trim();
  if (reason === '') throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'Revoking consent needs a reason');
  const at = (input.at ?? new Date()).toISOString();
  return db.transaction(() => {
    const targets = listConsents(db, { organisation: input.organisation }).filter((c) => c.revokedAt === null && (input.dataset === undefined || c.dataset === input.dataset));
    if (targets.length === 0) {
      throw new TesseraError('TESSERA_ERR_NOT_FOUND', `No consent in force for organisation '${input.organisation}'${input.dataset !== undefined ? ` and data set '${input.dataset}'` : ''}`);
    }
    for (const c of targets) {
      db.prepare(
        'UPDATE consents SET revoked_at = ?, revoked_reason = ? WHERE id = (SELECT MAX(id) FROM consents WHERE organisation = ? AND dataset = ?)',
      ).run(at, reason, c.organisation, c.dataset);
      appendAudit(db, { actor: input.actor, action: AUDIT_ACTIONS.consentRevoked, subject: c.organisation, details: { organisation: c.organisation, dataset: c.dataset, reason }, time: new Date(at), attest: input.attest });
    }
    return targets.map((c) => currentConsent(db, c.organisation, c.dataset) as ConsentRecord);
  }).immediate();
}

export function currentConsent(db: Db, organisation: string, dataset: string): ConsentRecord | undefined {
  const r = db.prepare('SELECT * FROM consents WHERE organisation = ? AND dataset = ? ORDER BY id DESC LIMIT 1').get(organisation, dataset) as Row | undefined;
  return r ? toRecord(r) : undefined;
}

/** The current record per (organisation, data set), optionally for one organisation. */
export function listConsents(db: Db, options: { organisation?: string } = {}): ConsentRecord[] {
  return currentRows(db, options).map(toRecord);
}

function currentRows(db: Db, options: { organisation?: string } = {}): Row[] {
  return db
    .prepare(
      `SELECT c.* FROM consents c JOIN (SELECT MAX(id) AS id FROM consents GROUP BY organisation, dataset) latest ON latest.id = c.id
       WHERE (? IS NULL OR c.organisation = ?) ORDER BY c.organisation, c.dataset`,
    )
    .all(options.organisation ?? null, options.organisation ?? null) as Row[];
}

export interface EligibilityQuery {
  readonly purpose: string;
  readonly at: Date;
  /** The job's total ε (Infinity without differential privacy). */
  readonly epsilonNeeded: number;
  /** Only consent for this data set counts (a job's `data.dataset`); any data set when absent. */
  readonly dataset?: string;
  /**
   * The consortium roster: when given (every non-simulated coordinator), only consent signed by the
   * organisation's roster key counts; unsigned or tampered records exclude with CONSENT_UNSIGNED.
   */
  readonly roster?: ClientRoster;
}

export interface Eligibility {
  /** Organisations whose consent covers the use, sorted. */
  readonly eligible: string[];
  /** Organisations with consent records that do not cover it, with the reason (for client.excluded audit entries). */
  readonly excluded: Array<{ readonly organisation: string; readonly code: ConsentCode; readonly reason: string }>;
}

/**
 * Organisations the sampler may pick for a round: those with a consent record in force that covers the
 * purpose and the job's ε at `at`. Organisations without any record are neither eligible nor listed.
 */
export function eligibleOrganisations(db: Db, query: EligibilityQuery): Eligibility {
  const byOrg = new Map<string, Array<{ record: ConsentRecord; row: Row }>>();
  for (const row of currentRows(db)) {
    const c = toRecord(row);
    if (query.dataset !== undefined && c.dataset !== query.dataset) continue;
    byOrg.set(c.organisation, [...(byOrg.get(c.organisation) ?? []), { record: c, row }]);
  }
  const eligible: string[] = [];
  const excluded: Eligibility['excluded'][number][] = [];
  for (const [organisation, records] of byOrg) {
    const checks = records.map(({ record, row }): ReturnType<typeof consentCovers> => {
      const unsigned = query.roster !== undefined ? signatureProblem(row, query.roster) : null;
      return unsigned !== null ? { ok: false, code: 'CONSENT_UNSIGNED', reason: unsigned } : consentCovers(record, { purpose: query.purpose, epsilon: query.epsilonNeeded, at: query.at });
    });
    const failed = checks.find((c): c is Extract<typeof c, { ok: false }> => !c.ok);
    if (checks.some((c) => c.ok)) eligible.push(organisation);
    else if (failed) excluded.push({ organisation, code: failed.code, reason: failed.reason });
  }
  return { eligible: eligible.sort(), excluded: excluded.sort((a, b) => a.organisation.localeCompare(b.organisation)) };
}
