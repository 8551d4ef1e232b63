/**
 * Federated permutation importance computed by a real job (issue 20 §6): `evaluation.featureImportance` on the
 * Heart data by hospital (Janosi et al. 1988 via ../shared/data; four real client nodes over loopback sockets),
 * with secure aggregation. The job's FINAL federated evaluation has each hospital count correct predictions on
 * its held-out split with each input column shuffled (seed: job seed, client id, column); the counts travel
 * inside the masked evaluation vector and the registry writes the importance from their sum into the lineage.
 *
 *  1. The registered model's lineage importance equals the pooled computation — written here independently: its
 *     own Fisher–Yates with the documented seeds, one evaluation over the union of the hospitals' held-out rows
 *     with the registered weights — to 1e-9, and the model card shows it.
 *  2. Attack (what a coordinator collecting every inbound message learns): under secure aggregation no message
 *     is an evaluate-result, no key `importanceCounts` appears, no hospital's count vector appears among the
 *     clear numbers, and the importance coordinates of every masked evaluation input differ from every
 *     hospital's counts. The control (the same job without secure aggregation) receives each hospital's vector
 *     in the clear — so the search can find it when it is there.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Federation } from '../coordinator/federation.ts';
import { loadBuiltinContract } from '../datasets/contracts/index.ts';
import { loadDataset } from '../datasets/index.ts';
import { compileContract } from '../governance/contract/compile.ts';
import { concatExamples, featureSize, type Examples } from '../datasets/types.ts';
import { renderModelCardMarkdown } from '../governance/model-card/card.ts';
import { generateModelCard } from '../governance/model-card/generate.ts';
import { loadModelArtifact } from '../governance/registry/artifacts.ts';
import { getModel } from '../governance/registry/registry.ts';
import { openDatabase } from '../governance/state/database.ts';
import { silentLogger } from '../lib/logger.ts';
import { initBackend } from '../ml/backend.ts';
import { buildModel } from '../ml/model.ts';
import { evaluate } from '../ml/train.ts';
import { setFlatWeights } from '../ml/weights.ts';
import { deriveSeed, seededRandom, uniformInt } from '../privacy/random.ts';
import { partitionClients } from '../simulations/federation-setup.ts';
import { clientData, runSimulation, type SimulationResult } from '../simulations/simulate.ts';
import { SHARED_DATA_DIR } from './paths.ts';

const SEED = 13;
const ROUNDS = 3;
const dir = mkdtempSync(join(tmpdir(), 'tessera-importance-job-'));

interface Run {
  readonly sim: SimulationResult;
  /** Every message the coordinator's federation received from a client (raw, before parsing). */
  readonly wire: unknown[];
}

async function run(secagg: boolean): Promise<Run> {
  const wire: unknown[] = [];
  // Keep (and pass through) everything that reaches the coordinator: Federation's inbound handler.
  const proto = Federation.prototype as unknown as { onMessage: (clientId: string, connection: unknown, raw: unknown) => void };
  const original = proto.onMessage;
  const spy = vi.spyOn(proto, 'onMessage').mockImplementation(function (this: unknown, clientId: string, connection: unknown, raw: unknown) {
    wire.push(raw);
    original.call(this, clientId, connection, raw);
  });
  try {
    const sim = await runSimulation(
      {
        dataset: 'heart',
        dataDir: SHARED_DATA_DIR,
        rounds: ROUNDS,
        seed: SEED,
        transport: 'socket',
        deadlineMs: 20_000,
        checkContract: false,
        job: { evaluation: { featureImportance: true }, ...(secagg ? { secagg: { enabled: true, clipRange: 10 } } : {}) },
        ...(secagg ? { stateDir: join(dir, 'state') } : {}),
      },
      { logger: silentLogger() },
    );
    return { sim, wire };
  } finally {
    spy.mockRestore();
  }
}

