/** Reads what a model card needs from the state database and builds it (see card.ts). */
import type { Db } from '../state/database.ts';
import { listApprovers } from '../identity/approvers.ts';
import { listApprovals } from '../approvals/store.ts';
import { SignedApproval, verifyApproval } from '../approvals/record.ts';
import { deploymentHistory, getDeploymentState, stageOf } from '../deploy/deployments.ts';
import type { RegisteredModel } from '../registry/registry.ts';
import { getPrivacyAudit } from '../registry/privacy-audit.ts';
import { buildModelCard, type CardApproval, type ModelCard } from './card.ts';

export function approvalsForCard(db: Db, model: RegisteredModel, now: Date): CardApproval[] {
  const approvers = listApprovers(db);
  return listApprovals(db, model.version).map((a) => {
    const parsed = SignedApproval.safeParse(a.record);
    const check = verifyApproval(a.record, { approvers, model, now });
    const p = parsed.success ? parsed.data.payload : undefined;
    return {
      id: a.id,
      name: approvers.find((x) => x.keyId === p?.signer.keyId)?.name ?? null,
      keyId: p?.signer.keyId ?? null,
      role: p?.role ?? null,
      decision: p?.decision ?? null,
      issuedAt: p?.issuedAt ?? null,
      expiresAt: p?.expiresAt ?? null,
      status: check.ok ? 'valid' : check.code,
    };
  });
}

export function generateModelCard(db: Db, model: RegisteredModel, now: Date = new Date()): ModelCard {
  const state = getDeploymentState(db, model.name);
  return buildModelCard({
    ...model,
    stage: stageOf(state, model.version),
    approvals: approvalsForCard(db, model, now),
    deployments: deploymentHistory(db, { name: model.name, version: model.version }).map((d) => ({
      at: d.at,
      action: d.action,
      stage: d.stage,
      version: d.version,
      previous: d.previous,
      percent: d.percent,
      actor: d.actor,
    })),
    generatedAt: now,
    privacyAudit: getPrivacyAudit(db, model.version),
  });
}
