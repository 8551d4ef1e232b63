/**
 * Deployments (deploy-001): the routing state per model name (production, canary and its share, shadow, the
 * stack of earlier production versions for rollback, and a revision the serving layer polls) plus a history
 * row per change. Every change runs the gate when the target stage needs it, and is audited in the same
 * transaction; refused attempts are audited too, with the unmet conditions.
 */
import { TesseraError } from '../../protocol/errors.ts';
import type { Db } from '../state/database.ts';
import { AUDIT_ACTIONS } from '../audit/actions.ts';
import { appendAudit } from '../audit/log.ts';
import type { AuditAttest } from '../audit/attribution.ts';
import { readRegistry } from '../identity/registry-store.ts';
import { getModel, type RegisteredModel } from '../registry/registry.ts';
import { loadModelArtifact } from '../registry/artifacts.ts';
import { modelIntegrityProblems } from '../registry/integrity.ts';
import { listApprovals } from '../approvals/store.ts';
import { evaluateGate, type GateResult } from './gate.ts';
import { resolvePolicy } from './policy.ts';
import { GATED_STAGES, assertStageTransition, type Stage } from './stages.ts';



export interface DeploymentState {
  readonly name: string;
  readonly production: string | null;
  readonly canary: string | null;
  readonly canaryPercent: number | null;
  readonly shadow: string | null;
  /** Production versions in the order they were promoted; the last is the current one. */
  readonly history: readonly string[];
  /** Increases with every change; the serving layer re-reads the state when it moves. */
  readonly revision: number;
  readonly updatedAt: string | null;
}

export interface DeploymentEvent {
  readonly id: number;
  readonly name: string;
  readonly version: string | null;
  readonly action: 'deploy' | 'rollback';
  readonly stage: Stage | null;
  readonly percent: number | null;
  readonly previous: string | null;
  readonly actor: string;
  readonly at: string;
  readonly gate: GateResult | null;
}

interface StateRow {
  name: string;
  production: string | null;
  canary: string | null;
  canary_percent: number | null;
  shadow: string | null;
  history: string;
  revision: number;
  updated_at: string;
}

function emptyState(name: string): DeploymentState {
  return { name, production: null, canary: null, canaryPercent: null, shadow: null, history: [], revision: 0, updatedAt: null };
}

export function getDeploymentState(db: Db, name: string): DeploymentState {
  const r = db.prepare('SELECT * FROM deployment_state WHERE name = ?').get(name) as StateRow | undefined;
  if (!r) return emptyState(name);
  return {
    name: r.name,
    production: r.production,
    canary: r.canary,
    canaryPercent: r.canary_percent,
    shadow: r.shadow,
    history: JSON.parse(r.history) as string[],
    revision: r.revision,
    updatedAt: r.updated_at,
  };
}

/** The revision alone: one primary-key read, cheap enough to do on every prediction request. */
export function deploymentRevision(db: Db, name: string): number {
  const r = db.prepare('SELECT revision FROM deployment_state WHERE name = ?').pluck().get(name) as number | undefined;
  return r ?? 0;
}

export function listDeploymentStates(db: Db): DeploymentState[] {
  return (db.prepare('SELECT name FROM deployment_state ORDER BY name').pluck().all() as string[]).map((n) => getDeploymentState(db, n));
}

/** Where a version stands for its name right now. */
export function stageOf(state: DeploymentState, version: string): Stage {
  if (state.production === version) return 'production';
  if (state.canary === version) return 'canary';
  if (state.shadow === version) return 'shadow';
  if (state.history.includes(version)) return 'retired';
  return 'candidate';
}

