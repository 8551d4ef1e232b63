/**
 * The serving path's one hook into human review (issue 20 §5): after a request is scored, the instances the
 * deployment policy's `review` section selects — top-class probability below `confidenceBelow`, or a feature
 * value in a configured group — are queued for a reviewer with the instance, the model's output and its
 * explanation (ml/explain/attributions.ts: exact for logistic models, integrated gradients otherwise), and the
 * response marks them pending under a prediction id the caller polls (GET /v1/predictions/:id/review).
 *
 * On request (`explain` in the body) every instance is explained the same way and the attributions returned.
 *
 * The policy is the model version's resolved deployment policy (governance/deploy/policy.ts), re-read at most
 * every `policyTtlMs`, so a policy change reaches serving without a restart.
 */
import type { ModelSpec } from '../../../protocol/job/model.ts';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { resolvePolicy } from '../../../governance/deploy/policy.ts';
import { getModel } from '../../../governance/registry/registry.ts';
import type { Db } from '../../../governance/state/database.ts';
import { explainInstance } from '../../../ml/explain/attributions.ts';
import type { ReviewPolicy } from '../../../protocol/job/governance.ts';
import type { Explanation, HeldPrediction } from '../../../protocol/review.ts';
import type { LoadedModel } from '../model-cache.ts';
import { enqueueHeld, type HeldRecord } from './store.ts';

export interface HoldInput {
  readonly model: string;
  readonly stage: 'production' | 'canary';
  readonly served: LoadedModel;
  readonly instances: readonly (readonly number[])[];
  readonly predictions: readonly (readonly number[])[];
  readonly classes: readonly number[];
  /** The token id of the caller (only it may poll the outcome). */
  readonly callerToken: string;
  /** Prediction ids the serving path already assigned, one per instance (otherwise drawn here). */
  readonly predictionIds?: readonly string[];
  /** The request's `explain` section: explain every instance (against this baseline, default zeros). */
  readonly explain?: { readonly baseline?: readonly number[] } | undefined;
}

/** What the hook adds to the predict response (absent fields: nothing to add). */
export interface ReviewAnnotations {
  review?: HeldPrediction[];
  explanations?: Explanation[];
}

export interface ReviewHold {
  /** Explains the instances when asked, queues those the policy holds, and returns what the response adds. */
  annotate(input: HoldInput): ReviewAnnotations;
}

/** Why the policy holds one instance (empty: it does not). */
export function holdReasons(policy: ReviewPolicy | undefined, instance: readonly number[], probabilities: readonly number[]): string[] {
  if (policy === undefined) return [];
  const reasons: string[] = [];
  const confidence = Math.max(...probabilities);
  if (policy.confidenceBelow !== undefined && confidence < policy.confidenceBelow) reasons.push('low-confidence');
  for (const g of policy.groups) {
    const v = instance[g.feature];
    if (v !== undefined && g.values.includes(v)) reasons.push(`group:${g.name}`);
  }
  return reasons;
}

export function reviewHold(options: { db: Db; stateDir: string; logger: Logger; policyTtlMs?: number; now?: () => Date }): ReviewHold {
  const { db, stateDir, logger } = options;
  const ttl = options.policyTtlMs ?? 5_000;
  const now = options.now ?? (() => new Date());
  const policies = new Map<string, { at: number; review: ReviewPolicy | undefined; kind: ModelSpec['kind'] }>();

  const policyOf = (version: string): { review: ReviewPolicy | undefined; kind: ModelSpec['kind'] } | undefined => {
    const cached = policies.get(version);
    if (cached && Date.now() - cached.at < ttl) return cached;
    const model = getModel(db, version);
    if (!model) return undefined;
    const entry = { at: Date.now(), review: resolvePolicy({ db, model, stateDir }).policy.review, kind: model.modelSpec.kind };
    policies.set(version, entry);
    return entry;
  };

  return {
    annotate(input) {
      const p = policyOf(input.served.version);
      const kind = p?.kind ?? (input.served.model.layers.length === 1 ? 'logistic' : 'mlp');
      const out: ReviewAnnotations = {};
      if (input.explain !== undefined) {
        const baseline = input.explain.baseline;
        out.explanations = input.instances.map((x) => explainInstance(input.served.model, kind, input.served.inputShape, x, baseline !== undefined ? { baseline } : {}));
      }
      if (p?.review === undefined) return out;
      const records: HeldRecord[] = [];
      const held: HeldPrediction[] = [];
      const at = now();
      input.instances.forEach((instance, index) => {
        const probabilities = input.predictions[index] ?? [];
        const reasons = holdReasons(p.review, instance, probabilities);
        if (reasons.length === 0) return;
        const predictionId = input.predictionIds?.[index] ?? randomBytes(16).toString('hex');
        let explanation: HeldRecord['explanation'] = null;
        try {
          explanation = out.explanations?.[index] ?? explainInstance(input.served.model, p.kind, input.served.inputShape, instance);
        } catch (e) {
          // The hold matters more than its explanation: queue it without one and say so to operators.
          logger.warn({ model: input.model, version: input.served.version, err: e }, 'could not explain a held prediction');
        }
        const modelClass = input.classes[index] ?? 0;
        records.push({ predictionId, callerToken: input.callerToken, model: input.model, version: input.served.version, stage: input.stage, instance, explanation, probabilities, modelClass, confidence: Math.max(...probabilities), reasons, at });
        held.push({ index, predictionId, reasons, status: 'pending' });
      });
      enqueueHeld(db, records);
      if (held.length > 0) {
        logger.info({ model: input.model, version: input.served.version, held: held.length }, 'predictions held for review');
        out.review = held;
      }
      return out;
    },
  };
}
