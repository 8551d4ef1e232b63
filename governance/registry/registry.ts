/**
 * The model registry (registry-001): one row per content-addressed version with its lineage, the job spec it
 * was trained under, and the artifacts on disk. Registration writes the artifacts first (atomically), then
 * the row and its audit entry in one transaction, so a row never points at missing files.
 */
import type { AuditAttest } from '../audit/attribution.ts';
import { TesseraError } from '../../protocol/errors.ts';
import { ModelSpec } from '../../protocol/job/model.ts';
import { canonicalHash, canonicalJson } from '../../lib/canonical-json.ts';
import type { Db } from '../state/database.ts';
import { AUDIT_ACTIONS } from '../audit/actions.ts';
import { appendAudit } from '../audit/log.ts';
import { codeVersion } from './code-version.ts';
import { Lineage, LineageInput, lineageHash, reportVerdict } from './lineage.ts';
import { writeModelArtifacts } from './artifacts.ts';



/** Model names appear in URLs (`/v1/models/:name/predict`). */
export const MODEL_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface RegisteredModel {
  readonly version: string;
  readonly name: string;
  readonly registeredAt: string;
  readonly modelSpec: ModelSpec;
  readonly parameters: number;
  readonly lineage: Lineage;
  readonly lineageHash: string;
  /** The job spec the model was trained under (parsed, with defaults), when the caller supplied it. */
  readonly jobSpec: unknown;
}

export interface RegisterModelInput {
  readonly modelSpec: ModelSpec;
  readonly weights: Float32Array;
  readonly lineage: LineageInput;
  /** Deployment name (default: the job spec's name, else the lineage's job name, else 'model'). */
  readonly name?: string;
  /** The parsed job spec; its canonical hash must equal `lineage.jobSpecHash` when both are given. */
  readonly jobSpec?: unknown;
  readonly actor?: string;
  /** Signs the audit entry for a signed actor (governance/audit/attribution.ts attributeTo). */
  readonly attest?: AuditAttest;
  readonly at?: Date;
}

interface Row {
  version: string;
  name: string;
  registered_at: string;
  model_spec: string;
  parameters: number;
  lineage: string;
  lineage_hash: string;
  job_spec: string | null;
}

function toModel(r: Row): RegisteredModel {
  return {
    version: r.version,
    name: r.name,
    registeredAt: r.registered_at,
    modelSpec: ModelSpec.parse(JSON.parse(r.model_spec)),
    parameters: r.parameters,
    lineage: Lineage.parse(JSON.parse(r.lineage)),
    lineageHash: r.lineage_hash,
    jobSpec: r.job_spec === null ? null : (JSON.parse(r.job_spec) as unknown),
  };
}

function jobName(jobSpec: unknown): string | undefined {
  if (typeof jobSpec !== 'object' || jobSpec === null || !('name' in jobSpec)) return undefined;
  return typeof jobSpec.name === 'string' ? jobSpec.name : undefined;
}

/** Completes a caller's lineage: code version, runtime, fairness hash and verdict, job-spec hash check. */
async function completeLineage(input: RegisterModelInput): Promise<Lineage> {
  const given = LineageInput.safeParse({
    ...input.lineage,
    ...(input.jobSpec !== undefined && input.lineage.jobSpecHash === undefined ? { jobSpecHash: canonicalHash(input.jobSpec) } : {}),
  });
  if (!given.success) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Invalid lineage: ${given.error.issues.slice(0, 3).map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const l = given.data;
  if (input.jobSpec !== undefined && canonicalHash(input.jobSpec) !== l.jobSpecHash) {
    throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'lineage.jobSpecHash is not the canonical hash of the job spec supplied with the model');
  }
  let fairness: Lineage['fairness'] = null;
  if (l.fairness !== null) {
    const reportHash = canonicalHash(l.fairness.report);
    if (l.fairness.reportHash !== undefined && l.fairness.reportHash !== reportHash) {
      throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `lineage.fairness.reportHash ${l.fairness.reportHash} is not the hash of the report supplied (${reportHash})`);
    }
    const passed = l.fairness.passed ?? reportVerdict(l.fairness.report);
    if (passed === undefined) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'lineage.fairness needs `passed` (the report carries no policy verdict)');
    fairness = { reportHash, passed, report: l.fairness.report };
  }
  const tf = await import('@tensorflow/tfjs');
  const { activeBackend } = await import('../../ml/backend.ts');
  const runtime = {
    tfjsVersion: l.runtime?.tfjsVersion ?? tf.version.tfjs,
    // The trainer should say which backend produced the weights; otherwise the one active here, if any.
    tfjsBackend: l.runtime?.tfjsBackend ?? activeBackend()?.name ?? (tf.getBackend() as string | undefined) ?? 'unknown',
    node: l.runtime?.node ?? process.version,
  };
  return Lineage.parse({ ...l, fairness, code: l.code ?? codeVersion(), runtime });
}

