/**
 * Stored approvals (approvals-001). A record is verified on arrival against the registry and the trust
 * registry and refused with its reason if it does not count; it is verified again by the deployment gate,
 * because keys get revoked and approvals expire after they arrive.
 */
import { canonicalJson } from '../../lib/canonical-json.ts';
import { TesseraError } from '../../protocol/errors.ts';
import type { Db } from '../state/database.ts';
import { AUDIT_ACTIONS } from '../audit/actions.ts';
import { appendAudit } from '../audit/log.ts';
import { trustedApprovers } from '../identity/registry-store.ts';
import { getModel } from '../registry/registry.ts';
import { SignedApproval, verifyApproval, type ApprovalCheck } from './record.ts';



export interface StoredApproval {
  readonly id: string;
  readonly modelVersion: string;
  readonly receivedAt: string;
  /** The record as stored; re-parsed and re-verified by whoever relies on it. */
  readonly record: unknown;
}

/** Verifies a record against the current registries and, if it counts, stores and audits it. */
export function recordApproval(db: Db, record: unknown, options: { now?: Date } = {}): StoredApproval & { check: ApprovalCheck } {
  const now = options.now ?? new Date();
  const parsed = SignedApproval.safeParse(record);
  const model = parsed.success ? getModel(db, parsed.data.payload.model.version) : undefined;
  const check = verifyApproval(record, { approvers: trustedApprovers(db), model, now });
  if (!check.ok) {
    throw new TesseraError(check.code === 'signature-invalid' ? 'TESSERA_ERR_SIGNATURE' : 'TESSERA_ERR_APPROVAL', `Approval refused (${check.code}): ${check.reason}`, {
      details: { code: check.code, keyId: check.keyId },
    });
  }
  const { payload } = check.approval;
  return db.transaction(() => {
    const existing = db.prepare('SELECT id, model_version, received_at, record FROM approvals WHERE id = ?').get(check.id) as
      | { id: string; model_version: string; received_at: string; record: string }
      | undefined;
    if (existing) return { id: existing.id, modelVersion: existing.model_version, receivedAt: existing.received_at, record: JSON.parse(existing.record) as unknown, check };
    const receivedAt = now.toISOString();
    db.prepare('INSERT INTO approvals (id, model_version, key_id, role, decision, issued_at, expires_at, record, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
      check.id,
      payload.model.version,
      payload.signer.keyId,
      payload.role,
      payload.decision,
      payload.issuedAt,
      payload.expiresAt,
      canonicalJson(check.approval),
      receivedAt,
    );
    appendAudit(db, {
      actor: payload.signer.keyId,
      action: AUDIT_ACTIONS.approvalRecorded,
      subject: payload.model.version,
      details: { id: check.id, name: check.approver.name, person: check.approver.person, role: payload.role, stage: payload.stage ?? 'canary', decision: payload.decision, reason: payload.reason, issuedAt: payload.issuedAt, expiresAt: payload.expiresAt },
      time: now,
    });
    return { id: check.id, modelVersion: payload.model.version, receivedAt, record: check.approval as unknown, check };
  }).immediate();
}

/** Every stored record for a model version, oldest first. */
export function listApprovals(db: Db, modelVersion: string): StoredApproval[] {
  const rows = db.prepare('SELECT id, model_version, received_at, record FROM approvals WHERE model_version = ? ORDER BY issued_at, id').all(modelVersion) as Array<{
    id: string;
    model_version: string;
    received_at: string;
    record: string;
  }>;
  return rows.map((r) => {
    let record: unknown;
    try {
      record = JSON.parse(r.record);
    } catch {
      record = r.record;
    }
    return { id: r.id, modelVersion: r.model_version, receivedAt: r.received_at, record };
  });
}
