/**
 * `tessera models quantize` (issue 20 §8): an int8 version of a registered model, registered as a new version
 * with lineage to its parent (`derivedFrom`). The registered artifact holds the dequantised float32 weights, so
 * serving, the deploy gate and the model card treat it like any version; the packed int8 file
 * (`<state>/artifacts/int8/<version>.bin`, ml/quantize-int8.ts) is what a constrained deployment ships, and its
 * SHA-256 is in the lineage. Before registering, the int8 file is unpacked and must give the float32 weights bit
 * for bit. Held-out accuracy of parent and child on the same rows goes into the lineage (approvers sign it).
 *
 * The child keeps the parent's training facts (participation, privacy spent, fairness and contract evidence,
 * job spec): quantisation is post-processing of the released weights, so the parent's (ε, δ) still bounds it
 * (Dwork and Roth, "The Algorithmic Foundations of Differential Privacy", 2014, Proposition 2.1).
 */
import type { AuditAttest } from '../audit/attribution.ts';
import { randomBytes } from 'node:crypto';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Examples } from '../../datasets/types.ts';
import { sha256Hex } from '../../lib/hash.ts';
import { TesseraError } from '../../protocol/errors.ts';
import { PRIVATE_FILE_MODE, ensurePrivateDir } from '../state/file-modes.ts';
import { artifactsDir, type Db } from '../state/database.ts';
import { loadModelArtifact } from './artifacts.ts';
import type { DerivedFrom } from './lineage.ts';
import { registerModel, resolveModel, type RegisteredModel } from './registry.ts';

export const INT8_SCHEME = 'symmetric per-output-channel int8 kernels, float32 biases';

export interface QuantizeOptions {
  readonly version: string;
  /** Held-out rows to measure the accuracy change on, and the data set's name for the lineage. */
  readonly heldOut?: { readonly dataset: string; readonly examples: Examples };
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
  const { weightShapes, buildModel } = await import('../../ml/model.ts');
  const { quantizeInt8, unpackInt8 } = await import('../../ml/quantize-int8.ts');
  const q = quantizeInt8(artifact.weights, weightShapes(artifact.modelSpec));
  const roundTrip = unpackInt8(q.packed);
  if (roundTrip.length !== q.weights.length || roundTrip.some((w, i) => !Object.is(w, q.weights[i]))) {
    throw new TesseraError('TESSERA_ERR_INTERNAL', 'the packed int8 file does not dequantise to the quantised weights');
  }

  let heldOut: DerivedFrom['heldOut'] = null;
  if (options.heldOut !== undefined) {
    const { initBackend } = await import('../../ml/backend.ts');
    const { setFlatWeights } = await import('../../ml/weights.ts');
    const { evaluate } = await import('../../ml/train.ts');
    await initBackend();
    const accuracyOf = (weights: Float32Array): number => {
      const m = buildModel(artifact.modelSpec, { seed: 0 });
      try {
        setFlatWeights(m, weights);
        return evaluate(m, options.heldOut?.examples as Examples).accuracy;
      } finally {
        m.dispose();
      }
    };
    const parentAccuracy = accuracyOf(artifact.weights);
    const accuracy = accuracyOf(q.weights);
    heldOut = { dataset: options.heldOut.dataset, examples: options.heldOut.examples.n, parentAccuracy, accuracy, accuracyDelta: accuracy - parentAccuracy };
  }

  const derivedFrom: DerivedFrom = {
    parent: parent.version,
    transform: 'int8-weights',
    scheme: INT8_SCHEME,
    int8Sha256: sha256Hex(q.packed),
    sizeBytes: { parent: artifact.weights.byteLength, int8: q.packed.byteLength },
    maxAbsWeightError: q.maxAbsError,
    heldOut,
  };
  // The training facts are the parent's; code and runtime are this process's (the registry fills them in).
  const { code: _code, runtime: _runtime, ...facts } = parent.lineage;
  const model = await registerModel(db, stateDir, {
    modelSpec: artifact.modelSpec,
    weights: q.weights,
    lineage: { ...facts, derivedFrom, ...(heldOut !== null ? { metrics: { ...facts.metrics, heldOutAccuracy: heldOut.accuracy } } : {}) },
    name: parent.name,
    ...(parent.jobSpec !== null ? { jobSpec: parent.jobSpec } : {}),
    ...(options.actor !== undefined ? { actor: options.actor } : {}),
    ...(options.attest ? { attest: options.attest } : {}),
  });
  const path = int8Path(stateDir, model.version);
  writeAtomically(stateDir, path, q.packed);
  return { parent, model, derivedFrom, int8Path: path };
}
