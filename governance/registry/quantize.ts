/**
 * `tessera models quantize` (issue 20 §8): an int8 version of a registered model, registered as a new version
 * with lineage to its parent (`derivedFrom`). The registered artifact holds the dequantised float32 weights, so
 * serving, the deploy gate and the model card treat it like any version; the packed int8 file
 * (`<state>/artifacts/int8/<version>.bin`, ml/quantize-int8.ts) is what a constrained deployment ships, and its
 * SHA-256 is in the lineage. The registered weights are the int8 file unpacked, so the two agree bit for bit.
 *
 * The child keeps the parent's training facts (participation, privacy spent, contract evidence, job spec):
 * quantisation is post-processing of the released weights, so the parent's (ε, δ) still bounds it (Dwork and
 * Roth, "The Algorithmic Foundations of Differential Privacy", 2014, Proposition 2.1). Its held-out performance
 * and fairness are its own (`derivedFrom.evidence`, measured on the held-out rows given — with the parent on the
 * same rows); the lineage hash that approvers sign covers them.
 */
import type { AuditAttest } from '../audit/attribution.ts';
import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../../lib/hash.ts';
import { TesseraError } from '../../protocol/errors.ts';
import { PRIVATE_FILE_MODE, ensurePrivateDir } from '../state/file-modes.ts';
import { artifactsDir, type Db } from '../state/database.ts';
import { loadModelArtifact } from './artifacts.ts';
import type { DerivedEvidence } from './derived-evidence.ts';
import { measureDerivedEvidence, type HeldOutRows } from './derived-evaluate.ts';
import type { DerivedFrom } from './lineage.ts';
import { registerModel, resolveModel, type RegisteredModel } from './registry.ts';

export const INT8_SCHEME = 'symmetric per-output-channel int8 kernels, float32 biases';

export interface QuantizeOptions {
  readonly version: string;
  /**
   * Held-out rows to measure the version's own evidence on (derived-evidence.ts), and the data set's name. Without
   * them the version registers, but the deployment gate refuses it (`derived-evidence-missing`).
   */
  readonly heldOut?: HeldOutRows;
  readonly actor?: string;
  readonly attest?: AuditAttest;
}

export interface QuantizeResult {
  readonly parent: RegisteredModel;
  readonly model: RegisteredModel;
  readonly derivedFrom: DerivedFrom;
  readonly int8Path: string;
}

export function int8Path(stateDir: string, version: string): string {
  return join(artifactsDir(stateDir), 'int8', `${version}.bin`);
}

function writeAtomically(stateDir: string, path: string, bytes: Uint8Array): void {
  ensurePrivateDir(artifactsDir(stateDir));
  ensurePrivateDir(join(artifactsDir(stateDir), 'int8'));
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, bytes, { mode: PRIVATE_FILE_MODE, flag: 'wx' });
  renameSync(tmp, path);
}

export async function quantizeRegisteredModel(db: Db, stateDir: string, options: QuantizeOptions): Promise<QuantizeResult> {
  const parent = resolveModel(db, options.version);
  if (parent.lineage.derivedFrom !== undefined) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `model ${parent.version} is already an ${parent.lineage.derivedFrom.transform} version of ${parent.lineage.derivedFrom.parent}; quantise the parent`);
  const artifact = loadModelArtifact(stateDir, parent.version);
  const { weightShapes } = await import('../../ml/model.ts');
  const { quantizeInt8, unpackInt8 } = await import('../../ml/quantize-int8.ts');
  const q = quantizeInt8(artifact.weights, weightShapes(artifact.modelSpec));
  const roundTrip = unpackInt8(q.packed);
  if (roundTrip.length !== q.weights.length || roundTrip.some((w, i) => !Object.is(w, q.weights[i]))) {
    throw new TesseraError('TESSERA_ERR_INTERNAL', 'the packed int8 file does not dequantise to the quantised weights');
  }
  return registerInt8Version(db, stateDir, { ...options, packed: q.packed, maxAbsWeightError: q.maxAbsError });
}

/**
 * Registers the int8 version a packed file describes: the file must dequantise to the weights registered, and
 * the held-out evidence (derived-evaluate.ts) is measured on exactly those weights — so whatever produced the
 * file, a damaged transformation shows in the version's own figures. `quantizeRegisteredModel` calls it with a
 * file it just made; an insider calling it with a doctored file gets evidence of the doctored weights.
 */
export async function registerInt8Version(db: Db, stateDir: string, options: QuantizeOptions & { packed: Uint8Array; maxAbsWeightError: number }): Promise<QuantizeResult> {
  const parent = resolveModel(db, options.version);
  const artifact = loadModelArtifact(stateDir, parent.version);
  const { unpackInt8 } = await import('../../ml/quantize-int8.ts');
  const weights = unpackInt8(options.packed);
  if (weights.length !== artifact.weights.length) throw new TesseraError('TESSERA_ERR_INTERNAL', `the packed int8 file holds ${weights.length} weights; the parent has ${artifact.weights.length}`);

  let heldOut: DerivedFrom['heldOut'] = null;
  let evidence: DerivedEvidence | undefined;
  if (options.heldOut !== undefined) {
    evidence = await measureDerivedEvidence({ modelSpec: artifact.modelSpec, parentWeights: artifact.weights, weights, heldOut: options.heldOut, parentJobSpec: parent.jobSpec });
    heldOut = { dataset: options.heldOut.dataset, examples: evidence.examples, parentAccuracy: evidence.parent.accuracy, accuracy: evidence.model.accuracy, accuracyDelta: evidence.model.accuracy - evidence.parent.accuracy };
  }

  const derivedFrom: DerivedFrom = {
    parent: parent.version,
    transform: 'int8-weights',
    scheme: INT8_SCHEME,
    int8Sha256: sha256Hex(options.packed),
    sizeBytes: { parent: artifact.weights.byteLength, int8: options.packed.byteLength },
    maxAbsWeightError: options.maxAbsWeightError,
    heldOut,
    ...(evidence !== undefined ? { evidence } : {}),
  };
  // The training facts are the parent's; code and runtime are this process's (the registry fills them in). The
  // parent's performance and fairness sections stay as they were (the lineage says where it came from), but the
  // gate judges a derived version by `derivedFrom.evidence` alone (governance/deploy/derived-gate.ts).
  const { code: _code, runtime: _runtime, ...facts } = parent.lineage;
  const model = await registerModel(db, stateDir, {
    modelSpec: artifact.modelSpec,
    weights,
    lineage: { ...facts, derivedFrom, ...(heldOut !== null ? { metrics: { ...facts.metrics, heldOutAccuracy: heldOut.accuracy } } : {}) },
    name: parent.name,
    ...(parent.jobSpec !== null ? { jobSpec: parent.jobSpec } : {}),
    ...(options.actor !== undefined ? { actor: options.actor } : {}),
    ...(options.attest ? { attest: options.attest } : {}),
  });
  const path = int8Path(stateDir, model.version);
  writeAtomically(stateDir, path, options.packed);
  return { parent, model, derivedFrom, int8Path: path };
}