/** Each hospital's held-out split, rebuilt from the same seed, partition and job spec (simulations/simulate.ts). */
function heldOutSplits(sim: SimulationResult): Array<{ clientId: string; rows: Examples }> {
  const dataset = loadDataset('heart', { dataDir: SHARED_DATA_DIR, seed: SEED });
  return partitionClients(dataset, { clients: 4, partition: 'natural', seed: SEED }).map((p) => {
    const rows = clientData(p.train, sim.job, p.clientId).heldOut;
    if (!rows) throw new Error('featureImportance is on, so every client keeps a held-out split');
    return { clientId: p.clientId, rows };
  });
}

/** Fisher–Yates (Knuth vol. 2, Algorithm P) from the documented seed: job seed, 'permutation-importance', client, column. */
function shuffledColumn(e: Examples, clientId: string, column: number): Examples {
  const rng = seededRandom(deriveSeed(SEED, 'permutation-importance', clientId, column));
  const order = Array.from({ length: e.n }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = uniformInt(rng, i + 1);
    [order[i], order[j]] = [order[j] as number, order[i] as number];
  }
  const d = featureSize(e);
  const x = Float32Array.from(e.x);
  for (let r = 0; r < e.n; r++) x[r * d + column] = e.x[(order[r] as number) * d + column] as number;
  return { ...e, x };
}

/** Per hospital: [n, correct, correct with column c shuffled …] computed here, for the wire search. */
function countsOf(model: ReturnType<typeof buildModel>, splits: ReturnType<typeof heldOutSplits>, columns: number): number[][] {
  const correct = (e: Examples): number => Math.round(evaluate(model, e).accuracy * e.n);
  return splits.map(({ clientId, rows }) => [rows.n, correct(rows), ...Array.from({ length: columns }, (_, c) => correct(shuffledColumn(rows, clientId, c)))]);
}

/** Every number in a message outside its binary fields, and every key. */
function openParts(m: unknown, keys: Set<string>, numbers: number[]): void {
  if (m instanceof Uint8Array || ArrayBuffer.isView(m) || m instanceof ArrayBuffer || m === null || typeof m !== 'object') {
    if (typeof m === 'number') numbers.push(m);
    return;
  }
  for (const [k, v] of Object.entries(m)) {
    if (!Array.isArray(m)) keys.add(k);
    openParts(v, keys, numbers);
  }
}

/** Whether `needle` occurs as a contiguous run in `hay`. */
function containsRun(hay: readonly number[], needle: readonly number[]): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

const field = (m: unknown, k: string): unknown => (typeof m === 'object' && m !== null ? (m as Record<string, unknown>)[k] : undefined);

let secure: Run;
let plain: Run;

