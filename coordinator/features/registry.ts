/**
 * Registers the model a job produced (issue 6 §1) when the job ends with status `completed` or
 * `budget-exhausted` and the coordinator keeps state: artifacts under `<state>/artifacts/models/<version>/`,
 * a registry row with the lineage, and the `model.registered` audit entry. The lineage is read from what the
 * job recorded: the job-spec hash, the data-contract hash, the organisations of each round, the privacy
 * spent (from the rounds' `extra.privacy` when DP is on), the fairness report (`extra.fairness` of the last
 * evaluated round), the contract-check evidence and the final figures.
 *
 * `registerModel` is asynchronous (it writes tfjs artifacts) and must not run inside the round-commit
 * transaction, so `onJobEnd` starts it and parks the promise under the job id; the caller that ran the job
 * awaits `jobRegistration(jobId)` before closing the database and prints the version.
 */
import { z } from 'zod';
import { checkpointAudit } from '../../governance/audit/log.ts';
import { canonicalHash } from '../../lib/canonical-json.ts';
import type { LineageInput } from '../../governance/registry/lineage.ts';
import { registerModel, type RegisteredModel } from '../../governance/registry/registry.ts';
import { CONTRACT_DECLINE_CODE } from '../../protocol/data-check.ts';
import { contractEvidenceFromRounds } from '../../governance/registry/contract-evidence.ts';
import { TesseraError } from '../../protocol/errors.ts';
import type { JobSpec } from '../../protocol/job/spec.ts';
import type { JobResult } from '../round-records.ts';
import type { FeatureFactory } from './assemble.ts';
import { lastRoundFairness } from './fairness.ts';

/**
 * What the DP feature reports per round under `extra.privacy` (also accepted under `extra.dp`): the ε this
 * round charged and/or the job's cumulative ε after it, with δ and how the noise was placed and accounted.
 */
const PrivacyExtra = z.looseObject({
  epsilonCharge: z.number().min(0).optional(),
  epsilonSpent: z.number().min(0).optional(),
  /** Synonym of epsilonSpent (cumulative ε after this round). */
  epsilon: z.number().min(0).optional(),
  delta: z.number().min(0).lt(1).optional(),
  placement: z.enum(['central', 'distributed', 'local']).optional(),
  accountant: z.string().optional(),
  noiseMultiplier: z.number().min(0).optional(),
  clipNorm: z.number().positive().optional(),
  samplingRate: z.number().gt(0).max(1).optional(),
});

export interface RoundPrivacy {
  readonly epsilonCharge?: number;
  readonly epsilonSpent?: number;
  readonly delta?: number;
  readonly placement?: 'central' | 'distributed' | 'local';
  readonly accountant?: string;
  readonly noiseMultiplier?: number;
  readonly clipNorm?: number;
  readonly samplingRate?: number;
}

/** The privacy figures a round record's `extra` carries, if any. */
export function privacyFromExtra(extra: Readonly<Record<string, unknown>>): RoundPrivacy | undefined {
  const raw = extra.privacy ?? extra.dp;
  const p = PrivacyExtra.safeParse(raw);
  if (raw === undefined || !p.success) return undefined;
  const d = p.data;
  const spent = d.epsilonSpent ?? d.epsilon;
  return {
    ...(d.epsilonCharge !== undefined ? { epsilonCharge: d.epsilonCharge } : {}),
    ...(spent !== undefined ? { epsilonSpent: spent } : {}),
    ...(d.delta !== undefined ? { delta: d.delta } : {}),
    ...(d.placement !== undefined ? { placement: d.placement } : {}),
    ...(d.accountant !== undefined ? { accountant: d.accountant } : {}),
    ...(d.noiseMultiplier !== undefined ? { noiseMultiplier: d.noiseMultiplier } : {}),
    ...(d.clipNorm !== undefined ? { clipNorm: d.clipNorm } : {}),
    ...(d.samplingRate !== undefined ? { samplingRate: d.samplingRate } : {}),
  };
}

