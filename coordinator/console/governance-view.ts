/**
 * The console's Governance page data (issue 17 §5), read through the functions the CLI uses — `tessera models
 * show|card` (listModels, approvalsForCard, generateModelCard), `tessera approve` (evidenceFor: exactly what
 * an approver signs), `tessera deploy` (checkGate: the one gate evaluation), `tessera audit verify`
 * (verifyAuditLog) — so the page and the terminal cannot disagree. Read only: nothing here signs or writes
 * (the last checkpoint is read, never made; `GET /v1/audit/checkpoint` is the route that signs one). All of it is
 * read from one snapshot (readConsistent), so an approval committed meanwhile is in both the list and the gate or
 * in neither.
 */
import { readConsistent, type Db } from '../../governance/state/database.ts';
import { listModels, type RegisteredModel } from '../../governance/registry/registry.ts';
import { participatingOrganisations } from '../../governance/registry/lineage.ts';
import { SignedApproval, evidenceFor } from '../../governance/approvals/record.ts';
import { listApprovals } from '../../governance/approvals/store.ts';
import { approvalsForCard, generateModelCard } from '../../governance/model-card/generate.ts';
import { renderModelCardMarkdown } from '../../governance/model-card/card.ts';
import { checkGate, getDeploymentState, listDeploymentStates, stageOf } from '../../governance/deploy/deployments.ts';
import { listDeploymentFlags } from '../../governance/deploy/revocation.ts';
import { verifyAuditLog } from '../../governance/audit/verify.ts';
import { readAuditCheckpoints } from '../../governance/audit/log.ts';
import { toWitnessed } from '../../governance/audit/anchor.ts';
import type { GovernanceOverview } from './schemas.ts';

/** The gate a version faces next: production once it is the canary or a candidate; its own stage otherwise. */
function gateFor(db: Db, stateDir: string, m: RegisteredModel, now: Date): GovernanceOverview['models'][number]['gate'] {
  const stage = 'production' as const;
  const g = checkGate(db, stateDir, m, { now, stage });
  return {
    stage,
    ok: g.ok,
    policySource: g.policySource,
    unmet: g.unmet.map((u) => ({ code: u.code, message: u.message, ...(u.role !== undefined ? { role: u.role } : {}) })),
    roles: g.roles.map((r) => ({ role: r.role, min: r.min, of: r.of, approvals: r.approvals, people: [...r.people] })),
  };
}

/**
 * The stage each stored approval was signed for, by id. The card's approval rows (approvalsForCard) leave it out;
 * it is read from the signed payload itself (a record from before issue 13 has none: it admits to canary only).
 */
function stagesOf(db: Db, version: string): Map<string, string> {
  const stages = new Map<string, string>();
  for (const a of listApprovals(db, version)) {
    const parsed = SignedApproval.safeParse(a.record);
    if (parsed.success) stages.set(a.id, parsed.data.payload.stage ?? 'canary');
  }
  return stages;
}

function modelView(db: Db, stateDir: string, m: RegisteredModel, now: Date): GovernanceOverview['models'][number] {
  const l = m.lineage;
  const stages = stagesOf(db, m.version);
  return {
    version: m.version,
    name: m.name,
    registeredAt: m.registeredAt,
    stage: stageOf(getDeploymentState(db, m.name), m.version),
    kind: m.modelSpec.kind,
    parameters: m.parameters,
    lineageHash: m.lineageHash,
    lineage: { jobId: l.jobId ?? null, jobSpecHash: l.jobSpecHash, dataset: l.dataset ?? null, purpose: l.purpose ?? null, dataContractHash: l.dataContractHash ?? null, rounds: l.rounds, organisations: participatingOrganisations(l) },
    evidence: evidenceFor(m),
    approvals: approvalsForCard(db, m, now).map((a) => ({ ...a, stage: a.id !== null ? (stages.get(a.id) ?? null) : null })),
    gate: gateFor(db, stateDir, m, now),
    card: renderModelCardMarkdown(generateModelCard(db, m, now)),
  };
}

export function governanceOverview(db: Db, stateDir: string, now: Date = new Date()): GovernanceOverview {
  return readConsistent(db, () => overviewOf(db, stateDir, now));
}

function overviewOf(db: Db, stateDir: string, now: Date): GovernanceOverview {
  // Newest first: the version awaiting approval is the one an ML lead opens the page for.
  const models = listModels(db).reverse().map((m) => modelView(db, stateDir, m, now));
  const flags = listDeploymentFlags(db);
  const deployments = listDeploymentStates(db).map((d) => ({
    name: d.name,
    production: d.production,
    canary: d.canary,
    canaryPercent: d.canaryPercent,
    history: [...d.history],
    updatedAt: d.updatedAt,
    flags: flags.filter((f) => f.name === d.name).map((f) => ({ version: f.version, reason: f.reason, at: f.at })),
  }));
  const v = verifyAuditLog(db);
  const last = readAuditCheckpoints(db).at(-1);
  return {
    at: now.toISOString(),
    models,
    deployments,
    audit: { ok: v.ok, entries: v.entries, checkpoints: v.checkpoints, firstBadEntry: v.firstBadEntry, reason: v.reason, lastCheckpoint: last ? toWitnessed(last) : null },
  };
}
