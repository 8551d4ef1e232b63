/**
 * Step 3 of a prediction — score: the routed version's class probabilities for the validated inputs. The model
 * is built from its registry artifacts on first use and verified against its content hash (model-cache.ts); a
 * version whose artifacts fail to load or verify, or whose model fails, answers TESSERA_ERR_SCORING_FAILED, and
 * the failure counts against that version and stage (record.ts) — which is what the canary criteria watch.
 */
import { TesseraError } from '../../protocol/errors.ts';
import { argmax, predictProbabilities, type ModelCache } from './model-cache.ts';

export interface ScoringHooks {
  /**
   * TEST ONLY: extra milliseconds before a version answers, to exercise latency criteria over real HTTP without
   * mocking the model (given the instances in the request, so a test can make large batches slow). Never set by
   * `tessera coordinator`.
   */
  readonly testExtraLatencyMs?: (version: string, instances: number) => number;
}

export interface Scored {
  readonly probabilities: number[][];
  readonly classes: number[];
}

export async function scoreInstances(cache: ModelCache, version: string, features: number[][], hooks: ScoringHooks = {}): Promise<Scored> {
  const extra = hooks.testExtraLatencyMs?.(version, features.length) ?? 0;
  if (extra > 0) await new Promise((r) => setTimeout(r, extra));
  let probabilities: number[][];
  try {
    probabilities = predictProbabilities(cache.get(version), features);
  } catch (cause) {
    throw new TesseraError('TESSERA_ERR_SCORING_FAILED', `version ${version.slice(0, 12)} could not answer: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
  return { probabilities, classes: probabilities.map(argmax) };
}
