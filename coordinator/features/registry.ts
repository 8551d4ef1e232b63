/**
 * Registers the model a job produced (issue 6 §1) when the job ends with status `completed` or
 * `budget-exhausted` and the coordinator keeps state: artifacts under `<state>/artifacts/models/<version>/`,
 * a registry row with the lineage, and the `model.registered` audit entry. The lineage is read from what the
 * job recorded: the job-spec hash, the data-contract hash, the organisations of each round, the privacy
 * spent (the DP feature's `privacy` slot of the last round), the fairness report (the `fairness` slot of the
 * last evaluated round), the contract-check evidence, the performance evidence (the last federated evaluation
 * with its baselines), the federated permutation importance (the summed counts of that evaluation, when the job
 * asked for them) and the final figures.
 *
 * `registerModel` is asynchronous (it writes tfjs artifacts) and must not run inside the round-commit
 * transaction, so `onJobEnd` starts it and hands the promise to the job's `JobOutcomes` (job-outcomes.ts); the
 * caller that ran the job awaits `assembled.outcomes.registration()` before closing the database.
 */
import { jobSpecHash } from '../../lib/job-spec-hash.ts';
import { checkpointAudit } from '../../governance/audit/log.ts';
import type { Logger } from 'pino';
import { canonicalJson } from '../../lib/canonical-json.ts';
import { getDeploymentState } from '../../governance/deploy/deployments.ts';
import { loadModelArtifact } from '../../governance/registry/artifacts.ts';
import type { Db } from '../../governance/state/database.ts';
import type { LineageInput } from '../../governance/registry/lineage.ts';
import { registerModel } from '../../governance/registry/registry.ts';
import { CONTRACT_DECLINE_CODE } from '../../protocol/data-check.ts';
import { contractEvidenceFromRounds } from '../../governance/registry/contract-evidence.ts';
import { performanceEvidence } from '../../governance/registry/performance.ts';
import { compileContract } from '../../governance/contract/compile.ts';
import type { Contract } from '../../governance/contract/schema.ts';
import { importanceFeaturesForJob } from '../../ml/explain/importance-for-job.ts';
import { importanceFromSum } from '../../ml/explain/permutation-importance.ts';
import { TesseraError } from '../../protocol/errors.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import type { JobResult } from '../round-records.ts';
import type { FeatureFactory } from './assemble.ts';
import { jobInputContract } from './data-contract.ts';
import { lastRoundFairness } from './fairness.ts';
import type { RegistrationOutcome } from './job-outcomes.ts';

export type { RegistrationOutcome } from './job-outcomes.ts';

/**
 * The lineage of a finished job's model, from its spec and its committed rounds (pure). `inputContract` is the
 * contract the model's inputs were computed with (data-contract.ts jobInputContract): it names the importance's
 * features.
 */
export function jobLineage(jobId: string, spec: JobSpec, result: Pick<JobResult, 'rounds' | 'final'>, inputContract?: Contract): LineageInput {
  const rounds = result.rounds;
  let privacy: LineageInput['privacy'] = { epsilon: null, delta: null, placement: 'none', accountant: null, unit: 'organisation' };
  if (spec.dp.enabled) {
    // The DP feature's slot of the last round: the job's cumulative ε after it (privacy-slot.ts).
    const last = rounds.flatMap((r) => (r.extra.privacy ? [r.extra.privacy] : [])).at(-1);
    // Without figures from the accountant ε stays null (unknown): the gate refuses it rather than guess.
    const epsilon = last?.epsilon ?? null;
    privacy = {
      epsilon,
      delta: epsilon === null ? null : (last?.delta ?? spec.dp.delta),
      placement: last?.placement ?? spec.dp.placement,
      accountant: spec.dp.accountant ?? 'rdp',
      unit: 'organisation',
      noiseMultiplier: last?.noiseMultiplier ?? spec.dp.noiseMultiplier,
      clipNorm: last?.clipNorm ?? spec.dp.clipNorm,
      ...(last?.samplingRate !== undefined ? { samplingRate: last.samplingRate } : spec.sampling.mode === 'poisson' ? { samplingRate: spec.sampling.rate } : {}),
    };
  }
  const fairness = lastRoundFairness(rounds);
  // The last federated evaluation on the clients' held-out splits, with its baselines (issue 13 §6).
  const evaluated = [...rounds].reverse().find((r) => r.extra.federatedEvaluation !== undefined);
  const fe = evaluated?.extra.federatedEvaluation;
  const performance = evaluated && fe ? performanceEvidence({ round: evaluated.round, ...fe, previousProduction: fe.previousProduction ?? null }) : null;
  const featureImportance = fe?.importanceCounts !== undefined ? importanceEvidence(spec, fe.importanceCounts, fe.clients, inputContract) : null;
  return {
    jobId,
    jobName: spec.name,
    purpose: spec.purpose,
    dataset: spec.data.dataset,
    jobSpecHash: jobSpecHash(spec),
    dataContractHash: spec.data.contractHash ?? null,
    rounds: rounds.length,
    participation: rounds.map((r) => ({ round: r.round, organisations: [...r.participantOrgs] })),
    privacy,
    fairness: fairness === null ? null : { report: fairness.fairness.report, reportHash: fairness.fairness.hash, passed: fairness.fairness.passed },
    // Counted from what the clients did (issue 13 §5), never assumed from the contract being named.
    contractChecks: spec.data.contractHash === undefined
      ? null
      : contractEvidenceFromRounds(rounds.map((r) => ({ round: r.round, participants: r.participants, contractDeclines: r.declined.filter((d) => d.code === CONTRACT_DECLINE_CODE || d.code === 'TESSERA_ERR_CONTRACT_MISMATCH').length }))),
    ...(performance !== null ? { performance } : {}),
    ...(featureImportance !== null ? { featureImportance } : {}),
    metrics: { accuracy: result.final.accuracy, loss: result.final.loss },
  };
}

