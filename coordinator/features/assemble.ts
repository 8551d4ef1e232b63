/**
 * Builds what `runJob` needs from the job spec and the coordinator's state: the enabled features, composed.
 * This is the one place that decides which features a job uses; the coordinator command and simulations
 * both call it, so a simulation runs exactly the code a deployment runs.
 */
import type { RunJobOptions } from '../job-runner.ts';
import { plainTrainingProtocol } from '../plain-round.ts';
import { serverStrategy } from '../strategy.ts';
import { robustAggregatorFor } from '../robust-aggregators.ts';
import { assertStrategyCompatible } from '../strategy-compat.ts';
import { composeFeatures, type CoordinatorFeature, type FeatureContext } from './feature.ts';
import { dataContractFeature, jobDriftLayout } from './data-contract.ts';
import { updateExtensionsForJob } from '../../privacy/secagg/extensions-for-job.ts';
import { jobRecordFeature } from './job-record.ts';
import { fairnessFeature } from './fairness.ts';
import { consentFeature } from './consent.ts';
import { auditFeature } from './audit.ts';
import { productionBaseline, registryFeature } from './registry.ts';
import { dpFeature } from './dp.ts';
import { secAggFeature } from './secagg.ts';
import { roundMetricsFeature } from './round-metrics.ts';
import { JobOutcomes } from './job-outcomes.ts';

/** A feature factory: returns null when the job does not use the feature. */
export type FeatureFactory = (ctx: FeatureContext) => CoordinatorFeature | null;

/**
 * Every coordinator feature. The order of this list carries no meaning: the features' declarations
 * (provides / needs / after, capabilities.ts) decide the order their hooks run in (feature-order.ts).
 */
export const FEATURE_FACTORIES: readonly FeatureFactory[] = [consentFeature, dataContractFeature, fairnessFeature, jobRecordFeature, dpFeature, secAggFeature, auditFeature, registryFeature, roundMetricsFeature];

export interface AssembledJob extends Pick<RunJobOptions, 'hooks' | 'strategy' | 'protocol' | 'federatedEvaluation' | 'updateExtensions'> {
  /** What the features hand back after the job (the model registration); await it before closing the database. */
  readonly outcomes: JobOutcomes;
  /** The features in the order their hooks run. */
  readonly featureOrder: readonly string[];
}

/**
 * Builds the job's features, orders them from their declarations, runs their start-of-job side effects (job row,
 * `job.created` audit entry) in that order, and returns what `runJob` takes. Throws TESSERA_ERR_STRATEGY_INCOMPATIBLE
 * (strategy-compat.ts) before anything is written, and TESSERA_ERR_FEATURE_CYCLE or TESSERA_ERR_FEATURE_MISSING when
 * the enabled features' declarations cannot be satisfied.
 */
export function assembleJob(ctx: FeatureContext, factories: readonly FeatureFactory[] = FEATURE_FACTORIES): AssembledJob {
  // Before any feature writes: a strategy the job's other settings rule out never starts (TESSERA_ERR_STRATEGY_INCOMPATIBLE).
  assertStrategyCompatible(ctx.spec);
  const outcomes = ctx.outcomes ?? new JobOutcomes();
  const withOutcomes: FeatureContext = { ...ctx, outcomes };
  const features = factories.map((f) => f(withOutcomes)).filter((f): f is CoordinatorFeature => f !== null);
  const composed = composeFeatures(features, ctx.db);
  composed.start();
  const base = serverStrategy(ctx.spec.strategy);
  // The secure extensions of each round, derived as every client derives them (the drift layout from the contract).
  const driftKeys = jobDriftLayout(ctx.spec, ctx.contract)?.length;
  return {
    updateExtensions: (roundSpec) => updateExtensionsForJob(roundSpec, driftKeys),
    outcomes,
    featureOrder: composed.order,
    hooks: composed.hooks,
    strategy: composed.wrapStrategy(base),
    protocol: composed.protocol ?? plainTrainingProtocol(composed.weighting, robustAggregatorFor(ctx.spec.strategy.aggregator)),
    federatedEvaluation: {
      // Fairness and feature importance are computed on the clients' held-out splits, so they need it even with a central evaluator.
      always: ctx.spec.fairness.enabled || ctx.spec.evaluation.featureImportance,
      after: composed.afterEvaluation,
      ...(composed.evaluationProtocol ? { protocol: composed.evaluationProtocol } : {}),
      // With state: the production version of this model, evaluated beside the job's own (its lineage's baseline).
      ...(ctx.db && ctx.stateDir !== undefined ? { baseline: productionBaseline(ctx.db, ctx.stateDir, ctx.spec, ctx.logger) } : {}),
    },
  };
}
