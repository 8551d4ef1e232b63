/**
 * ATTACK (review 3's finding: an int8 version deployed on its parent's evidence). An insider with the state
 * directory derives an int8 version whose accuracy is destroyed — one kernel's per-channel scales corrupted in the
 * packed file (sign flipped, ×40) — and tries to deploy it, on real Heart data with a real trained MLP, a real
 * state directory, real Ed25519 approvals and the real gate.
 *
 * The claim: a derived version deploys only on held-out evidence of its own (governance/deploy/derived-gate.ts).
 * - Registered the old way (the parent's lineage copied, no evidence of its own) and approved for itself: refused,
 *   `derived-evidence-missing`, the message naming the command that produces the evidence.
 * - The parent's approvals copied under the derived version (straight into SQLite): they sign the parent's version
 *   and lineage hash, so they are `model-mismatch` — blocking — and never count (governance/approvals/record.ts).
 * - Registered through the evidence path with the corrupted file: its own figures show the damage (accuracy far
 *   below the parent's on the same rows), refused `performance-below-baseline` naming both accuracies.
 * - CONTROL: `tessera models quantize --dataset heart` (a real CLI process) on the same parent registers a version
 *   whose own accuracy is within a point of its parent's and whose own fairness report passes; with its own
 *   approvals it deploys, and its model card shows both columns and the difference.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApproval } from '../governance/approvals/record.ts';
import { recordApproval } from '../governance/approvals/store.ts';
import { deployModel } from '../governance/deploy/deployments.ts';
import { keyPairFromSeed } from '../governance/identity/ed25519.ts';
import { renderModelCardMarkdown } from '../governance/model-card/card.ts';
import { generateModelCard } from '../governance/model-card/generate.ts';
import { loadModelArtifact } from '../governance/registry/artifacts.ts';
import { registerInt8Version } from '../governance/registry/quantize.ts';
import { getModel, registerModel, type RegisteredModel } from '../governance/registry/registry.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { sha256Hex } from '../lib/hash.ts';
import { loadDataset } from '../datasets/index.ts';
import { featureSize } from '../datasets/types.ts';
import { initBackend } from '../ml/backend.ts';
import { buildModel, weightShapes } from '../ml/model.ts';
import { quantizeInt8, unpackInt8 } from '../ml/quantize-int8.ts';
import { trainLocal } from '../ml/train.ts';
import { getFlatWeights } from '../ml/weights.ts';
import type { ModelSpec } from '../protocol/job/model.ts';
import { cli } from './support/cli.ts';
import { fixtureLineage, initTestRegistry, tempStateDir } from './governance-fixtures.ts';

const DATA = process.env.TESSERA_DATA_DIR ?? '/work/shared/data';
const officer = keyPairFromSeed(new Uint8Array(32).fill(81));
const owner = keyPairFromSeed(new Uint8Array(32).fill(82));
let state: { dir: string; cleanup: () => void };
let db: Db;
let parent: RegisteredModel;
let spec: ModelSpec;
const heart = loadDataset('heart', { dataDir: DATA });

function approve(m: RegisteredModel): void {
  for (const [key, role] of [[officer, 'privacy-officer'], [owner, 'model-owner']] as const) recordApproval(db, createApproval({ model: m, role, decision: 'approve', key, validForMs: 86_400_000 }));
}

/** The parent's int8 file with the first kernel's scales corrupted (the sign flipped and × `factor`). */
function corruptedPacked(factor: number): Uint8Array {
  const shapes = weightShapes(spec);
  const q = quantizeInt8(loadModelArtifact(state.dir, parent.version).weights, shapes);
  const packed = Uint8Array.from(q.packed);
  const view = new DataView(packed.buffer);
  const scalesAt = 8 + shapes.length * 20; // header, then the first tensor (a kernel): its float32 scales first
  const channels = shapes[0]?.at(-1) ?? 0;
  for (let c = 0; c < channels; c++) view.setFloat32(scalesAt + 4 * c, -factor * view.getFloat32(scalesAt + 4 * c, true), true);
  return packed;
}

const gateCodes = (r: ReturnType<typeof deployModel>): string[] => (r.gate?.unmet ?? []).map((u) => u.code);

beforeAll(async () => {
  await initBackend();
  state = tempStateDir('tessera-derived-evidence-');
  db = openDatabase(state.dir);
  initTestRegistry(db, [
    { name: 'Officer', key: officer, roles: ['privacy-officer'] },
    { name: 'Owner', key: owner, roles: ['model-owner'] },
  ]);
  spec = { kind: 'mlp', inputs: featureSize(heart.train), hidden: [32], classes: 2, activation: 'relu', l2: 0 };
  const m = buildModel(spec, { seed: 5 });
  await trainLocal(m, heart.train, { epochs: 15, batchSize: 32, learningRate: 0.01, optimizer: 'adam', shuffleSeed: 5 });
  // The parent's job evaluated fairness by sex; its lineage carries passing federated evidence.
  const jobSpec = { name: 'heart', model: spec, data: { dataset: 'heart' }, rounds: 3, fairness: { enabled: true, sensitive: ['sex'], minGroupSize: 5, policy: [{ metric: 'accuracyGap', attribute: 'sex', max: 0.4 }] } };
  parent = await registerModel(db, state.dir, { modelSpec: spec, weights: getFlatWeights(m), jobSpec, lineage: fixtureLineage({ jobSpecHash: undefined }), name: 'heart' });
  m.dispose();
  approve(parent);
  expect(deployModel(db, state.dir, { version: parent.version, stage: 'production', actor: 'test' }).ok).toBe(true);
}, 120_000);