/** The lineage of a finished job's model, from its spec and its committed rounds (pure). */
export function jobLineage(jobId: string, spec: JobSpec, result: Pick<JobResult, 'rounds' | 'final'>): LineageInput {
  const rounds = result.rounds;
  let privacy: LineageInput['privacy'] = { epsilon: null, delta: null, placement: 'none', accountant: null, unit: 'organisation' };
  if (spec.dp.enabled) {
    const reported = rounds.map((r) => privacyFromExtra(r.extra)).filter((p): p is RoundPrivacy => p !== undefined);
    const last = reported.at(-1);
    const summed = reported.reduce((s, p) => s + (p.epsilonCharge ?? 0), 0);
    // Without figures from the accountant ε stays null (unknown): the gate refuses it rather than guess.
    const epsilon = last?.epsilonSpent ?? (reported.some((p) => p.epsilonCharge !== undefined) ? summed : null);
    privacy = {
      epsilon,
      delta: epsilon === null ? null : (last?.delta ?? spec.dp.delta),
      placement: last?.placement ?? spec.dp.placement,
      accountant: last?.accountant ?? spec.dp.accountant ?? 'rdp',
      unit: 'organisation',
      noiseMultiplier: last?.noiseMultiplier ?? spec.dp.noiseMultiplier,
      clipNorm: last?.clipNorm ?? spec.dp.clipNorm,
      ...(last?.samplingRate !== undefined ? { samplingRate: last.samplingRate } : spec.sampling.mode === 'poisson' ? { samplingRate: spec.sampling.rate } : {}),
    };
  }
  const fairness = lastRoundFairness(rounds);
  return {
    jobId,
    jobName: spec.name,
    purpose: spec.purpose,
    dataset: spec.data.dataset,
    jobSpecHash: canonicalHash(spec),
    dataContractHash: spec.data.contractHash ?? null,
    rounds: rounds.length,
    participation: rounds.map((r) => ({ round: r.round, organisations: [...r.participantOrgs] })),
    privacy,
    fairness: fairness === null ? null : { report: fairness.fairness.report, reportHash: fairness.fairness.hash, passed: fairness.fairness.passed },
    // Counted from what the clients did (issue 13 §5), never assumed from the contract being named.
    contractChecks: spec.data.contractHash === undefined
      ? null
      : contractEvidenceFromRounds(rounds.map((r) => ({ round: r.round, participants: r.participants, contractDeclines: r.declined.filter((d) => d.code === CONTRACT_DECLINE_CODE || d.code === 'TESSERA_ERR_CONTRACT_MISMATCH').length }))),
    metrics: { accuracy: result.final.accuracy, loss: result.final.loss },
  };
}

export type RegistrationOutcome =
  | { readonly status: 'registered'; readonly model: RegisteredModel }
  | { readonly status: 'skipped'; readonly reason: string }
  | { readonly status: 'failed'; readonly error: TesseraError };

const pending = new Map<string, Promise<RegistrationOutcome>>();

/** The registration started at the end of job `jobId` (undefined when the registry feature was off). */
export function jobRegistration(jobId: string): Promise<RegistrationOutcome> | undefined {
  const p = pending.get(jobId);
  if (p) void p.finally(() => pending.delete(jobId));
  return p;
}

export const registryFeature: FeatureFactory = (ctx) => {
  const { db, stateDir } = ctx;
  if (!db || stateDir === undefined) return null;
  return {
    name: 'registry',
    hooks: {
      onJobEnd(result) {
        if (result.status !== 'completed' && result.status !== 'budget-exhausted') {
          pending.set(ctx.jobId, Promise.resolve({ status: 'skipped', reason: `the job ended with status ${result.status}` }));
          return;
        }
        if (result.rounds.length === 0) {
          pending.set(ctx.jobId, Promise.resolve({ status: 'skipped', reason: 'no round was committed' }));
          return;
        }
        const run = async (): Promise<RegistrationOutcome> => {
          try {
            const model = await registerModel(db, stateDir, { modelSpec: ctx.spec.model, weights: result.weights, lineage: jobLineage(ctx.jobId, ctx.spec, result), jobSpec: ctx.spec, actor: 'coordinator' });
            checkpointAudit(db);
            ctx.logger.info({ version: model.version, name: model.name }, 'model registered');
            return { status: 'registered', model };
          } catch (e) {
            const error = e instanceof TesseraError ? e : new TesseraError('TESSERA_ERR_INTERNAL', `registering the model failed: ${String(e)}`, { cause: e });
            ctx.logger.error({ code: error.code }, `model registration failed: ${error.message}`);
            return { status: 'failed', error };
          }
        };
        pending.set(ctx.jobId, run());
      },
    },
  };
};
