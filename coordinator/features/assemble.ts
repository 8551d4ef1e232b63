/**
 * Builds what `runJob` needs from the job spec and the coordinator's state: the enabled features, composed.
 * This is the one place that decides which features a job uses; the coordinator command and simulations
 * both call it, so a simulation runs exactly the code a deployment runs.
 */
import type { RunJobOptions } from '../job-runner.ts';
import { plainTrainingProtocol } from '../plain-round.ts';
import { fedAvg } from '../strategy.ts';
import { composeFeatures, type CoordinatorFeature, type FeatureContext } from './feature.ts';
import { dataContractFeature } from './data-contract.ts';
import { jobRecordFeature } from './job-record.ts';
import { fairnessFeature } from './fairness.ts';
import { consentFeature } from './consent.ts';
import { auditFeature } from './audit.ts';
import { registryFeature } from './registry.ts';
import { dpFeature } from './dp.ts';
import { secAggFeature } from './secagg.ts';

/** Feature factories, in the order their hooks run. Each returns null when the job does not use it. */
export type FeatureFactory = (ctx: FeatureContext) => CoordinatorFeature | null;

export const FEATURE_FACTORIES: FeatureFactory[] = [consentFeature, dataContractFeature, fairnessFeature, jobRecordFeature, dpFeature, secAggFeature, auditFeature, registryFeature];

export function assembleJob(ctx: FeatureContext, factories: readonly FeatureFactory[] = FEATURE_FACTORIES): Pick<RunJobOptions, 'hooks' | 'strategy' | 'protocol' | 'federatedEvaluation'> {
  const features = factories.map((f) => f(ctx)).filter((f): f is CoordinatorFeature => f !== null);
  const composed = composeFeatures(features, ctx.db);
  const base = fedAvg({ serverLearningRate: ctx.spec.strategy.serverLearningRate });
  return {
    hooks: composed.hooks,
    strategy: composed.wrapStrategy(base),
    protocol: composed.protocol ?? plainTrainingProtocol(composed.weighting),
    federatedEvaluation: { always: ctx.spec.fairness.enabled, after: composed.afterEvaluation, ...(composed.evaluationProtocol ? { protocol: composed.evaluationProtocol } : {}) },
  };
}
