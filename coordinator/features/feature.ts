/**
 * How a feature (privacy ledger, audit, consent, data-contract drift, fairness, secure aggregation …) joins a
 * job without forking the round loop: it contributes hooks, may wrap the strategy (DP wraps FedAvg), may
 * replace the training protocol (secure aggregation), and may ask for uniform update weighting (DP's
 * sensitivity-bounded estimator). Each feature DECLARES what it provides and needs (capabilities.ts);
 * `composeFeatures` orders the features from those declarations (feature-order.ts) — never from the order of a
 * list — and turns them into what `runJob` takes. What a feature records per round goes into its own typed
 * slot of the round record (slot.ts).
 */
import type { Logger } from 'pino';
import type { Db } from '../../governance/state/database.ts';
import type { Contract } from '../../governance/contract/schema.ts';
import type { RandomSource } from '../../privacy/random.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import { TesseraError } from '../../protocol/errors.ts';
import type { EvaluationProtocol, FederatedEvaluation } from '../federated-eval.ts';
import type { Metrics } from '../metrics.ts';
import type { JobHooks } from '../job-runner.ts';
import type { TrainingProtocol, UpdateWeighting } from '../plain-round.ts';
import type { ExcludedClient, RoundSlots } from '../round-records.ts';
import type { Strategy } from '../strategy.ts';
import type { Capability } from './capabilities.ts';
import { orderFeatures } from './feature-order.ts';
import type { JobOutcomes } from './job-outcomes.ts';
import type { ClientRoster } from '../../governance/identity/client-roster.ts';

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
  /**
   * The consortium roster (`tessera coordinator --roster`): consent then counts only when signed by the
   * organisation's roster key (issue 12 §6). Absent in simulations, where operator-entered consent is accepted.
   */
  readonly consentRoster?: ClientRoster;
  /** What features hand back to whoever ran the job (the model registration); made by `assembleJob`. */
  readonly outcomes?: JobOutcomes;
  /**
   * The data contract the job names, when the coordinator was given it (a built-in contract with the job's hash
   * is found without it): its drift layout places and names the clients' contract-check sums.
   */
  readonly contract?: Contract;
}

/** What a feature declares about its place among the others (see capabilities.ts for the vocabulary). */
export interface FeatureDeclaration {
  readonly name: string;
  /** Facts this feature establishes; features that need or come after them run after it. */
  readonly provides?: readonly Capability[];
  /** Facts this feature cannot work without: it runs after their providers, and a missing provider is refused. */
  readonly needs?: readonly Capability[];
  /** Facts this feature must see when they exist: it runs after their providers, if any is enabled. */
  readonly after?: readonly Capability[];
}

export interface CoordinatorFeature extends FeatureDeclaration {
  /** Side effects when the job starts (its rows, its first audit entries), run in the declared order. */
  start?(): void;
  readonly hooks?: JobHooks;
  wrapStrategy?(strategy: Strategy): Strategy;
  readonly protocol?: TrainingProtocol;
  readonly weighting?: UpdateWeighting;
  /** Replaces the request/response federated evaluation (secure aggregation), like `protocol` for training. */
  readonly evaluationProtocol?: EvaluationProtocol;
  /** This feature's slots filled from a federated evaluation (e.g. the fairness report), merged into the round record. */
  afterEvaluation?(round: number, evaluation: FederatedEvaluation): RoundSlots;
}

export interface ComposedFeatures {
  /** The features in the order their hooks run. */
  readonly order: readonly string[];
  readonly hooks: JobHooks;
  readonly wrapStrategy: (s: Strategy) => Strategy;
  readonly protocol: TrainingProtocol | undefined;
  readonly weighting: UpdateWeighting;
  readonly evaluationProtocol: EvaluationProtocol | undefined;
  readonly afterEvaluation: (round: number, evaluation: FederatedEvaluation) => RoundSlots;
}

/** Merges the slots features filled; two features filling one slot is a bug in their declarations. */
function mergeSlots(parts: ReadonlyArray<{ name: string; slots: RoundSlots }>): RoundSlots {
  const out: Record<string, unknown> = {};
  const owner = new Map<string, string>();
  for (const { name, slots } of parts) {
    for (const [key, value] of Object.entries(slots)) {
      if (value === undefined) continue;
      const other = owner.get(key);
      if (other !== undefined) throw new TesseraError('TESSERA_ERR_INTERNAL', `features ${other} and ${name} both fill the round record's slot '${key}'`);
      owner.set(key, name);
      out[key] = value;
    }
  }
  return out;
}