beforeAll(async () => {
  await initBackend('wasm');
  secure = await run(true);
  plain = await run(false);
}, 150_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('federated permutation importance in a job (Heart by hospital, secure aggregation)', () => {
  it('the registered lineage holds the pooled importance over the same held-out rows and shuffles (to 1e-9), and the card shows it', async () => {
    expect(secure.sim.result.status).toBe('completed');
    const registered = secure.sim.registered;
    if (!registered) throw new Error('the job registered no model');
    const db = openDatabase(join(dir, 'state'));
    try {
      const model = getModel(db, registered.version);
      if (!model) throw new Error('registered version not in the registry');
      const fi = model.lineage.featureImportance;
      if (!fi) throw new Error('the lineage has no featureImportance');
      const splits = heldOutSplits(secure.sim);
      const D = featureSize(splits[0]?.rows as Examples);
      const tfModel = buildModel(secure.sim.job.model, { seed: 1 });
      setFlatWeights(tfModel, loadModelArtifact(join(dir, 'state'), registered.version).weights);
      const union = concatExamples(splits.map((s) => s.rows));
      const base = evaluate(tfModel, union).accuracy;
      const permuted = Array.from({ length: D }, (_, c) => evaluate(tfModel, concatExamples(splits.map((s) => shuffledColumn(s.rows, s.clientId, c)))).accuracy);
      tfModel.dispose();

      expect(fi).toMatchObject({ method: 'permutation', examples: union.n, clients: 4, secureAggregation: true });
      expect(Math.abs(fi.baselineAccuracy - base)).toBeLessThanOrEqual(1e-9);
      // Named by the Heart contract the data were read with (its feature names, each with its source column).
      const heart = compileContract(loadBuiltinContract('heart'));
      expect(fi.features.map((f) => [f.feature, f.column])).toEqual(heart.featureNames.map((n, i) => [n, heart.featureColumns[i]]));
      fi.features.forEach((f, c) => {
        expect(Math.abs(f.permutedAccuracy - (permuted[c] as number))).toBeLessThanOrEqual(1e-9);
        expect(Math.abs(f.importance - (base - (permuted[c] as number)))).toBeLessThanOrEqual(1e-9);
      });
      // Not vacuous: the trained model relies on some column.
      expect(Math.max(...fi.features.map((f) => f.importance))).toBeGreaterThan(0.01);

      const card = renderModelCardMarkdown(generateModelCard(db, model));
      expect(card).toContain('## Global feature importance');
      expect(card).toContain(`Permutation importance on ${union.n} held-out rows of 4 organisations, summed by secure aggregation`);
      const top = [...fi.features].sort((a, b) => b.importance - a.importance)[0];
      expect(card).toContain(`| ${top?.feature ?? '?'} | ${top?.column ?? '?'} |`);
    } finally {
      db.close();
    }
  }, 60_000);

  it('attack: a coordinator keeping every message finds no hospital count vector outside the masked sum; without secure aggregation it does', () => {
    const splits = heldOutSplits(secure.sim);
    const D = featureSize(splits[0]?.rows as Examples);
    const model = buildModel(secure.sim.job.model, { seed: 1 });
    setFlatWeights(model, secure.sim.result.weights);
    const mine = countsOf(model, splits, D);
    setFlatWeights(model, plain.sim.result.weights);
    const mineControl = countsOf(model, splits, D);
    model.dispose();

    // Secure run: only secure-aggregation envelopes for the evaluations; no clear importance key or vector.
    expect(secure.wire.filter((m) => field(m, 'type') === 'evaluate-result')).toEqual([]);
    const keys = new Set<string>();
    const numbers: number[] = [];
    for (const m of secure.wire) openParts(m, keys, numbers);
    expect(keys.has('importanceCounts')).toBe(false);
    for (const v of mine) expect(containsRun(numbers, v.slice(2))).toBe(false);
    // The masked evaluation inputs of the final round: [header 4, labels 2, importance 2 + D] coordinates, masked.
    const dim = 4 + 2 + 2 + D;
    const maskedEval = secure.wire
      .map((m) => field(m, 'message'))
      .filter((s) => field(s, 'type') === 'secagg.masked-input')
      .map((s) => field(s, 'vector'))
      .filter((v): v is Uint8Array => v instanceof Uint8Array && v.byteLength === 4 * dim);
    // Every hospital masked its final evaluation (rounds before the last carry no importance: a shorter vector).
    expect(maskedEval).toHaveLength(4);
    for (const bytes of maskedEval) {
      const words = Array.from(new Uint32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
      const importance = words.slice(6, 6 + 2 + D);
      for (const v of mine) expect(importance.filter((w, j) => w === v[j])).toEqual([]);
    }

    // Control: the same job without secure aggregation sends each hospital's exact vector in its final evaluate-result.
    expect(plain.sim.result.status).toBe('completed');
    const clear = plain.wire.filter((m) => field(m, 'type') === 'evaluate-result' && field(m, 'importanceCounts') !== undefined).map((m) => field(m, 'importanceCounts'));
    expect(clear).toHaveLength(4);
    for (const v of mineControl) expect(clear).toContainEqual(v);
    // The same number search as above finds them there.
    const clearNumbers: number[] = [];
    for (const m of plain.wire) openParts(m, new Set(), clearNumbers);
    for (const v of mineControl) expect(containsRun(clearNumbers, v.slice(2))).toBe(true);
    const fi = plain.sim.result.rounds.at(-1)?.extra.federatedEvaluation?.importanceCounts;
    expect(fi).toEqual(Array.from({ length: 2 + D }, (_, j) => mineControl.reduce((a, v) => a + (v[j] as number), 0)));
  }, 60_000);
});
