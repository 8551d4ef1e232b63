/**
 * Runs ONE job inside a running coordinator (the job service, job-service.ts, calls it for each job in turn):
 * the model's initial weights or the resume point, the features assembled from the spec, the round loop, and
 * the model registration. Moved here from `tessera coordinator`, which now hosts jobs instead of running one.
 *
 * A fatal configuration error (DP ↔ secure-aggregation mismatch, no roster for secure aggregation, …) surfaces
 * while the features are assembled. Assembly runs inside ONE database transaction, so such a failure leaves
 * nothing behind: no job budget in the ledger (the DP feature sets it while it is built), no job row, no audit
 * entry — the "ghost budget" of issue 15. The error propagates as the job's coded failure; the service goes on.
 */
import type { Logger } from 'pino';
import { contractHash, type Contract } from '../governance/contract/schema.ts';
import type { ClientRoster } from '../governance/identity/client-roster.ts';
import type { Db } from '../governance/state/database.ts';
import type { RandomSource } from '../privacy/random.ts';
import type { ResolveIdentity } from '../privacy/secagg/identity-directory.ts';
import type { JobSpec } from '../protocol/job/spec.ts';
import type { Federation } from './federation.ts';
import type { Metrics } from './metrics.ts';
import type { JobResult, RoundRecord } from './round-records.ts';

export interface HostedJobDeps {
  readonly federation: Federation;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly rng: RandomSource;
  readonly db?: Db;
  readonly stateDir?: string;
  /** Secure aggregation's identities (the roster the connection gate admits by); read per job, so an edited roster applies to the next job. */
  readonly secAggIdentities?: () => ResolveIdentity;
  /** The roster whose organisations' keys must sign consent records (issue 12 §6); read per job, like the identities. */
  readonly consentRoster?: () => ClientRoster;
  /**
   * Data contracts the coordinator holds beyond the built-in ones (`tessera coordinator --contract`): a job that
   * names one by hash gets it (its contract-check sums laid out under secure aggregation); other jobs are unaffected.
   */
  readonly contracts?: readonly Contract[];
  /** How many clients could ever connect (the roster's size): with all of them connected, waiting longer cannot help. */
  readonly population?: () => number | undefined;
  /** How long a round waits for enough eligible clients. */
  readonly waitClientsMs: number;
  /** After a restart, how long the first round of a resumed job waits for the roster's clients to reconnect. */
  readonly resumeGraceMs: number;
}

export interface HostedJobRun {
  readonly jobId: string;
  readonly spec: JobSpec;
  readonly signal: AbortSignal;
  readonly onRound: (record: RoundRecord) => void;
  /** Operator-facing progress lines (the CLI prints them). */
  readonly say: (line: string) => void;
}

export interface HostedJobOutcome {
  readonly result: JobResult;
  readonly registered: { readonly name: string; readonly version: string } | null;
  readonly registrationError: { readonly code: string; readonly message: string } | null;
}

export async function runHostedJob(deps: HostedJobDeps, run: HostedJobRun): Promise<HostedJobOutcome> {
  const { spec, jobId } = run;
  // Loaded on use, so the service starts (and refuses bad input) without loading TensorFlow.js.
  const { buildModel } = await import('../ml/model.ts');
  const { getFlatWeights } = await import('../ml/weights.ts');
  const { assembleJob, FEATURE_FACTORIES } = await import('./features/assemble.ts');
  const { withSecAggIdentities } = await import('./features/secagg.ts');
  const { resumePoint } = await import('./state/resume.ts');
  const { roundRecords } = await import('./state/job-store.ts');
  const { runJob } = await import('./job-runner.ts');
  const db = deps.db;
  const state = db && deps.stateDir !== undefined ? { db, stateDir: deps.stateDir } : {};
  const resume = db ? resumePoint(db, jobId) : null;
  if (resume && resume.startRound > 1) run.say(`resuming job ${jobId} at round ${resume.startRound} (last committed ${resume.lastCommitted}, last charged ${resume.lastCharged})`);
  const factories = deps.secAggIdentities ? withSecAggIdentities(FEATURE_FACTORIES, deps.secAggIdentities()) : FEATURE_FACTORIES;
  const contract = deps.contracts?.find((c) => contractHash(c) === spec.data.contractHash);
  const ctx = { jobId, spec, logger: deps.logger, rng: deps.rng, metrics: deps.metrics, ...state, ...(deps.consentRoster ? { consentRoster: deps.consentRoster() } : {}), ...(contract ? { contract } : {}) };
  // All or nothing: a feature that refuses the job rolls back what the features before it wrote.
  const assembled = db ? db.transaction(() => assembleJob(ctx, factories)).immediate() : assembleJob(ctx, factories);
  let initialWeights = resume?.weights ?? null;
  if (initialWeights === null) {
    const model = buildModel(spec.model, { seed: spec.seed });
    initialWeights = getFlatWeights(model);
    model.dispose();
  }
  const population = deps.population?.();
  const result = await runJob({
    jobId,
    spec,
    federation: deps.federation,
    logger: deps.logger,
    rng: deps.rng,
    initialWeights,
    ...assembled,
    waitForClientsMs: deps.waitClientsMs,
    signal: run.signal,
    ...(population !== undefined ? { population } : {}),
    ...(resume && db && resume.startRound > 1 ? { startRound: resume.startRound, previousRounds: roundRecords(db, jobId), initialServerState: resume.serverState, resumeGraceMs: deps.resumeGraceMs } : {}),
    onRound: run.onRound,
  });
  // The registry feature registers the model after the job (with --state); wait for it.
  const registration = await assembled.outcomes.registration();
  return {
    result,
    registered: registration?.status === 'registered' ? { version: registration.model.version, name: registration.model.name } : null,
    registrationError: registration?.status === 'failed' ? { code: registration.error.code, message: registration.error.message } : null,
  };
}
