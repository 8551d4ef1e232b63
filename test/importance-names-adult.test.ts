/**
 * Feature importance is named by the data contract (issue 20 §6 follow-up): a real federated job on UCI Adult
 * (../shared/data; 4 clients, the built-in Adult contract named by the job's contract hash, importance in the
 * final federated evaluation) registers a model whose lineage names each importance entry as the contract names
 * the model input — "age", "workclass=Private", … — with the contract column it is computed from, and the model
 * card shows both. Before, the entries were x0, x1, … and a reader could not tell which column mattered.
 *
 * Checked against the contract compiled independently here: the names are its feature names in input order, the
 * columns its source columns, every feature column of the contract appears (a one-hot block's inputs all under
 * their column), and the label column does not.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadBuiltinContract } from '../datasets/contracts/index.ts';
import { compileContract } from '../governance/contract/compile.ts';
import { contractHash } from '../governance/contract/schema.ts';
import { renderModelCardMarkdown } from '../governance/model-card/card.ts';
import { generateModelCard } from '../governance/model-card/generate.ts';
import { getModel } from '../governance/registry/registry.ts';
import { openDatabase } from '../governance/state/database.ts';
import { silentLogger } from '../lib/logger.ts';
import { initBackend } from '../ml/backend.ts';
import { runSimulation, type SimulationResult } from '../simulations/simulate.ts';
import { SHARED_DATA_DIR } from './paths.ts';

const dir = mkdtempSync(join(tmpdir(), 'tessera-importance-adult-'));
const adult = compileContract(loadBuiltinContract('adult'));
let sim: SimulationResult;

beforeAll(async () => {
  await initBackend('wasm');
  sim = await runSimulation(
    { dataset: 'adult', dataDir: SHARED_DATA_DIR, clients: 4, rounds: 2, trainLimit: 4000, testLimit: 500, seed: 5, stateDir: join(dir, 'state'), job: { evaluation: { featureImportance: true } } },
    { logger: silentLogger() },
  );
}, 120_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('federated feature importance on Adult', () => {
  it("names each entry by the data contract's feature and source column, in the lineage and the model card", () => {
    expect(sim.result.status).toBe('completed');
    expect(sim.job.data.contractHash).toBe(contractHash(adult.contract));
    const version = sim.registered?.version;
    if (version === undefined) throw new Error('the job registered no model');
    const db = openDatabase(join(dir, 'state'));
    try {
      const model = getModel(db, version);
      const fi = model?.lineage.featureImportance;
      if (model === undefined || fi === undefined) throw new Error('no featureImportance in the lineage');
      expect(fi.features.map((f) => f.feature)).toEqual([...adult.featureNames]);
      expect(fi.features.map((f) => f.column)).toEqual([...adult.featureColumns]);
      // Every contract column that feeds the model is there, the label is not; a one-hot block sits under its column.
      const label = adult.contract.label?.column;
      const featureColumns = adult.contract.columns.map((c) => c.name).filter((c) => c !== label);
      expect([...new Set(fi.features.map((f) => f.column))].sort()).toEqual([...featureColumns].sort());
      const workclass = fi.features.filter((f) => f.column === 'workclass').map((f) => f.feature);
      expect(workclass.length).toBeGreaterThan(3);
      for (const name of workclass) expect(name).toMatch(/^workclass=/);
      expect(fi.features.find((f) => f.feature === 'sex=Female')?.column).toBe('sex');
      expect(fi.features.some((f) => /^x\d+$/.test(f.feature))).toBe(false);

      const card = renderModelCardMarkdown(generateModelCard(db, model));
      expect(card).toContain('| Feature | Data-contract column | Accuracy when shuffled | Importance |');
      const top = [...fi.features].sort((a, b) => b.importance - a.importance)[0];
      expect(card).toContain(`| ${top?.feature ?? '?'} | ${top?.column ?? '?'} |`);
      expect(card).toMatch(/\| sex=Female \| sex \|/);
    } finally {
      db.close();
    }
  }, 60_000);
});