/**
 * The lineage's federated permutation importance from the summed counts of the last federated evaluation
 * (ml/explain/permutation-importance.ts `importanceFromSum`: the coordinator never had one client's counts), each
 * entry named by the input contract's feature name and source column when there is one.
 */
function importanceEvidence(spec: JobSpec, sum: readonly number[], clients: number, inputContract: Contract | undefined): NonNullable<LineageInput['featureImportance']> | null {
  const features = importanceFeaturesForJob(spec, inputContract !== undefined ? compileContract(inputContract) : undefined);
  if (sum.length !== 2 + features.length || (sum[0] ?? 0) === 0) return null;
  const r = importanceFromSum(sum, features);
  return { method: 'permutation', examples: r.examples, clients, baselineAccuracy: r.baselineAccuracy, features: r.features, secureAggregation: spec.secagg.enabled };
}

/**
 * The current production version of the job's model (registered under the job's name), when its artifacts
 * verify and its architecture is the job's: the previous-production baseline the job evaluates beside its own
 * model on the same held-out splits. Null when there is none; a broken or different one is logged and skipped.
 */
export function productionBaseline(db: Db, stateDir: string, spec: JobSpec, logger: Logger): { version: string; weights: Float32Array } | null {
  const version = getDeploymentState(db, spec.name).production;
  if (version === null) return null;
  try {
    const artifact = loadModelArtifact(stateDir, version);
    if (canonicalJson(artifact.modelSpec) !== canonicalJson(spec.model)) {
      logger.warn({ baseline: version }, 'the production version has another architecture than this job: no previous-production baseline');
      return null;
    }
    return { version, weights: artifact.weights };
  } catch (e) {
    logger.warn({ baseline: version, code: e instanceof TesseraError ? e.code : 'TESSERA_ERR_INTERNAL' }, `the production version's artifacts cannot be read: no previous-production baseline (${String(e)})`);
    return null;
  }
}

export const registryFeature: FeatureFactory = (ctx) => {
  const { db, stateDir } = ctx;
  if (!db || stateDir === undefined) return null;
  const pending = (p: Promise<RegistrationOutcome>): void => ctx.outcomes?.setRegistration(p);
  return {
    name: 'registry',
    provides: ['model-registration'],
    // The lineage reads the fairness slot and the ε spent; model.registered follows the job's own audit entries.
    needs: ['job-rows'],
    after: ['fairness-report', 'privacy-charge', 'audit-trail'],
    hooks: {
      onJobEnd(result) {
        if (result.status !== 'completed' && result.status !== 'budget-exhausted') {
          pending(Promise.resolve({ status: 'skipped', reason: `the job ended with status ${result.status}` }));
          return;
        }
        if (result.rounds.length === 0) {
          pending(Promise.resolve({ status: 'skipped', reason: 'no round was committed' }));
          return;
        }
        const run = async (): Promise<RegistrationOutcome> => {
          try {
            // A restart after a crash here registers the same weights and lineage again: registerModel returns the
            // existing row (content-addressed version), so the registry still holds one model (issue 14 §3).
            ctx.logger.info({ stage: 'registration' }, 'model registering');
            const model = await registerModel(db, stateDir, { modelSpec: ctx.spec.model, weights: result.weights, lineage: jobLineage(ctx.jobId, ctx.spec, result, jobInputContract(ctx.spec, ctx.contract)), jobSpec: ctx.spec, actor: 'coordinator' });
            checkpointAudit(db);
            ctx.logger.info({ version: model.version, name: model.name }, 'model registered');
            return { status: 'registered', model };
          } catch (e) {
            const error = e instanceof TesseraError ? e : new TesseraError('TESSERA_ERR_INTERNAL', `registering the model failed: ${String(e)}`, { cause: e });
            ctx.logger.error({ code: error.code }, `model registration failed: ${error.message}`);
            return { status: 'failed', error };
          }
        };
        pending(run());
      },
    },
  };
};