function saveState(db: Db, s: DeploymentState, at: string): DeploymentState {
  const next = { ...s, revision: s.revision + 1, updatedAt: at };
  db.prepare(
    `INSERT INTO deployment_state (name, production, canary, canary_percent, shadow, history, revision, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET production = excluded.production, canary = excluded.canary, canary_percent = excluded.canary_percent,
       shadow = excluded.shadow, history = excluded.history, revision = excluded.revision, updated_at = excluded.updated_at`,
  ).run(next.name, next.production, next.canary, next.canaryPercent, next.shadow, JSON.stringify(next.history), next.revision, at);
  return next;
}

function recordEvent(db: Db, e: Omit<DeploymentEvent, 'id'>): void {
  db.prepare('INSERT INTO deployments (name, version, action, stage, percent, previous, actor, at, gate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
    e.name,
    e.version,
    e.action,
    e.stage,
    e.percent,
    e.previous,
    e.actor,
    e.at,
    e.gate === null ? null : JSON.stringify(e.gate),
  );
}

export function deploymentHistory(db: Db, options: { name?: string; version?: string } = {}): DeploymentEvent[] {
  const rows = db
    .prepare('SELECT * FROM deployments WHERE (? IS NULL OR name = ?) AND (? IS NULL OR version = ? OR previous = ?) ORDER BY id')
    .all(options.name ?? null, options.name ?? null, options.version ?? null, options.version ?? null, options.version ?? null) as Array<{
    id: number;
    name: string;
    version: string | null;
    action: 'deploy' | 'rollback';
    stage: Stage | null;
    percent: number | null;
    previous: string | null;
    actor: string;
    at: string;
    gate: string | null;
  }>;
  return rows.map((r) => ({ ...r, gate: r.gate === null ? null : (JSON.parse(r.gate) as GateResult) }));
}

/**
 * Evaluates the gate for a model with its stored approvals, the verified approver registry (the replayed
 * signed chain, never the raw table), the layered policy raised to the floor, and the re-hashed registry row.
 */
export function checkGate(db: Db, stateDir: string, model: RegisteredModel, options: { policyFile?: string; now?: Date; stage?: 'canary' | 'production' } = {}): GateResult & { policySource: string } {
  const resolved = resolvePolicy({ db, model, stateDir, ...(options.policyFile !== undefined ? { policyFile: options.policyFile } : {}) });
  const { registry, problem } = readRegistry(db);
  const gate = evaluateGate({
    model,
    policy: resolved.policy,
    approvals: listApprovals(db, model.version),
    approvers: registry.approvers,
    now: options.now ?? new Date(),
    stage: options.stage ?? 'production',
    integrity: modelIntegrityProblems(db, model.version),
    policyProblem: resolved.problem,
    registryProblem: problem ?? (registry.initialised ? null : 'the approver registry is not initialised (run `tessera approvers init` once); no approval counts until it is'),
    raisedByFloor: resolved.raisedByFloor,
  });
  return { ...gate, policySource: resolved.source };
}

export interface DeployInput {
  readonly version: string;
  readonly stage: 'shadow' | 'canary' | 'production';
  /** Canary share in (0, 100); the policy's canaryPercent when absent. */
  readonly percent?: number;
  readonly actor: string;
  readonly policyFile?: string;
  readonly now?: Date;
  /** Signs the audit entry for a signed identity (governance/audit/attribution.ts). */
  readonly attest?: AuditAttest;
}

export interface DeployOutcome {
  readonly ok: boolean;
  readonly name: string;
  readonly version: string;
  readonly stage: Stage;
  readonly gate: (GateResult & { policySource: string }) | null;
  readonly state: DeploymentState;
}

/** What a deploy would do, checked without changing anything: the one path for `deploy` and `deploy --dry-run`. */
export interface DeploymentPlan {
  readonly model: RegisteredModel;
  readonly state: DeploymentState;
  readonly from: Stage;
  readonly gate: (GateResult & { policySource: string }) | null;
  readonly percent: number | null;
}

