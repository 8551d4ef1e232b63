import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { canonicalHash } from '../../lib/canonical-json.ts';
import type { ModelSpec } from '../../protocol/job/model.ts';
import { sha256Hex } from '../../lib/hash.ts';
import { initBackend } from '../../ml/backend.ts';
import { buildModel } from '../../ml/model.ts';
import { setFlatWeights } from '../../ml/weights.ts';
import { HEART_LOGISTIC, fixtureLineage, fixtureWeights, tempStateDir } from '../../test/governance-fixtures.ts';
import { openDatabase } from '../state/database.ts';
import { readAuditEntries } from '../audit/log.ts';
import { verifyAuditLog } from '../audit/verify.ts';
import { MODEL_FORMAT, loadModelArtifact, modelDir, modelVersion } from './artifacts.ts';
import { getModel, listModels, registerModel, resolveModel } from './registry.ts';

const cleanups: Array<() => void> = [];
beforeAll(async () => {
  await initBackend();
});
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function state(): string {
  const s = tempStateDir();
  cleanups.push(s.cleanup);
  return s.dir;
}

describe('model registry', () => {
  it('registers a content-addressed version with lineage, artifacts and an audit entry', async () => {
    const dir = state();
    const db = openDatabase(dir);
    const weights = fixtureWeights(28, 'w1');
    const m = await registerModel(db, dir, { modelSpec: HEART_LOGISTIC, weights, lineage: fixtureLineage(), name: 'heart' });
    // The version is recomputable from the two files: SHA-256 over canonical {format, topology hash, weights hash}.
    const expected = canonicalHash({ format: MODEL_FORMAT, topology: canonicalHash(HEART_LOGISTIC), weights: sha256Hex(new Uint8Array(weights.buffer)) });
    expect(m.version).toBe(expected);
    expect(modelVersion(HEART_LOGISTIC, weights)).toBe(expected);
    expect(m.parameters).toBe(28);
    expect(m.lineage.code.version).toBe('0.1.0');
    expect(m.lineage.runtime.node).toBe(process.version);
    expect(m.lineage.runtime.tfjsVersion).toBe(tf.version.tfjs);
    expect(m.lineage.fairness?.reportHash).toBe(canonicalHash(fixtureLineage().fairness?.report));
    expect(m.lineage.fairness?.passed).toBe(true);
    expect(m.lineageHash).toBe(canonicalHash(m.lineage));
    expect(getModel(db, m.version)).toEqual(m);
    expect(resolveModel(db, m.version.slice(0, 10))).toEqual(m);
    expect(listModels(db).map((x) => x.version)).toEqual([m.version]);

    const files = modelDir(dir, m.version);
    expect(readFileSync(join(files, 'weights.bin')).length).toBe(28 * 4);
    expect(statSync(files).isDirectory()).toBe(true);
    const entries = readAuditEntries(db, { action: 'model.registered' });
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ subject: m.version, details: { lineageHash: m.lineageHash, epsilon: 2.5 } });
    expect(verifyAuditLog(db).ok).toBe(true);

    // Same content and lineage again: the same record, no second audit entry.
    const again = await registerModel(db, dir, { modelSpec: HEART_LOGISTIC, weights, lineage: fixtureLineage(), name: 'heart' });
    expect(again).toEqual(m);
    expect(readAuditEntries(db, { action: 'model.registered' })).toHaveLength(1);
    db.close();
  });

  it('writes a model.json that tf.loadLayersModel loads and that predicts like the flat weights', async () => {
    const dir = state();
    const db = openDatabase(dir);
    const spec: ModelSpec = { kind: 'mlp', inputs: 13, hidden: [8], classes: 2, activation: 'relu', l2: 0 };
    const weights = fixtureWeights(13 * 8 + 8 + 8 * 2 + 2, 'mlp');
    const m = await registerModel(db, dir, { modelSpec: spec, weights, lineage: fixtureLineage(), name: 'heart-mlp' });
    const files = modelDir(dir, m.version);
    const json = JSON.parse(readFileSync(join(files, 'model.json'), 'utf8')) as {
      modelTopology: object;
      weightsManifest: Array<{ paths: string[]; weights: tf.io.WeightsManifestEntry[] }>;
    };
    expect(json.weightsManifest[0]?.paths).toEqual(['weights.bin']);
    const bin = readFileSync(join(files, 'weights.bin'));
    const loaded = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0]?.weights ?? [], weightData: new Uint8Array(bin).buffer }),
    );
    const reference = buildModel(spec, { seed: 7 });
    setFlatWeights(reference, weights);
    const x = tf.tensor2d(Array.from({ length: 5 * 13 }, (_, i) => Math.sin(i)), [5, 13]);
    const a = (loaded.predict(x) as tf.Tensor).arraySync() as number[][];
    const b = (reference.predict(x) as tf.Tensor).arraySync() as number[][];
    for (const [i, row] of a.entries()) for (const [j, v] of row.entries()) expect(v).toBeCloseTo(b[i]?.[j] ?? NaN, 6);
    const back = loadModelArtifact(dir, m.version);
    expect(back.modelSpec).toEqual(spec);
    expect(Array.from(back.weights)).toEqual(Array.from(weights));
    db.close();
  });

  it('refuses altered artifacts, wrong weight counts and a fairness hash that does not match the report', async () => {
    const dir = state();
    const db = openDatabase(dir);
    const weights = fixtureWeights(28, 'w2');
    const m = await registerModel(db, dir, { modelSpec: HEART_LOGISTIC, weights, lineage: fixtureLineage(), name: 'heart' });
    const bin = join(modelDir(dir, m.version), 'weights.bin');
    const bytes = readFileSync(bin);
    bytes[0] = (bytes[0] ?? 0) ^ 1;
    writeFileSync(bin, bytes);
    expect(() => loadModelArtifact(dir, m.version)).toThrow(/altered/);
    await expect(registerModel(db, dir, { modelSpec: HEART_LOGISTIC, weights: new Float32Array(27), lineage: fixtureLineage() })).rejects.toThrow(/28 parameters/);
    const lineage = fixtureLineage({ fairness: { reportHash: 'a'.repeat(64), report: { policy: { passed: true, rules: [] } } } });
    await expect(registerModel(db, dir, { modelSpec: HEART_LOGISTIC, weights: fixtureWeights(28, 'w3'), lineage })).rejects.toThrow(/not the hash of the report/);
    await expect(registerModel(db, dir, { modelSpec: HEART_LOGISTIC, weights: fixtureWeights(28, 'w4'), lineage: fixtureLineage(), jobSpec: { name: 'other' } })).rejects.toThrow(/jobSpecHash/);
    expect(existsSync(modelDir(dir, modelVersion(HEART_LOGISTIC, fixtureWeights(28, 'w4'))))).toBe(false);
    db.close();
  });
});
