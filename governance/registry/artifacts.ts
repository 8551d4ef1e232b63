/**
 * Model artifacts on disk, content-addressed under `<state>/artifacts/models/<version>/`: a TensorFlow.js
 * `model.json` (format 'layers-model': the Layers topology and a weights manifest, loadable with
 * `tf.loadLayersModel`) and `weights.bin` (the flat float32 weight vector, little-endian, in
 * `model.getWeights()` order, which is also the manifest's order). The Tessera model spec rides along in
 * `userDefinedMetadata.tessera`, so reading a model back needs no TensorFlow.js.
 *
 * The version is SHA-256 over the RFC 8785 canonical JSON of {format, topology: SHA-256 of the canonical
 * model spec, weights: SHA-256 of weights.bin}: anyone can recompute it from the two files. Both files are
 * written into a temporary directory, fsynced, and the directory renamed into place (rename is atomic on
 * POSIX), so a reader never sees half a model.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { PRIVATE_DIR_MODE, PRIVATE_FILE_MODE, ensurePrivateDir } from '../state/file-modes.ts';
import { endianness } from 'node:os';
import { join } from 'node:path';
import type { io } from '@tensorflow/tfjs';
import { z } from 'zod';
import { canonicalHash } from '../../lib/canonical-json.ts';
import { sha256Hex } from '../../lib/hash.ts';
import { TesseraError } from '../../protocol/errors.ts';
import { ModelSpec } from '../../protocol/job/model.ts';
import { artifactsDir } from '../state/database.ts';

export const MODEL_FORMAT = 'tessera-model/v1';
export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

export const Version = z.string().regex(/^[0-9a-f]{64}$/, 'a model version is a 64-character lower-case hex SHA-256');

function weightBytes(weights: Float32Array): Uint8Array {
  if (endianness() !== 'LE') throw new TesseraError('TESSERA_ERR_INTERNAL', 'weights.bin is little-endian; big-endian hosts are not supported');
  return new Uint8Array(weights.buffer, weights.byteOffset, weights.byteLength);
}

/** The content address of a model: its spec (topology) and its weights. */
export function modelVersion(spec: ModelSpec, weights: Float32Array): string {
  return canonicalHash({ format: MODEL_FORMAT, topology: canonicalHash(ModelSpec.parse(spec)), weights: sha256Hex(weightBytes(weights)) });
}

export function modelDir(stateDir: string, version: string): string {
  const v = Version.safeParse(version);
  if (!v.success) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `'${version}' is not a model version (64 hex characters)`);
  return join(artifactsDir(stateDir), 'models', v.data);
}