/**
 * Every check a deploy makes, in the order it makes them, with no write: the stage transition, the
 * production-first and canary-before-production rules, the gate (canary and production only) and the canary
 * share. Throws on unusable input exactly as the deploy would; a refused gate is in `gate`. `--dry-run` once
 * evaluated the production gate for any stage and skipped the transition rules, so it could say "refused"
 * for a shadow deploy that needs no gate, or pass a production deploy the real one refuses (no canary first).
 */
export function planDeployment(db: Db, stateDir: string, input: Omit<DeployInput, 'actor' | 'attest'>): DeploymentPlan {
  const now = input.now ?? new Date();
  const model = getModel(db, input.version);
  if (!model) throw new TesseraError('TESSERA_ERR_NOT_FOUND', `No model version ${input.version} in the registry`);
  const state = getDeploymentState(db, model.name);
  const from = stageOf(state, model.version);
  assertStageTransition(model.version, from, input.stage);
  if (input.stage !== 'production' && state.production === null) {
    throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `'${model.name}' has no production version yet: deploy the first version straight to production; ${input.stage} is measured against production`);
  }
  if (input.stage === 'production' && state.production !== null && from !== 'canary') {
    throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Model ${model.version} must serve as canary before it replaces production version ${state.production} (deploy --stage canary first)`);
  }
  const gatedStage = input.stage === 'canary' || input.stage === 'production' ? input.stage : undefined;
  const gate = gatedStage !== undefined && GATED_STAGES.has(gatedStage) ? checkGate(db, stateDir, model, { ...(input.policyFile !== undefined ? { policyFile: input.policyFile } : {}), now, stage: gatedStage }) : null;
  let percent: number | null = null;
  if (input.stage === 'canary') {
    percent = input.percent ?? resolvePolicy({ db, model, stateDir, ...(input.policyFile !== undefined ? { policyFile: input.policyFile } : {}) }).policy.canaryPercent;
    if (!(percent > 0 && percent < 100)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--percent must be between 0 and 100 (exclusive), got ${percent}`);
  }
  return { model, state, from, gate, percent };
}

/**
 * Moves a version to shadow, canary or production. Canary and production need the gate to pass; a refused
 * attempt returns `ok: false` with the gate result (and is audited) instead of throwing, so the caller can
 * print every unmet condition.
 */
export function deployModel(db: Db, stateDir: string, input: DeployInput): DeployOutcome {
  const now = input.now ?? new Date();
  const at = now.toISOString();
  return db.transaction((): DeployOutcome => {
    const { model, state, from, gate, percent } = planDeployment(db, stateDir, { ...input, now });
    const audit = (outcome: 'done' | 'refused', previous: string | null): void => {
      const details = {
          name: model.name,
          stage: input.stage,
          percent,
          outcome,
          previous,
          policySource: gate?.policySource ?? null,
          raisedByFloor: gate?.raisedByFloor ?? [],
          unmet: gate?.unmet.map((u) => ({ code: u.code, message: u.message })) ?? [],
          approvals: gate?.counted.map((c) => c.approvalId) ?? [],
        };
      appendAudit(db, { actor: input.actor, action: AUDIT_ACTIONS.deployment, subject: model.version, details, time: now, ...(input.attest ? { attest: input.attest } : {}) });
    };
    if (gate && !gate.ok) {
      audit('refused', state.production);
      return { ok: false, name: model.name, version: model.version, stage: from, gate, state };
    }
    let next: DeploymentState;
    if (input.stage === 'shadow') next = { ...state, shadow: model.version };
    else if (input.stage === 'canary') next = { ...state, canary: model.version, canaryPercent: percent, shadow: state.shadow === model.version ? null : state.shadow };
    else {
      next = {
        ...state,
        production: model.version,
        history: [...state.history.filter((v) => v !== model.version), model.version],
        canary: state.canary === model.version ? null : state.canary,
        canaryPercent: state.canary === model.version ? null : state.canaryPercent,
        shadow: state.shadow === model.version ? null : state.shadow,
      };
    }
    const saved = saveState(db, next, at);
    recordEvent(db, { name: model.name, version: model.version, action: 'deploy', stage: input.stage, percent, previous: state.production, actor: input.actor, at, gate });
    audit('done', state.production);
    return { ok: true, name: model.name, version: model.version, stage: input.stage, gate, state: saved };
  }).immediate();
}

