/**
 * Where a client node's local training runs: in this thread on the process's TensorFlow.js backend (the
 * default, and what a deployed node does), or elsewhere behind the same call — a simulation's worker-thread pool
 * (simulations/training-pool.ts) trains its virtual clients in parallel. The call is a pure function of its
 * arguments: the global weights, the examples, the options (with the batch-order seed) and the model spec. The
 * node keeps everything else — admission, DP clipping and noise, secure aggregation — so the privacy code and its
 * randomness stay on the node's own thread whichever trainer it uses.
 */
import type * as tf from '@tensorflow/tfjs';
import type { Examples } from '../datasets/types.ts';
import type { ModelSpec } from '../protocol/job/model.ts';
import { buildModel } from '../ml/model.ts';
import { trainLocal, type TrainOptions, type TrainResult } from '../ml/train.ts';
import { getFlatWeights, setFlatWeights } from '../ml/weights.ts';

export interface LocalTrainingTask {
  readonly model: ModelSpec;
  /** The job seed the model is built with (its initial weights are overwritten by `global`). */
  readonly modelSeed: string | number;
  /** The round's global weights, the starting point. */
  readonly global: Float32Array;
  readonly examples: Examples;
  readonly options: TrainOptions;
}

export interface LocalTrainingResult {
  /** The weights after local training (flat, ml/weights.ts order). */
  readonly weights: Float32Array;
  readonly result: TrainResult;
}

export interface LocalTrainer {
  train(task: LocalTrainingTask): Promise<LocalTrainingResult>;
  /** Releases models (and threads, for a pool). */
  close(): void;
}

/**
 * Trains in this thread. `modelFor` supplies the model to train (a client node passes its own per-spec cache, so
 * training and evaluation share one model); without it the trainer keeps one model per (spec, seed) itself.
 */
export function inProcessTrainer(modelFor?: (spec: ModelSpec, seed: string | number) => tf.LayersModel): LocalTrainer {
  const owned = new Map<string, tf.LayersModel>();
  const ownModel = (spec: ModelSpec, seed: string | number): tf.LayersModel => {
    const key = JSON.stringify([spec, seed]);
    let model = owned.get(key);
    if (!model) {
      model = buildModel(spec, { seed });
      owned.set(key, model);
    }
    return model;
  };
  return {
    async train(task) {
      const model = (modelFor ?? ownModel)(task.model, task.modelSeed);
      setFlatWeights(model, task.global);
      const result = await trainLocal(model, task.examples, task.options);
      return { weights: getFlatWeights(model), result };
    },
    close() {
      for (const m of owned.values()) m.dispose();
      owned.clear();
    },
  };
}
