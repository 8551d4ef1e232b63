/**
 * Review 3 (attack review of int8 versions, issue 20 §8), finding: nothing checked the int8 file against the hash
 * its lineage records.
 *
 * `tessera models quantize` writes `<state>/artifacts/int8/<version>.bin` — "what a constrained deployment ships"
 * (governance/registry/quantize.ts) — and puts its SHA-256 in the derived version's lineage, which approvers sign.
 * But no command re-hashed the file: an insider with shell access to the state directory could swap it for int8
 * weights of her own (or delete it), and `tessera audit verify` still exited 0, so the approved, audited version
 * and the file shipped as it were different models.
 *
 * The attack, through real `tessera` processes on a real state directory: quantise a registered model, then
 * replace the int8 file with a copy whose one weight byte is changed (a plausible, well-formed file). It now
 * fails because `audit verify` re-hashes every derived version's int8 file against its lineage's `int8Sha256`
 * (governance/registry/integrity.ts `int8ArtifactProblems`) and exits 1 naming the version; a deleted file is
 * named too. Control: the untouched state verifies.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerModel, type RegisteredModel } from '../governance/registry/registry.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { int8Path } from '../governance/registry/quantize.ts';
import { HEART_LOGISTIC, fixtureLineage, fixtureWeights, tempStateDir } from './governance-fixtures.ts';
import { cli } from './support/cli.ts';

let state: { dir: string; cleanup: () => void };
let parent: RegisteredModel;

beforeAll(async () => {
  state = tempStateDir('tessera-review3-int8-');
  const db: Db = openDatabase(state.dir);
  parent = await registerModel(db, state.dir, { modelSpec: HEART_LOGISTIC, weights: fixtureWeights(28, 'review3-int8'), lineage: fixtureLineage(), name: 'heart' });
  db.close();
}, 60_000);

afterAll(() => state.cleanup());

const verify = async (): Promise<{ code: number; out: string }> => {
  const r = await cli('audit', 'verify', '--state', state.dir, '--json');
  return { code: r.code, out: r.stdout + r.stderr };
};

describe('review3: the int8 file a derived version ships is checked against its lineage', () => {
  it('audit verify names an int8 file swapped or deleted after quantisation', async () => {
    const q = await cli('models', 'quantize', parent.version, '--state', state.dir, '--json');
    expect(q.code, q.stderr).toBe(0);
    const { version, int8Path: path } = JSON.parse(q.stdout) as { version: string; int8Path: string };
    expect(path).toBe(int8Path(state.dir, version));
    const honest = await verify();
    expect(honest.code, honest.out).toBe(0);

    const original = readFileSync(path);
    const swapped = Buffer.from(original);
    const last = swapped.length - 1;
    swapped[last] = ((swapped[last] ?? 0) + 1) & 0xff;
    writeFileSync(path, swapped);
    const tampered = await verify();
    expect(tampered.code).toBe(1);
    expect(tampered.out).toContain(version.slice(0, 12));
    expect(tampered.out).toMatch(/int8 file/);

    rmSync(path);
    const deleted = await verify();
    expect(deleted.code).toBe(1);
    expect(deleted.out).toMatch(/int8 file/);

    writeFileSync(path, original);
    expect((await verify()).code).toBe(0);
  }, 120_000);
});

