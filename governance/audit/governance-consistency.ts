/**
 * Checks that tie governance state to the audit entries that claim to have made it (issue 13 §6), for
 * `audit verify`. An insider with shell access can write SQLite directly and re-hash the chain; what they cannot
 * do is produce the signatures:
 *  - every organisation cap in the ledger must equal the value of its latest audited `ledger.cap-set` entry
 *    (a cap raised straight in SQLite, or by replaying an old signed change, no longer matches); on a
 *    production state a cap with no audited entry at all is reported too;
 *  - an entry attributed to the admin quorum (`admins:a+b`) must name a record whose stored signatures were made
 *    by exactly those people: a registry record (approver_changes, re-verified by replay) or the signed change of
 *    a relaxed deployment policy — so rewriting the signer of such an entry is named.
 */
import type { Db } from '../state/database.ts';
import { getOrgCaps } from '../ledger/store.ts';
import { AUDIT_ACTIONS } from './actions.ts';
import type { AuditEntry } from './chain.ts';
import { SignedAdminChange, adminSigners } from '../identity/admin-changes.ts';
import { isProductionState, readRegistry, readRegistryRecords } from '../identity/registry-store.ts';

const REGISTRY_ACTIONS: ReadonlySet<string> = new Set([AUDIT_ACTIONS.approversInitialised, AUDIT_ACTIONS.approverAdded, AUDIT_ACTIONS.approverRevoked, AUDIT_ACTIONS.approverRolesChanged]);

function detailsOf(e: AuditEntry): Record<string, unknown> {
  return typeof e.details === 'object' && e.details !== null && !Array.isArray(e.details) ? (e.details as Record<string, unknown>) : {};
}

/** Each ledger cap against its latest audited `ledger.cap-set` entry. */
export function capProblems(db: Db, entries: readonly AuditEntry[]): string[] {
  const audited = new Map<string, { value: number; seq: number }>();
  for (const e of entries) {
    if (e.action !== AUDIT_ACTIONS.capSet) continue;
    const v = detailsOf(e)['maxEpsilon'];
    if (typeof v === 'number') audited.set(e.subject, { value: v, seq: e.seq });
  }
  const production = isProductionState(db);
  const rows = [...getOrgCaps(db)].sort(([a], [b]) => a.localeCompare(b)).map(([org_id, max_epsilon]) => ({ org_id, max_epsilon }));
  const problems: string[] = [];
  for (const r of rows) {
    const a = audited.get(r.org_id);
    if (a === undefined) {
      if (production) problems.push(`ledger: the cap of '${r.org_id}' (ε ${r.max_epsilon}) has no audited ledger.cap-set entry (written around the CLI)`);
    } else if (a.value !== r.max_epsilon) {
      problems.push(`ledger: the cap of '${r.org_id}' is ε ${r.max_epsilon}, but its latest audited change (entry ${a.seq}) set ε ${a.value} (changed in storage, or an old change replayed)`);
    }
  }
  return problems;
}

/** Entries attributed to `admins:…` against the signatures stored in the record they name. */
export function adminActorProblems(db: Db, entries: readonly AuditEntry[]): string[] {
  const { history } = readRegistry(db);
  const records = readRegistryRecords(db);
  const signersByRecord = new Map<string, string[]>();
  for (const [i, raw] of records.entries()) {
    const parsed = SignedAdminChange.safeParse(raw);
    const after = history[i];
    if (!parsed.success || after === undefined) break; // the replay reports a broken chain itself
    const before = parsed.data.payload.change.op === 'init' ? after : history[i - 1];
    if (before === undefined) break;
    signersByRecord.set(after.head, adminSigners(before, parsed.data));
  }
  const policyRows = db.prepare('SELECT policy_hash, change FROM deployment_policies WHERE change IS NOT NULL').all() as Array<{ policy_hash: string; change: string }>;
  const policySigners = new Map<string, string[]>();
  for (const r of policyRows) {
    let raw: unknown;
    try {
      raw = JSON.parse(r.change);
    } catch {
      continue;
    }
    const parsed = SignedAdminChange.safeParse(raw);
    const signedAgainst = parsed.success ? history.find((h) => h.head === parsed.data.payload.registryHead) : undefined;
    if (parsed.success && signedAgainst) policySigners.set(r.policy_hash, adminSigners(signedAgainst, parsed.data));
  }
  const problems: string[] = [];
  for (const e of entries) {
    if (!e.actor.startsWith('admins:')) continue;
    const d = detailsOf(e);
    let signers: string[] | undefined;
    let what: string;
    if (REGISTRY_ACTIONS.has(e.action)) {
      what = 'registry record';
      signers = typeof d['record'] === 'string' ? signersByRecord.get(d['record']) : undefined;
    } else if (e.action === AUDIT_ACTIONS.policyChanged) {
      what = 'signed policy change';
      signers = typeof d['policyHash'] === 'string' ? policySigners.get(d['policyHash']) : undefined;
    } else continue;
    if (signers === undefined) {
      problems.push(`entry ${e.seq}: attributed to '${e.actor}', but it names no ${what} in the verified chain`);
      continue;
    }
    const expected = `admins:${signers.join('+')}`;
    if (e.actor !== expected) problems.push(`entry ${e.seq}: attributed to '${e.actor}', but the ${what} it names is signed by ${expected.slice('admins:'.length) || 'no admin'}`);
  }
  return problems;
}
