/**
 * How a feature (privacy ledger, audit, consent, data-contract drift, fairness, secure aggregation …) joins a
 * job without forking the round loop: it contributes hooks, may wrap the strategy (DP wraps FedAvg), may
 * replace the training protocol (secure aggregation), and may ask for uniform update weighting (DP's
 * sensitivity-bounded estimator). `composeFeatures` turns a list of features into what `runJob` takes.
 */
import type { Logger } from 'pino';
import type { Db } from '../../governance/state/database.ts';
import type { RandomSource } from '../../privacy/random.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import { TesseraError } from '../../protocol/errors.ts';
import type { EvaluationProtocol, FederatedEvaluation } from '../federated-eval.ts';
import type { Metrics } from '../metrics.ts';
import type { JobHooks } from '../job-runner.ts';
import type { TrainingProtocol, UpdateWeighting } from '../plain-round.ts';
import type { Strategy } from '../strategy.ts';

export interface FeatureContext {
  readonly jobId: string;
  readonly spec: JobSpec;
  readonly logger: Logger;
  /** The state database, when the coordinator keeps durable state (`--state DIR`). */
  readonly db?: Db;
  readonly stateDir?: string;
  /** Randomness for mechanisms run on the coordinator (central noise): a CSPRNG unless a simulation says otherwise. */
  readonly rng: RandomSource;
  readonly metrics?: Metrics;
}

export interface CoordinatorFeature {
  readonly name: string;
  readonly hooks?: JobHooks;
  wrapStrategy?(strategy: Strategy): Strategy;
  readonly protocol?: TrainingProtocol;
  readonly weighting?: UpdateWeighting;
  /** Replaces the request/response federated evaluation (secure aggregation), like `protocol` for training. */
  readonly evaluationProtocol?: EvaluationProtocol;
  /** Figures from a federated evaluation (e.g. the fairness report), merged into the round record. */
  afterEvaluation?(round: number, evaluation: FederatedEvaluation): Record<string, unknown>;
}

export interface ComposedFeatures {
  readonly hooks: JobHooks;
  readonly wrapStrategy: (s: Strategy) => Strategy;
  readonly protocol: TrainingProtocol | undefined;
  readonly weighting: UpdateWeighting;
  readonly evaluationProtocol: EvaluationProtocol | undefined;
  readonly afterEvaluation: (round: number, evaluation: FederatedEvaluation) => Record<string, unknown>;
}

/**
 * Composes features in order. Eligibility filters chain; the first refusal before a round wins; commits run
 * in order inside ONE database transaction when there is a database, so a round's aggregate, its ledger
 * charge and its audit entry are written together or not at all.
 */
export function composeFeatures(features: readonly CoordinatorFeature[], db?: Db): ComposedFeatures {
  const protocols = features.filter((f) => f.protocol !== undefined);
  if (protocols.length > 1) throw new TesseraError('TESSERA_ERR_INTERNAL', `two features replace the training protocol: ${protocols.map((f) => f.name).join(', ')}`);
  const evaluators = features.filter((f) => f.evaluationProtocol !== undefined);
  if (evaluators.length > 1) throw new TesseraError('TESSERA_ERR_INTERNAL', `two features replace the evaluation protocol: ${evaluators.map((f) => f.name).join(', ')}`);
  const hooks = features.map((f) => f.hooks ?? {});
  const commit = (record: Parameters<NonNullable<JobHooks['commitRound']>>[0], weights: Float32Array): void => {
    for (const h of hooks) h.commitRound?.(record, weights);
  };
  return {
    protocol: protocols[0]?.protocol,
    evaluationProtocol: evaluators[0]?.evaluationProtocol,
    weighting: features.some((f) => f.weighting === 'uniform') ? 'uniform' : 'examples',
    wrapStrategy: (s) => features.reduce((acc, f) => (f.wrapStrategy ? f.wrapStrategy(acc) : acc), s),
    afterEvaluation: (round, evaluation) => Object.assign({}, ...features.map((f) => f.afterEvaluation?.(round, evaluation) ?? {})) as Record<string, unknown>,
    hooks: {
      eligible(clients, round) {
        let eligible = [...clients];
        const excluded = [];
        for (const h of hooks) {
          if (!h.eligible) continue;
          const r = h.eligible(eligible, round);
          eligible = r.eligible;
          excluded.push(...r.excluded);
        }
        return { eligible, excluded };
      },
      beforeRound(round, eligible) {
        for (const h of hooks) {
          const d = h.beforeRound?.(round, eligible);
          if (d && !d.proceed) return d;
        }
        return { proceed: true };
      },
      beforeRelease(round, participants) {
        // Its own transaction, committed before the aggregate can exist (the round row follows later).
        const run = (): void => {
          for (const h of hooks) h.beforeRelease?.(round, participants);
        };
        if (db && !db.inTransaction) db.transaction(run).immediate();
        else run();
      },
      shortRound(round, got) {
        for (const h of hooks) {
          const d = h.shortRound?.(round, got);
          if (d && !d.proceed) return d;
        }
        return { proceed: true };
      },
      taskSpec(round, spec) {
        return hooks.reduce((acc, h) => h.taskSpec?.(round, acc) ?? acc, spec);
      },
      roundExtra(round, outcome) {
        return Object.assign({}, ...hooks.map((h) => h.roundExtra?.(round, outcome) ?? {})) as Record<string, unknown>;
      },
      commitRound(record, weights) {
        if (db) db.transaction(() => commit(record, weights))();
        else commit(record, weights);
      },
      onJobEnd(result) {
        for (const h of hooks) h.onJobEnd?.(result);
      },
    },
  };
}
