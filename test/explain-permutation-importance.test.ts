/**
 * Federated permutation importance (issue 20 §6) on a logistic model trained on the real Heart data: three
 * clients (the held-out split cut in three) each report [n, correct, correct with feature f shuffled …]; the
 * vectors are summed by a real SecAgg+ round (privacy/secagg client and server state machines, test/secagg-
 * harness.ts; what the server may learn from it is tested in the secagg-* attack tests) and the importance computed from the unmasked sum equals,
 * exactly, the pooled computation: accuracy of the model on the concatenation of the clients' rows with the
 * same within-client shuffles, computed here independently (its own permutation code and one evaluation over
 * the pooled rows). The result goes into the lineage and shows in the model card.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../datasets/index.ts';
import { concatExamples, featureSize, selectRows, type Examples } from '../datasets/types.ts';
import { generateModelCard } from '../governance/model-card/generate.ts';
import { renderModelCardMarkdown } from '../governance/model-card/card.ts';
import { registerModel } from '../governance/registry/registry.ts';
import { openDatabase } from '../governance/state/database.ts';
import { initBackend } from '../ml/backend.ts';
import { checkCountBound, columnFeatures, importanceFromSum, permutationCounts } from '../ml/explain/permutation-importance.ts';
import { buildModel } from '../ml/model.ts';
import { evaluate, trainLocal } from '../ml/train.ts';
import { getFlatWeights } from '../ml/weights.ts';
import { deriveSeed, seededRandom, uniformInt } from '../privacy/random.ts';
import type * as tf from '@tensorflow/tfjs';
import { fixtureLineage, tempStateDir } from './governance-fixtures.ts';
import { runRound } from './secagg-harness.ts';

let model: tf.Sequential;
let clients: Examples[];
let D = 0;
const seedOf = (c: number): string => deriveSeed('importance-test', 'client', c);

beforeAll(async () => {
  await initBackend();
  const heart = loadDataset('heart', { dataDir: process.env.TESSERA_DATA_DIR ?? '/work/shared/data', seed: 11 });
  D = featureSize(heart.train);
  model = buildModel({ kind: 'logistic', inputs: D, classes: 2, l2: 0 }, { seed: 3 });
  await trainLocal(model, heart.train, { epochs: 20, batchSize: 32, learningRate: 0.02, optimizer: 'adam', shuffleSeed: 3 });
  const n = heart.test.n;
  const cuts = [0, Math.floor(n / 3), Math.floor((2 * n) / 3), n];
  clients = [0, 1, 2].map((c) => selectRows(heart.test, Array.from({ length: (cuts[c + 1] ?? 0) - (cuts[c] ?? 0) }, (_, i) => (cuts[c] ?? 0) + i)));
}, 60_000);

/** The pooled computation, written independently: its own Fisher–Yates (same draws), one evaluation over all rows. */
function pooledImportance(): { base: number; permuted: number[] } {
  const rngs = clients.map((_, c) => seededRandom(seedOf(c)));
  const permuted: number[] = [];
  for (let f = 0; f < D; f++) {
    const parts = clients.map((e, c) => {
      const order = Array.from({ length: e.n }, (_, i) => i);
      for (let i = order.length - 1; i > 0; i--) {
        const j = uniformInt(rngs[c] as ReturnType<typeof seededRandom>, i + 1);
        [order[i], order[j]] = [order[j] as number, order[i] as number];
      }
      const x = Float32Array.from(e.x);
      for (let r = 0; r < e.n; r++) x[r * D + f] = e.x[(order[r] as number) * D + f] as number;
      return { ...e, x };
    });
    permuted.push(evaluate(model, concatExamples(parts)).accuracy);
  }
  return { base: evaluate(model, concatExamples(clients)).accuracy, permuted };
}

describe('federated permutation importance', () => {
  it('summed through SecAgg+ equals the pooled computation on the same held-out rows, and reaches the model card', async () => {
    const features = columnFeatures(D);
    const reports = clients.map((e, c) => permutationCounts(model, e, features, ((rng) => () => rng)(seededRandom(seedOf(c)))));
    checkCountBound(reports.length, Math.max(...clients.map((e) => e.n)));
    const round = runRound({ n: 3, k: 2, t: 2, dim: 2 + D, seed: 'importance', inputs: reports });
    expect(round.error).toBeUndefined();
    const sum = round.result?.sum;
    if (!sum) throw new Error('the secure round gave no sum');
    const fed = importanceFromSum(sum, features);
    const pooled = pooledImportance();
    expect(fed.examples).toBe(clients.reduce((a, e) => a + e.n, 0));
    expect(fed.baselineAccuracy).toBeCloseTo(pooled.base, 12);
    fed.features.forEach((f, i) => expect(f.permutedAccuracy).toBeCloseTo(pooled.permuted[i] ?? NaN, 12));
    // Not vacuous: shuffling matters for some feature of a trained model.
    expect(Math.max(...fed.features.map((f) => f.importance))).toBeGreaterThan(0.01);

    const state = tempStateDir('tessera-importance-');
    const db = openDatabase(state.dir);
    try {
      const featureImportance = { method: 'permutation' as const, examples: fed.examples, clients: 3, baselineAccuracy: fed.baselineAccuracy, features: fed.features, secureAggregation: true };
      const m = await registerModel(db, state.dir, { modelSpec: { kind: 'logistic', inputs: D, classes: 2, l2: 0 }, weights: getFlatWeights(model), lineage: fixtureLineage({ featureImportance }), name: 'heart' });
      const card = generateModelCard(db, m);
      const top = [...fed.features].sort((a, b) => b.importance - a.importance)[0];
      expect(card.featureImportance?.features[0]).toEqual(top);
      expect(renderModelCardMarkdown(card)).toContain(`| ${top?.feature ?? '?'} |`);
      expect(renderModelCardMarkdown(card)).toContain('summed by secure aggregation');
    } finally {
      db.close();
      state.cleanup();
    }
  }, 60_000);
});
