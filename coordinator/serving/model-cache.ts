/**
 * TensorFlow.js models built from registry artifacts, one per version, shared by every model name that
 * routes to it. Artifacts are verified against their content hash on load (loadModelArtifact), so the
 * server never serves bytes other than the approved ones.
 */
import * as tf from '@tensorflow/tfjs';
import { loadModelArtifact } from '../../governance/registry/artifacts.ts';
import { buildModel, inputShape } from '../../ml/model.ts';
import { setFlatWeights } from '../../ml/weights.ts';

export interface LoadedModel {
  readonly version: string;
  readonly model: tf.LayersModel;
  /** Shape of one instance, e.g. [13] or [28, 28, 1]. */
  readonly inputShape: readonly number[];
  /** Features per instance (the product of inputShape). */
  readonly inputSize: number;
}

export class ModelCache {
  private readonly models = new Map<string, LoadedModel>();

  constructor(private readonly stateDir: string) {}

  get(version: string): LoadedModel {
    const cached = this.models.get(version);
    if (cached) return cached;
    const artifact = loadModelArtifact(this.stateDir, version);
    // The seed only fixes the throw-away initial weights, which setFlatWeights overwrites at once.
    const model = buildModel(artifact.modelSpec, { seed: 0 });
    setFlatWeights(model, artifact.weights);
    const shape = inputShape(artifact.modelSpec);
    const loaded = { version, model, inputShape: shape, inputSize: shape.reduce((a, b) => a * b, 1) };
    this.models.set(version, loaded);
    return loaded;
  }

  /** Disposes models no longer routed to by anyone. */
  retain(inUse: ReadonlySet<string>): void {
    for (const [version, m] of this.models) {
      if (!inUse.has(version)) {
        m.model.dispose();
        this.models.delete(version);
      }
    }
  }

  dispose(): void {
    this.retain(new Set());
  }
}

/** Class probabilities for a batch of flat instances. */
export function predictProbabilities(m: LoadedModel, instances: readonly number[][]): number[][] {
  return tf.tidy(() => {
    const x = tf.tensor(instances.flat(), [instances.length, ...m.inputShape], 'float32');
    const y = m.model.predict(x) as tf.Tensor;
    return y.arraySync() as number[][];
  });
}

export function argmax(row: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if ((row[i] ?? -Infinity) > (row[best] ?? -Infinity)) best = i;
  return best;
}