/**
 * Composes features in their declared order (`orderFeatures`: a stable topological sort of needs/after over
 * provides). Eligibility filters chain (an exclusion without a stage is marked `eligibility`: it happened before
 * sampling); the first refusal before a round wins; commits run in order inside ONE database transaction when
 * there is a database, so a round's aggregate, its ledger charge and its audit entry are written together or
 * not at all. `start` runs each feature's start-of-job side effects, in the same order.
 */
export function composeFeatures(unordered: readonly CoordinatorFeature[], db?: Db): ComposedFeatures & { start(): void } {
  const features = orderFeatures(unordered);
  const protocols = features.filter((f) => f.protocol !== undefined);
  if (protocols.length > 1) throw new TesseraError('TESSERA_ERR_INTERNAL', `two features replace the training protocol: ${protocols.map((f) => f.name).join(', ')}`);
  const evaluators = features.filter((f) => f.evaluationProtocol !== undefined);
  if (evaluators.length > 1) throw new TesseraError('TESSERA_ERR_INTERNAL', `two features replace the evaluation protocol: ${evaluators.map((f) => f.name).join(', ')}`);
  const hooks = features.map((f) => ({ name: f.name, h: f.hooks ?? {} }));
  const drawers = hooks.filter(({ h }) => h.drawSample !== undefined);
  if (drawers.length > 1) throw new TesseraError('TESSERA_ERR_INTERNAL', `two features draw the round's sample: ${drawers.map((d) => d.name).join(', ')}`);
  const drawSample = drawers[0]?.h.drawSample;
  type Commit = Parameters<NonNullable<JobHooks['commitRound']>>;
  const commit = (record: Commit[0], weights: Commit[1], serverState: Commit[2]): void => {
    for (const { h } of hooks) h.commitRound?.(record, weights, serverState);
  };
  return {
    order: features.map((f) => f.name),
    start() {
      for (const f of features) f.start?.();
    },
    protocol: protocols[0]?.protocol,
    evaluationProtocol: evaluators[0]?.evaluationProtocol,
    weighting: features.some((f) => f.weighting === 'uniform') ? 'uniform' : 'examples',
    wrapStrategy: (s) => features.reduce((acc, f) => (f.wrapStrategy ? f.wrapStrategy(acc) : acc), s),
    afterEvaluation: (round, evaluation) => mergeSlots(features.map((f) => ({ name: f.name, slots: f.afterEvaluation?.(round, evaluation) ?? {} }))),
    hooks: {
      eligible(clients, round) {
        let eligible = [...clients];
        const excluded: ExcludedClient[] = [];
        for (const { h } of hooks) {
          if (!h.eligible) continue;
          const r = h.eligible(eligible, round);
          eligible = r.eligible;
          excluded.push(...r.excluded.map((x) => (x.stage === undefined ? { ...x, stage: 'eligibility' as const } : x)));
        }
        return { eligible, excluded };
      },
      eligibleWanted(round) {
        return hooks.reduce((most, { h }) => Math.max(most, h.eligibleWanted?.(round) ?? 0), 0);
      },
      beforeRound(round, eligible) {
        for (const { h } of hooks) {
          const d = h.beforeRound?.(round, eligible);
          if (d && !d.proceed) return d;
        }
        return { proceed: true };
      },
      beforeRelease(round, participants) {
        // Its own transaction, committed before the aggregate can exist (the round row follows later).
        const run = (): void => {
          for (const { h } of hooks) h.beforeRelease?.(round, participants);
        };
        if (db && !db.inTransaction) db.transaction(run).immediate();
        else run();
      },
      beforeEvaluationRelease(round, participants, noise) {
        // Like the training release: its own transaction, committed before the evaluation sum can exist.
        const run = (): void => {
          for (const { h } of hooks) h.beforeEvaluationRelease?.(round, participants, noise);
        };
        if (db && !db.inTransaction) db.transaction(run).immediate();
        else run();
      },
      ...(drawSample ? { drawSample } : {}),
      shortRound(round, got) {
        for (const { h } of hooks) {
          const d = h.shortRound?.(round, got);
          if (d && !d.proceed) return d;
        }
        return { proceed: true };
      },
      taskSpec(round, spec) {
        return hooks.reduce((acc, { h }) => h.taskSpec?.(round, acc) ?? acc, spec);
      },
      roundExtra(round, outcome) {
        return mergeSlots(hooks.map(({ name, h }) => ({ name, slots: h.roundExtra?.(round, outcome) ?? {} })));
      },
      commitRound(record, weights, serverState) {
        if (db) db.transaction(() => commit(record, weights, serverState))();
        else commit(record, weights, serverState);
      },
      onJobEnd(result) {
        for (const { h } of hooks) h.onJobEnd?.(result);
      },
    },
  };
}