function writeSynced(path: string, data: Uint8Array | string): void {
  const fd = openSync(path, 'wx', PRIVATE_FILE_MODE);
  try {
    if (typeof data === 'string') writeSync(fd, data);
    else writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The tfjs model.json for a spec and its weights (builds the model once to get the Layers topology). */
async function tfjsModelJson(spec: ModelSpec, weights: Float32Array, version: string): Promise<Record<string, unknown>> {
  const tf = await import('@tensorflow/tfjs');
  const { initBackend } = await import('../../ml/backend.ts');
  const { buildModel } = await import('../../ml/model.ts');
  const { setFlatWeights } = await import('../../ml/weights.ts');
  await initBackend();
  const model = buildModel(spec, { seed: 0 });
  try {
    setFlatWeights(model, weights);
    let saved: io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    if (!saved?.weightSpecs || !saved.modelTopology) throw new TesseraError('TESSERA_ERR_INTERNAL', 'TensorFlow.js returned no topology or weight specs');
    const savedBytes = saved.weightData instanceof ArrayBuffer ? new Uint8Array(saved.weightData) : undefined;
    if (!savedBytes || Buffer.compare(Buffer.from(savedBytes), Buffer.from(weightBytes(weights))) !== 0) {
      throw new TesseraError('TESSERA_ERR_INTERNAL', 'TensorFlow.js serialised the weights in a different order than the flat weight vector');
    }
    return {
      format: 'layers-model',
      generatedBy: saved.generatedBy ?? `TensorFlow.js ${tf.version.tfjs}`,
      convertedBy: null,
      modelTopology: saved.modelTopology,
      weightsManifest: [{ paths: [WEIGHTS_BIN], weights: saved.weightSpecs }],
      userDefinedMetadata: { tessera: { format: MODEL_FORMAT, version, modelSpec: spec } },
    };
  } finally {
    model.dispose();
  }
}

/** Writes the artifacts of a model (idempotent: an existing, intact version directory is kept). */
export async function writeModelArtifacts(stateDir: string, spec: ModelSpec, weights: Float32Array): Promise<{ version: string; dir: string }> {
  const parsed = ModelSpec.parse(spec);
  const version = modelVersion(parsed, weights);
  const dir = modelDir(stateDir, version);
  if (existsSync(dir)) {
    loadModelArtifact(stateDir, version); // throws if the existing copy is corrupted
    return { version, dir };
  }
  const modelJson = await tfjsModelJson(parsed, weights, version);
  const parent = join(artifactsDir(stateDir), 'models');
  ensurePrivateDir(artifactsDir(stateDir));
  ensurePrivateDir(parent);
  const tmp = join(parent, `.tmp-${version.slice(0, 16)}-${randomBytes(6).toString('hex')}`);
  mkdirSync(tmp, { mode: PRIVATE_DIR_MODE });
  try {
    writeSynced(join(tmp, WEIGHTS_BIN), weightBytes(weights));
    writeSynced(join(tmp, MODEL_JSON), `${JSON.stringify(modelJson, null, 2)}\n`);
    fsyncDir(tmp);
    try {
      renameSync(tmp, dir);
    } catch (cause) {
      // Another writer renamed the same content into place first; theirs is identical by construction.
      if (!existsSync(dir)) throw cause;
    }
    fsyncDir(parent);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return { version, dir };
}

const ModelJson = z.object({
  format: z.literal('layers-model'),
  weightsManifest: z.array(z.object({ paths: z.array(z.string()) })).min(1),
  userDefinedMetadata: z.object({ tessera: z.object({ format: z.literal(MODEL_FORMAT), version: Version, modelSpec: z.unknown() }) }),
});

export interface ModelArtifact {
  readonly version: string;
  readonly modelSpec: ModelSpec;
  readonly weights: Float32Array;
}

/** Reads a model back and checks that its content still hashes to its version. */
export function loadModelArtifact(stateDir: string, version: string): ModelArtifact {
  const dir = modelDir(stateDir, version);
  let json: unknown;
  let bytes: Buffer;
  try {
    json = JSON.parse(readFileSync(join(dir, MODEL_JSON), 'utf8'));
    bytes = readFileSync(join(dir, WEIGHTS_BIN));
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_NOT_FOUND', `No readable artifacts for model ${version} in ${dir}: ${String(cause)}`, { cause });
  }
  const meta = ModelJson.safeParse(json);
  if (!meta.success) throw new TesseraError('TESSERA_ERR_STATE', `${join(dir, MODEL_JSON)} is not a Tessera model.json`);
  const spec = ModelSpec.safeParse(meta.data.userDefinedMetadata.tessera.modelSpec);
  if (!spec.success) throw new TesseraError('TESSERA_ERR_STATE', `${join(dir, MODEL_JSON)} holds an invalid model spec`);
  if (bytes.length % 4 !== 0) throw new TesseraError('TESSERA_ERR_STATE', `${join(dir, WEIGHTS_BIN)} is not a float32 vector`);
  const weights = new Float32Array(bytes.length / 4);
  new Uint8Array(weights.buffer).set(bytes);
  const actual = modelVersion(spec.data, weights);
  if (actual !== version) throw new TesseraError('TESSERA_ERR_STATE', `Model artifacts in ${dir} hash to ${actual}, not ${version}: the files were altered`);
  return { version, modelSpec: spec.data, weights };
}