afterAll(() => {
  db.close();
  state.cleanup();
});

describe('a derived version deploys only on its own held-out evidence', () => {
  it('ATTACK: a corrupted int8 version carrying its parent\'s evidence, approved for itself, is refused: derived-evidence-missing', async () => {
    const packed = corruptedPacked(40);
    // The old derivation: the parent's lineage copied whole (its federated performance and fairness included).
    const { code: _c, runtime: _r, ...facts } = parent.lineage;
    const forged = await registerModel(db, state.dir, {
      modelSpec: spec,
      weights: unpackInt8(packed),
      jobSpec: parent.jobSpec,
      name: 'heart',
      lineage: { ...facts, derivedFrom: { parent: parent.version, transform: 'int8-weights', scheme: 'symmetric per-output-channel int8 kernels, float32 biases', int8Sha256: sha256Hex(packed), sizeBytes: { parent: 1, int8: packed.byteLength }, maxAbsWeightError: 0, heldOut: null } },
    });
    expect(forged.lineage.performance).toEqual(parent.lineage.performance);
    approve(forged);
    const r = deployModel(db, state.dir, { version: forged.version, stage: 'canary', percent: 10, actor: 'insider' });
    expect(r.ok).toBe(false);
    expect(gateCodes(r)).toEqual(['derived-evidence-missing']);
    expect(r.gate?.unmet[0]?.message).toMatch(/do not count for it.*tessera models quantize [0-9a-f]{12} --dataset NAME/);
  }, 60_000);

  it('ATTACK: the parent\'s approvals copied under the derived version are model-mismatch and never count', async () => {
    const child = await registerInt8Version(db, state.dir, { version: parent.version, packed: corruptedPacked(41), maxAbsWeightError: 0 });
    const parentApprovals = db.prepare('SELECT * FROM approvals WHERE model_version = ?').all(parent.version) as Array<Record<string, unknown>>;
    expect(parentApprovals.length).toBe(2);
    const columns = Object.keys(parentApprovals[0] ?? {});
    const copy = (a: Record<string, unknown>, c: string): unknown => (c === 'model_version' ? child.model.version : c === 'id' ? `${String(a.id)}-copied` : a[c]);
    for (const a of parentApprovals) db.prepare(`INSERT INTO approvals (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`).run(...columns.map((c) => copy(a, c)));
    const r = deployModel(db, state.dir, { version: child.model.version, stage: 'canary', percent: 10, actor: 'insider' });
    expect(r.ok).toBe(false);
    expect(gateCodes(r)).toEqual(expect.arrayContaining(['model-mismatch', 'quorum-unmet', 'derived-evidence-missing']));
    expect(r.gate?.counted).toEqual([]);
  }, 60_000);

  it('ATTACK: the corrupted file through the evidence path shows its own collapse: performance-below-baseline', async () => {
    const r0 = await registerInt8Version(db, state.dir, { version: parent.version, packed: corruptedPacked(42), maxAbsWeightError: 0, heldOut: { dataset: 'heart', examples: heart.test } });
    const e = r0.model.lineage.derivedFrom?.evidence;
    expect(e?.examples).toBe(heart.test.n);
    expect((e?.parent.accuracy ?? 0) - (e?.model.accuracy ?? 1)).toBeGreaterThan(0.2);
    approve(r0.model);
    const r = deployModel(db, state.dir, { version: r0.model.version, stage: 'canary', percent: 10, actor: 'insider' });
    expect(r.ok).toBe(false);
    expect(gateCodes(r)).toContain('performance-below-baseline');
    expect(r.gate?.unmet.find((u) => u.code === 'performance-below-baseline')?.message).toMatch(/int8-weights version's own held-out accuracy [\d.]+ \(parent [0-9a-f]{12}: [\d.]+ on the same \d+ rows of heart\)/);
  }, 60_000);

  it('CONTROL: tessera models quantize --dataset heart gives the version its own passing evidence; approved for itself, it deploys', async () => {
    const keyFile = join(state.dir, 'owner.key');
    writeFileSync(keyFile, Buffer.from(new Uint8Array(32).fill(82)).toString('hex'), { mode: 0o600 });
    const q = await cli('models', 'quantize', parent.version.slice(0, 12), '--state', state.dir, '--dataset', 'heart', '--data-dir', DATA, '--key', keyFile, '--json');
    expect(q.code, q.stderr).toBe(0);
    const child = getModel(db, (JSON.parse(q.stdout) as { version: string }).version);
    const e = child?.lineage.derivedFrom?.evidence;
    expect(e).toMatchObject({ source: 'held-out-split', dataset: 'heart', examples: heart.test.n, fairness: { passed: true } });
    expect(Math.abs((e?.model.accuracy ?? 0) - (e?.parent.accuracy ?? 1))).toBeLessThan(0.02);
    if (!child) throw new Error('no child');
    approve(child);
    const r = deployModel(db, state.dir, { version: child.version, stage: 'canary', percent: 10, actor: 'test' });
    expect(r.gate?.unmet ?? []).toEqual([]);
    expect(r.ok).toBe(true);
    const card = renderModelCardMarkdown(generateModelCard(db, child));
    expect(card).toMatch(/\| Accuracy \| [\d.]+ \| [\d.]+ \| -?[\d.]+ \|/);
    expect(card).toMatch(/Its own fairness report `[0-9a-f]{12}…` on these rows: passes/);
  }, 120_000);
});