/**
 * Registers a finished model: writes its artifacts, stores its lineage and audits `model.registered`.
 * Registering the same content with the same lineage again returns the existing record.
 */
export async function registerModel(db: Db, stateDir: string, input: RegisterModelInput): Promise<RegisteredModel> {
  const spec = ModelSpec.safeParse(input.modelSpec);
  if (!spec.success) throw new TesseraError('TESSERA_ERR_MODEL_SPEC', `Invalid model spec: ${spec.error.issues[0]?.message ?? ''}`);
  const { countParameters } = await import('../../ml/model.ts');
  const parameters = countParameters(spec.data);
  if (input.weights.length !== parameters) {
    throw new TesseraError('TESSERA_ERR_MODEL_SPEC', `The ${spec.data.kind} model has ${parameters} parameters but ${input.weights.length} weights were given`);
  }
  if (input.weights.some((w) => !Number.isFinite(w))) throw new TesseraError('TESSERA_ERR_MODEL_SPEC', 'The weights contain NaN or Infinity');
  const name = input.name ?? jobName(input.jobSpec) ?? input.lineage.jobName ?? 'model';
  if (!MODEL_NAME_PATTERN.test(name)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Model name '${name}' must match ${MODEL_NAME_PATTERN.source}`);
  const lineage = await completeLineage(input);
  const lHash = lineageHash(lineage);
  const { version } = await writeModelArtifacts(stateDir, spec.data, input.weights);
  const at = (input.at ?? new Date()).toISOString();
  return db.transaction(() => {
    const existing = getModel(db, version);
    if (existing) {
      if (existing.lineageHash === lHash && existing.name === name) return existing;
      throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Model ${version} is already registered (as '${existing.name}') with a different lineage`);
    }
    db.prepare('INSERT INTO models (version, name, registered_at, model_spec, parameters, lineage, lineage_hash, job_spec) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      version,
      name,
      at,
      canonicalJson(spec.data),
      parameters,
      canonicalJson(lineage),
      lHash,
      input.jobSpec === undefined ? null : canonicalJson(input.jobSpec),
    );
    appendAudit(db, {
      actor: input.actor ?? 'coordinator',
      ...(input.attest ? { attest: input.attest } : {}),
      action: AUDIT_ACTIONS.modelRegistered,
      subject: version,
      details: {
        name,
        lineageHash: lHash,
        jobId: lineage.jobId,
        jobSpecHash: lineage.jobSpecHash,
        rounds: lineage.rounds,
        epsilon: lineage.privacy.epsilon,
        fairnessReportHash: lineage.fairness?.reportHash ?? null,
      },
      time: new Date(at),
    });
    return getModel(db, version) as RegisteredModel;
  }).immediate();
}

export function getModel(db: Db, version: string): RegisteredModel | undefined {
  const row = db.prepare('SELECT * FROM models WHERE version = ?').get(version) as Row | undefined;
  return row ? toModel(row) : undefined;
}

/** Finds a model by its full version or a unique prefix of at least 8 hex characters (for the CLI). */
export function resolveModel(db: Db, versionOrPrefix: string): RegisteredModel {
  const v = versionOrPrefix.trim().toLowerCase();
  if (!/^[0-9a-f]{8,64}$/.test(v)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `'${versionOrPrefix}' is not a model version (at least 8 hex characters)`);
  const rows = db.prepare("SELECT * FROM models WHERE version LIKE ? || '%' LIMIT 2").all(v) as Row[];
  if (rows.length === 0) throw new TesseraError('TESSERA_ERR_NOT_FOUND', `No model version ${v} in the registry`);
  if (rows.length > 1) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `Version prefix ${v} is ambiguous; give more characters`);
  return toModel(rows[0] as Row);
}

export function listModels(db: Db, options: { name?: string } = {}): RegisteredModel[] {
  const rows = options.name === undefined
    ? (db.prepare('SELECT * FROM models ORDER BY registered_at, version').all() as Row[])
    : (db.prepare('SELECT * FROM models WHERE name = ? ORDER BY registered_at, version').all(options.name) as Row[]);
  return rows.map(toModel);
}
