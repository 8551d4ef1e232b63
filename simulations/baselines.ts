/**
 * Baselines trained in the same run as a simulation (issue 18 §3), on the same split, initial weights and seed,
 * so the price of federation and of privacy can be read off one report ("start with a simple baseline and
 * compare every complex model against it"):
 *
 * - pooled: one model trained centrally on the union of the clients' training data (their held-out splits stay
 *   out, as in the federation) — what the data could give without federation;
 * - local: each client trains alone on its own data; the figure is the unweighted mean over clients of each
 *   model's accuracy and loss on the central test set — what an organisation gets without joining;
 * - nonPrivate (only when the job uses DP): the same federation with DP off — what privacy costs.
 *
 * Pooled and local models take the federation's whole training budget at once: rounds × epochs passes over
 * their data with the job's optimiser, batch size and learning rate, from the federation's initial weights.
 * Client mods (reweighing, DP clipping, the contract check) are not applied: these are the plain references.
 */
import type { Examples } from '../datasets/types.ts';
import { concatExamples } from '../datasets/types.ts';
import { buildModel } from '../ml/model.ts';
import { evaluate, trainLocal } from '../ml/train.ts';
import { setFlatWeights } from '../ml/weights.ts';
import type { JobSpec } from '../protocol/job/spec.ts';

export interface BaselineFigures {
  readonly accuracy: number;
  readonly loss: number;
}

export interface Baselines {
  readonly pooled: BaselineFigures & { readonly examples: number; readonly epochs: number };
  readonly local: BaselineFigures & { readonly clients: number; readonly epochs: number; readonly perClient: ReadonlyArray<{ readonly clientId: string; readonly examples: number } & BaselineFigures> };
  /** Present when the job uses DP: the same federation without it. */
  readonly nonPrivate?: NonPrivateFigures;
}

/** The federation without DP: its final figures (null when it evaluated nothing), job status and rounds run. */
export interface NonPrivateFigures {
  readonly accuracy: number | null;
  readonly loss: number | null;
  readonly status: string;
  readonly rounds: number;
}

export interface BaselineInput {
  readonly spec: JobSpec;
  /** Each client's training examples as the federation trains on them (held-out split removed). */
  readonly clients: ReadonlyArray<{ readonly clientId: string; readonly train: Examples }>;
  readonly test: Examples;
  readonly initialWeights: Float32Array;
  /** Runs the same simulation with DP off (only called when the job uses DP). */
  readonly nonPrivate: () => Promise<NonPrivateFigures>;
}

/** Trains `train` from the initial weights for the federation's whole budget and evaluates on the test set. */
async function trainAndEvaluate(input: BaselineInput, train: Examples, seedTag: string): Promise<BaselineFigures> {
  const { spec } = input;
  const model = buildModel(spec.model, { seed: spec.seed });
  try {
    setFlatWeights(model, input.initialWeights);
    await trainLocal(model, train, {
      epochs: spec.rounds * spec.training.epochs,
      batchSize: spec.training.batchSize,
      learningRate: spec.training.learningRate,
      optimizer: spec.training.optimizer,
      // Its own batch-order stream per baseline, derived from the job seed: the run stays reproducible.
      shuffleSeed: `${String(spec.seed)}/baseline/${seedTag}`,
    });
    const e = evaluate(model, input.test);
    return { accuracy: e.accuracy, loss: e.loss };
  } finally {
    model.dispose();
  }
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

export async function computeBaselines(input: BaselineInput): Promise<Baselines> {
  const epochs = input.spec.rounds * input.spec.training.epochs;
  const pooledData = concatExamples(input.clients.map((c) => c.train));
  const pooled = { ...(await trainAndEvaluate(input, pooledData, 'pooled')), examples: pooledData.n, epochs };
  const perClient: Array<{ clientId: string; examples: number } & BaselineFigures> = [];
  for (const c of input.clients) {
    if (c.train.n === 0) continue;
    perClient.push({ clientId: c.clientId, examples: c.train.n, ...(await trainAndEvaluate(input, c.train, `local/${c.clientId}`)) });
  }
  const local = { accuracy: mean(perClient.map((c) => c.accuracy)), loss: mean(perClient.map((c) => c.loss)), clients: perClient.length, epochs, perClient };
  if (!input.spec.dp.enabled) return { pooled, local };
  return { pooled, local, nonPrivate: await input.nonPrivate() };
}