/**
 * Returns `name` to its previous production version and clears any canary and shadow — through the gate
 * (issue 13 §4): the target must pass the gate for production now (so standing rejections, revoked or
 * expired approvals and tampered records refuse it) and its artifacts must still hash to its version. A
 * refused rollback is audited with the reasons and throws TESSERA_ERR_DEPLOY_GATE.
 */
export function rollbackModel(db: Db, stateDir: string, input: { name: string; actor: string; reason?: string; now?: Date; policyFile?: string; attest?: AuditAttest }): DeploymentState {
  const now = input.now ?? new Date();
  const at = now.toISOString();
  const outcome = db.transaction((): { saved: DeploymentState } | { refused: { from: string; to: string; reasons: string[] } } => {
    const state = getDeploymentState(db, input.name);
    if (state.production === null) throw new TesseraError('TESSERA_ERR_NOT_FOUND', `'${input.name}' has no production deployment to roll back`);
    const history = state.history.slice(0, -1);
    const previous = history[history.length - 1];
    if (previous === undefined) throw new TesseraError('TESSERA_ERR_NOT_FOUND', `'${input.name}' has no earlier production version than ${state.production}`);
    const reasons: string[] = [];
    const model = getModel(db, previous);
    if (!model) reasons.push(`model ${previous} is not in the registry`);
    else {
      const gate = checkGate(db, stateDir, model, { now, stage: 'production', ...(input.policyFile !== undefined ? { policyFile: input.policyFile } : {}) });
      for (const u of gate.unmet) reasons.push(`${u.code}: ${u.message}`);
      try {
        loadModelArtifact(stateDir, previous);
      } catch (e) {
        reasons.push(`artifacts-invalid: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    if (reasons.length > 0) {
      // Audited in the same transaction, which then commits: the refusal is a record, not a rolled-back attempt.
      const details = { from: state.production, to: previous, reasons, reason: input.reason ?? null };
      appendAudit(db, { actor: input.actor, action: AUDIT_ACTIONS.rollbackRefused, subject: input.name, details, time: now, ...(input.attest ? { attest: input.attest } : {}) });
      return { refused: { from: state.production, to: previous, reasons } };
    }
    const saved = saveState(db, { ...state, production: previous, history, canary: null, canaryPercent: null, shadow: null }, at);
    recordEvent(db, { name: input.name, version: previous, action: 'rollback', stage: 'production', percent: null, previous: state.production, actor: input.actor, at, gate: null });
    const details = { from: state.production, to: previous, clearedCanary: state.canary, clearedShadow: state.shadow, reason: input.reason ?? null };
    appendAudit(db, { actor: input.actor, action: AUDIT_ACTIONS.rollback, subject: input.name, details, time: now, ...(input.attest ? { attest: input.attest } : {}) });
    return { saved };
  }).immediate();
  if ('refused' in outcome) {
    const { to, reasons } = outcome.refused;
    throw new TesseraError('TESSERA_ERR_DEPLOY_GATE', `Rollback of '${input.name}' to ${to.slice(0, 12)} refused: ${reasons.join('; ')}`, { details: { to, reasons } });
  }
  return outcome.saved;
}

/** Writes a deployment state change made outside deploy/rollback (a pause after a revocation). */
export function saveDeploymentState(db: Db, next: DeploymentState, event: Omit<DeploymentEvent, 'id' | 'at'>, now: Date): DeploymentState {
  const at = now.toISOString();
  const saved = saveState(db, next, at);
  recordEvent(db, { ...event, at });
  return saved;
}
