/**
 * Int8 quantisation of a registered model (issue 20 §8) on a model trained here on the real Heart data:
 * `tessera models quantize --dataset heart` (a real CLI process) registers a new version whose lineage names its
 * parent, the int8 file's hash, the size change and the accuracy of both on the same held-out rows; the int8
 * file dequantises to the new version's registered weights bit for bit; every weight moved by at most half its
 * channel's scale (Jacob et al. 2018); the model card shows the derivation; `audit verify` passes.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../datasets/index.ts';
import { featureSize } from '../datasets/types.ts';
import { loadModelArtifact } from '../governance/registry/artifacts.ts';
import { registerModel, getModel, type RegisteredModel } from '../governance/registry/registry.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { sha256Hex } from '../lib/hash.ts';
import { initBackend } from '../ml/backend.ts';
import { buildModel, weightShapes } from '../ml/model.ts';
import { quantizeInt8, unpackInt8 } from '../ml/quantize-int8.ts';
import { trainLocal } from '../ml/train.ts';
import { getFlatWeights } from '../ml/weights.ts';
import type { ModelSpec } from '../protocol/job/model.ts';
import { cli } from './support/cli.ts';
import { fixtureLineage, tempStateDir } from './governance-fixtures.ts';

const DATA = process.env.TESSERA_DATA_DIR ?? '/work/shared/data';
let state: { dir: string; cleanup: () => void };
let db: Db;
let parent: RegisteredModel;
let spec: ModelSpec;

beforeAll(async () => {
  await initBackend();
  state = tempStateDir('tessera-quantize-');
  db = openDatabase(state.dir);
  const heart = loadDataset('heart', { dataDir: DATA });
  spec = { kind: 'mlp', inputs: featureSize(heart.train), hidden: [64, 32], classes: 2, activation: 'relu', l2: 0 };
  const m = buildModel(spec, { seed: 5 });
  await trainLocal(m, heart.train, { epochs: 15, batchSize: 32, learningRate: 0.01, optimizer: 'adam', shuffleSeed: 5 });
  parent = await registerModel(db, state.dir, { modelSpec: spec, weights: getFlatWeights(m), lineage: fixtureLineage(), name: 'heart' });
  m.dispose();
}, 60_000);

afterAll(() => {
  db.close();
  state.cleanup();
});

describe('int8 quantisation', () => {
  it('moves each kernel weight by at most half its output channel’s scale and packs losslessly', () => {
    const w = loadModelArtifact(state.dir, parent.version).weights;
    const shapes = weightShapes(spec);
    const q = quantizeInt8(w, shapes);
    let offset = 0;
    for (const shape of shapes) {
      const n = shape.reduce((a, b) => a * b, 1);
      const channels = shape[shape.length - 1] ?? 1;
      for (let i = 0; i < n; i++) {
        const err = Math.abs((w[offset + i] as number) - (q.weights[offset + i] as number));
        if (shape.length === 1) expect(err).toBe(0);
        else {
          let maxAbs = 0;
          for (let j = i % channels; j < n; j += channels) maxAbs = Math.max(maxAbs, Math.abs(w[offset + j] as number));
          expect(err).toBeLessThanOrEqual((maxAbs / 127) * 0.5 + 1e-7);
        }
      }
      offset += n;
    }
    expect(Array.from(unpackInt8(q.packed))).toEqual(Array.from(q.weights));
    // One byte per kernel weight, a float32 scale per output channel, float32 biases, a 20-byte entry per tensor.
    const expectedBytes = 8 + shapes.reduce((a, s) => a + 20 + (s.length === 1 ? 4 * (s[0] ?? 0) : s.reduce((x, y) => x * y, 1) + 4 * (s[s.length - 1] ?? 0)), 0);
    expect(q.packed.byteLength).toBe(expectedBytes);
    expect(q.packed.byteLength / w.byteLength).toBeLessThan(0.35);
  });

  it('tessera models quantize registers a child version with lineage to its parent, size and held-out accuracy change', async () => {
    const r = await cli('models', 'quantize', parent.version.slice(0, 12), '--state', state.dir, '--dataset', 'heart', '--data-dir', DATA, '--json');
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { parent: string; version: string; int8Path: string };
    expect(out.parent).toBe(parent.version);
    const child = getModel(db, out.version);
    expect(child?.name).toBe('heart');
    const d = child?.lineage.derivedFrom;
    expect(d).toMatchObject({ parent: parent.version, transform: 'int8-weights' });
    expect(d?.heldOut?.examples).toBe(loadDataset('heart', { dataDir: DATA }).test.n);
    expect(Math.abs(d?.heldOut?.accuracyDelta ?? 1)).toBeLessThanOrEqual(0.03);
    expect(d?.heldOut?.parentAccuracy).toBeGreaterThan(0.6);
    expect((d?.sizeBytes.int8 ?? 1) / (d?.sizeBytes.parent ?? 1)).toBeLessThan(0.35);
    // The training facts are the parent's.
    expect(child?.lineage.privacy).toEqual(parent.lineage.privacy);
    expect(child?.lineage.participation).toEqual(parent.lineage.participation);
    // The int8 file: its hash is in the lineage and it dequantises to the registered weights exactly.
    const packed = new Uint8Array(readFileSync(out.int8Path));
    expect(sha256Hex(packed)).toBe(d?.int8Sha256);
    expect(Array.from(unpackInt8(packed))).toEqual(Array.from(loadModelArtifact(state.dir, out.version).weights));

    const card = await cli('models', 'card', out.version, '--state', state.dir);
    expect(card.stdout).toContain('## Derived version');
    expect(card.stdout).toContain(parent.version);
    const verify = await cli('audit', 'verify', '--state', state.dir);
    expect(verify.code, verify.stdout + verify.stderr).toBe(0);
    // A derived version is not derived again.
    expect((await cli('models', 'quantize', out.version, '--state', state.dir)).code).not.toBe(0);
  }, 120_000);
});
