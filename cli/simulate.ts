/** `tessera simulate`: run a federation in one process (see simulations/simulate.ts). */
import type { Command } from 'commander';
import { TesseraError } from '../protocol/errors.ts';
import { createLogger } from '../lib/logger.ts';
import type { SimulationConfigInput } from '../simulations/simulate.ts';
import type { AuditReport } from '../simulations/audit-run.ts';
import type { Baselines } from '../simulations/baselines.ts';
import type { RoundRecord } from '../coordinator/round-records.ts';
import { action, integerOption, numberOption, printJson, printLine, readJsonFile } from './run.ts';

interface SimulateOptions {
  auditPrivacy?: true | string;
  churn?: number;
  baselines?: boolean;
  replay?: string;
  dataset: string;
  dataDir?: string;
  clients?: number;
  rounds?: number;
  partition?: string;
  seed: string;
  transport: string;
  samplingRate?: number;
  minClients?: number;
  job?: string;
  state?: string;
  fresh?: boolean;
  contract: boolean;
  fairness?: string;
  reweighing?: boolean;
  dpEpsilon?: number;
  dpDelta?: number;
  dpNoiseMultiplier?: number;
  dpClip?: number;
  dpPlacement?: string;
  dpAdaptiveQuantile?: number;
  trustedCoordinator?: boolean;
  seededNoise?: boolean;
  clientPolicy?: string;
  secagg?: boolean;
  secaggDropout?: number;
  secaggClipRange?: number;
  out?: string;
  json?: boolean;
  verbose?: boolean;
  strategy?: string;
  proximalMu?: number;
  aggregator?: string;
  dropout?: number;
  stragglers?: number;
  deadlineMs?: number;
  workers?: number;
}

function readJobOverrides(path: string): Record<string, unknown> {
  const v = readJsonFile(path, 'job file');
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new TesseraError('TESSERA_ERR_INVALID_JOB_SPEC', `Job file ${path} is not a JSON object: the top level must be an object`);
  return v as Record<string, unknown>;
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('Run a coordinator and N clients in one process on a built-in data set (default: MNIST, 10 clients, dirichlet:0.5, 5 rounds).')
    .option('--dataset <name>', 'mnist | adult | heart', 'mnist')
    .option('--data-dir <dir>', 'directory laid out like ../shared/data (adult/, heart/, mnist/); default $TESSERA_DATA_DIR or ../shared/data')
    .option('--clients <n>', 'number of simulated clients', integerOption('--clients', 1))
    .option('--rounds <n>', 'number of rounds', integerOption('--rounds', 1))
    .option('--partition <scheme>', 'iid | dirichlet:ALPHA | natural (heart: one client per hospital)')
    .option('--seed <seed>', 'seed for the partition, initial weights, sampling and batch order', '42')
    .option('--transport <kind>', 'socket (real loopback sockets) | memory (in-process)', 'memory')
    .option('--sampling-rate <q>', 'Poisson sampling rate per round (default: every client every round)', numberOption('--sampling-rate', 0, 1))
    .option('--min-clients <n>', 'fewest participants with which a round may complete', integerOption('--min-clients', 1))
    .option('--state <dir>', "coordinator state directory (SQLite ledger, audit log, registry); default: none, state stays in memory")
    .option('--fresh', 'with --state: start the job over instead of resuming it (refused once its privacy budget is partly spent)')
    .option('--no-contract', "skip the clients' data-contract check before each round (Adult, Heart)")
    .option('--job <file>', 'JSON object merged into the job spec (model, training, dp, secagg, fairness …)')
    .option('--fairness <attrs>', "federated fairness evaluation per group of these sensitive attributes (and their intersections) on each client's held-out split, e.g. sex,race")
    .option('--reweighing', "clients reweigh their training examples by (group, label) (Kamiran & Calders 2012); needs --fairness or fairness.sensitive in --job")
    .option('--dp-epsilon <e>', 'turn DP on with this ε budget for the job (needs --sampling-rate); the job stops when the next round would exceed it', numberOption('--dp-epsilon', 0))
    .option('--dp-delta <d>', 'δ of the DP guarantee (default 1e-5)', numberOption('--dp-delta', 0, 1))
    .option('--dp-noise-multiplier <s>', 'noise multiplier σ (plan it with `tessera privacy plan`)', numberOption('--dp-noise-multiplier', 0))
    .option('--dp-clip <c>', 'L2 clip norm C of each update', numberOption('--dp-clip', 0))
    .option('--dp-placement <p>', 'central | distributed | local (default distributed)')
    .option('--dp-adaptive-quantile <g>', "adaptive clipping (Andrew et al. 2021): move C each round toward this quantile γ of the update norms, from --dp-clip as C₀ (other settings: the job file's dp.adaptiveClipping)", numberOption('--dp-adaptive-quantile', 0, 1))
    .option('--trusted-coordinator', 'declare the coordinator trusted (required for --dp-placement central)')
    .option('--secagg', 'secure aggregation (SecAgg+): the coordinator learns only the sum of the surviving updates')
    .option('--secagg-dropout <rate>', 'expected dropout rate the SecAgg+ parameter finder plans for (default 0.1); implies --secagg', numberOption('--secagg-dropout', 0, 1))
    .option('--secagg-clip-range <r>', 'bound r on each update coordinate before quantisation (default 1); implies --secagg', numberOption('--secagg-clip-range', 0))
    .option('--seeded-noise', 'clients draw DP noise from a seeded generator: reproducible, NOT private')
    .option('--client-policy <file>', 'client policy JSON for every simulated client (docs/client-policy.md); default: the permissive research policy')
    .option('--churn <rate>', 'with --transport socket: cut each client\'s connection with this probability per round, at a random moment (clients reconnect by themselves; issue 14 soak)', numberOption('--churn', 0, 1))
    .option('--audit-privacy [canaries]', 'empirical privacy audit: insert this many canary clients (default 20) and report the canary ε estimate beside the accountant\'s ε, and a membership-inference attack on the final model (Andrew et al. 2024; Yeom et al. 2018)')
    .option('--strategy <name>', 'server optimiser: fedavg | fedadam | fedyogi | fedadagrad (Reddi et al. 2021); other settings: the job file\'s strategy section')
    .option('--proximal-mu <mu>', 'FedProx (Li et al. 2020): clients add μ/2·‖w − w_global‖² to their loss', numberOption('--proximal-mu', 0))
    .option('--aggregator <rule>', 'robust aggregation (plain path only): median | trimmed-mean:BETA | krum:F[:M]')
    .option('--dropout <rate>', 'seeded fault: each training task\'s client drops out (disconnects unanswered) with this probability', numberOption('--dropout', 0, 1))
    .option('--stragglers <rate>', 'seeded fault: each training task\'s client answers only after the round deadline with this probability (use a short --deadline-ms)', numberOption('--stragglers', 0, 1))
    .option('--deadline-ms <ms>', 'round deadline in milliseconds (default 120000)', integerOption('--deadline-ms', 1))
    .option('--baselines', 'also train, on the same split and seed: pooled (centralised) training, local-only training (each client alone, averaged) and, for a DP job, the same federation without DP')
    .option('--replay <results.json>', "run again the simulation a results.json (from --out) describes and check that the result matches it (exit 1 with TESSERA_ERR_REPLAY_MISMATCH when it does not)")
    .option('--workers <n>', 'worker threads that train the clients in parallel, same result bit for bit (default 1: one after another on this thread; faster only with idle cores — on a machine busy with other sessions they are not, see docs/researcher.md)', integerOption('--workers', 1))
    .option('--out <dir>', 'write results.json, rounds.csv and charts here')
    .option('--json', 'print one JSON document on stdout')
    .option('--verbose', 'operator logs on stderr at info level')
    .action(
      action(async (o: SimulateOptions) => {
        if (!['socket', 'memory'].includes(o.transport)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--transport must be socket or memory, got "${o.transport}"`);
        // Without --verbose only errors reach stderr: the per-round lines carry declines and drift alerts.
        const logger = createLogger({ level: o.verbose ? 'info' : 'error' });
        if (o.replay !== undefined) {
          // The recorded configuration is the whole input: other simulation flags are not merged into it.
          const { replaySimulation } = await import('../simulations/replay.ts');
          const progress = o.json ? (t: string) => process.stderr.write(`${t}\n`) : printLine;
          const report = await replaySimulation(o.replay, { logger, onRound: (r) => progress(roundLine(r)) });
          if (o.out !== undefined) {
            const { writeSimulationOutputs } = await import('../simulations/report.ts');
            await writeSimulationOutputs(o.out, report.replayed);
          }
          if (o.json) printJson({ matched: true, rounds: report.rounds, weightsSha256: report.weightsSha256, environmentDifferences: report.environmentDifferences });
          else printLine(`replay matches ${o.replay}: ${report.rounds} rounds, final weights SHA-256 ${report.weightsSha256}${report.environmentDifferences.length > 0 ? ` (environment differs: ${report.environmentDifferences.join('; ')})` : ''}`);
          return 0;
        }
        const config: SimulationConfigInput = {
          dataset: o.dataset as SimulationConfigInput['dataset'],
          seed: /^\d+$/.test(o.seed) ? Number(o.seed) : o.seed,
          transport: o.transport as 'socket' | 'memory',
          ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}),
          ...(o.clients !== undefined ? { clients: o.clients } : {}),
          ...(o.rounds !== undefined ? { rounds: o.rounds } : {}),
          ...(o.partition !== undefined ? { partition: o.partition } : {}),
          ...(o.samplingRate !== undefined ? { samplingRate: o.samplingRate } : {}),
          ...(o.minClients !== undefined ? { minClients: o.minClients } : {}),
          job: withStrategyFlags(withSecAggFlags(withDpFlags(o.job !== undefined ? readJobOverrides(o.job) : {}, o), o), o),
          ...(o.dropout !== undefined ? { dropoutRate: o.dropout } : {}),
          ...(o.stragglers !== undefined ? { stragglerRate: o.stragglers } : {}),
          ...(o.deadlineMs !== undefined ? { deadlineMs: o.deadlineMs } : {}),
          ...(o.seededNoise === true ? { seededNoise: true } : {}),
          ...(o.state !== undefined ? { stateDir: o.state } : {}),
          ...(o.fresh === true ? { fresh: true } : {}),
          ...(o.clientPolicy !== undefined ? { clientPolicy: readJsonFile(o.clientPolicy, 'client policy file'), clientPolicySource: o.clientPolicy } : {}),
          checkContract: o.contract,
          ...(o.churn !== undefined ? { churn: o.churn } : {}),
          // Sequential by default: on a machine shared with other sessions the kernel gives each session the same CPU
          // whatever its threads (autogroups), so a second worker cannot be faster there and costs its start-up
          // (bench simulate at load 20-29: quick start +1 % CPU, Adult-100 +14 %; wall equal). Ask with --workers N.
          workers: o.workers ?? 1,
          ...(o.auditPrivacy !== undefined ? { auditPrivacy: { canaries: o.auditPrivacy === true ? 20 : parseCanaries(o.auditPrivacy) } } : {}),
          ...(o.baselines === true ? { baselines: true } : {}),
        };
        const fairnessOutput = await import('../simulations/fairness-report.ts');
        config.job = fairnessOutput.withFairnessFlags(config.job ?? {}, o);
        // Loaded on use, so `tessera --help` and other commands do not pay for TensorFlow.js and fastify.
        const { runSimulation } = await import('../simulations/simulate.ts');
        const { simulationSummary, writeSimulationOutputs } = await import('../simulations/report.ts');
        const progress = o.json ? (t: string) => process.stderr.write(`${t}\n`) : printLine;
        const sim = await runSimulation(config, {
          logger,
          onRound: (r) => progress(roundLine(r)),
        });
        const summary = simulationSummary(sim);
        if (o.out !== undefined) await writeSimulationOutputs(o.out, sim);
        if (o.json) printJson({ ...summary, ...(sim.registered ? { registered: sim.registered } : {}), ...(sim.privacyAudit ? { privacyAudit: sim.privacyAudit } : {}), ...(sim.churn ? { churn: sim.churn } : {}), ...(sim.faults ? { faults: sim.faults } : {}), ...(sim.trainingWorkers ? { trainingWorkers: sim.trainingWorkers } : {}) });
        else {
          printLine(`${sim.result.status}: ${sim.result.message.replace(/\.$/, '')}. Final accuracy ${fmt(sim.result.final.accuracy)}, loss ${fmt(sim.result.final.loss)} (backend ${sim.backend.name}; seeded run: not private; client policy: ${sim.clientPolicy === 'permissive-research' ? 'PERMISSIVE research policy' : sim.clientPolicy}).`);
          const fairness = fairnessOutput.fairnessOverRoundsMarkdown(sim.result.rounds, { job: sim.job, tables: ['selectionRate'] });
          if (fairness !== null) printLine(`\n${fairness.trimEnd()}\n`);
          if (sim.privacyAudit) printLine(auditLines(sim.privacyAudit));
          if (sim.churn) printLine(`Churn: ${sim.churn.drops} connection(s) cut (rate ${sim.churn.rate} per client per round); clients reconnected by themselves.`);
          if (sim.baselines) printLine(baselineLines(sim.baselines));
          if (o.out !== undefined) printLine(`Results written to ${o.out}`);
          if (sim.registered) printLine(`registered model ${sim.registered.version} (${sim.registered.name}) in ${o.state ?? ''}`);
        }
        // A requested check that fails is a failed run (exit 1, issue 15 §6): the fairness policy's verdict on the
        // last evaluated round, or a fairness evaluation that could not be made while a policy was set.
        const fairness = [...sim.result.rounds].reverse().find((r) => r.extra.fairness !== undefined)?.extra.fairness;
        const policyFailed = fairness !== undefined && (fairness.ok ? fairness.rules.length > 0 && !fairness.passed : sim.job.fairness.policy.length > 0);
        const ended = sim.result.status === 'completed' || sim.result.status === 'budget-exhausted';
        // The reason goes to stderr as well: a script that discards stdout (`> /dev/null`) still learns why it failed.
        if (!ended) process.stderr.write(`job ${sim.result.status}: ${sim.result.message} (exit 1)\n`);
        if (policyFailed) process.stderr.write(`fairness policy FAILED${fairness.ok ? `: ${fairness.rules.filter((r) => r.status !== 'pass').map((r) => r.metric).join(', ')}` : `: ${fairness.error}`} (exit 1)\n`);
        return ended && !policyFailed ? 0 : 1;
      }),
    );
}

/** The --dp-* flags, merged over the job file's `dp` section; any of them turns DP on. */
function withDpFlags(job: Record<string, unknown>, o: SimulateOptions): Record<string, unknown> {
  const flags = {
    ...(o.dpEpsilon !== undefined ? { epsilon: o.dpEpsilon } : {}),
    ...(o.dpDelta !== undefined ? { delta: o.dpDelta } : {}),
    ...(o.dpNoiseMultiplier !== undefined ? { noiseMultiplier: o.dpNoiseMultiplier } : {}),
    ...(o.dpClip !== undefined ? { clipNorm: o.dpClip } : {}),
    ...(o.dpPlacement !== undefined ? { placement: o.dpPlacement } : {}),
    ...(o.trustedCoordinator === true ? { trustedCoordinator: true } : {}),
  };
  if (Object.keys(flags).length === 0 && o.dpAdaptiveQuantile === undefined) return job;
  const fromFile = typeof job.dp === 'object' && job.dp !== null && !Array.isArray(job.dp) ? (job.dp as Record<string, unknown>) : {};
  const acFile = typeof fromFile.adaptiveClipping === 'object' && fromFile.adaptiveClipping !== null && !Array.isArray(fromFile.adaptiveClipping) ? (fromFile.adaptiveClipping as Record<string, unknown>) : {};
  const adaptive = o.dpAdaptiveQuantile !== undefined ? { adaptiveClipping: { ...acFile, enabled: true, targetQuantile: o.dpAdaptiveQuantile } } : {};
  return { ...job, dp: { enabled: true, ...fromFile, ...flags, ...adaptive } };
}

/** --strategy, --proximal-mu and --aggregator, merged over the job file's `strategy` section. */
function withStrategyFlags(job: Record<string, unknown>, o: SimulateOptions): Record<string, unknown> {
  const flags = {
    ...(o.strategy !== undefined ? { name: o.strategy } : {}),
    ...(o.proximalMu !== undefined ? { proximalMu: o.proximalMu } : {}),
    ...(o.aggregator !== undefined ? { aggregator: parseAggregator(o.aggregator) } : {}),
  };
  if (Object.keys(flags).length === 0) return job;
  const fromFile = typeof job.strategy === 'object' && job.strategy !== null && !Array.isArray(job.strategy) ? (job.strategy as Record<string, unknown>) : {};
  return { ...job, strategy: { ...fromFile, ...flags } };
}

/** `median`, `trimmed-mean:BETA`, `krum:F` or `krum:F:M` as the job spec's strategy.aggregator (the spec checks the values). */
export function parseAggregator(text: string): Record<string, unknown> {
  const [kind = '', a, b, ...rest] = text.split(':');
  const num = (v: string | undefined): number => (v !== undefined && /^[0-9]*\.?[0-9]+$/.test(v) ? Number(v) : Number.NaN);
  if (rest.length === 0) {
    if ((kind === 'median' || kind === 'mean') && a === undefined) return { kind };
    if (kind === 'trimmed-mean' && a !== undefined && b === undefined) return { kind, trimFraction: num(a) };
    if (kind === 'krum' && a !== undefined) return { kind, byzantine: num(a), ...(b !== undefined ? { select: num(b) } : {}) };
  }
  throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--aggregator must be mean, median, trimmed-mean:BETA, krum:F or krum:F:M, got "${text}"`);
}

/** The --secagg* flags, merged over the job file's `secagg` section; any of them turns secure aggregation on. */
function withSecAggFlags(job: Record<string, unknown>, o: SimulateOptions): Record<string, unknown> {
  const flags = {
    ...(o.secaggDropout !== undefined ? { dropoutRate: o.secaggDropout } : {}),
    ...(o.secaggClipRange !== undefined ? { clipRange: o.secaggClipRange } : {}),
  };
  if (o.secagg !== true && Object.keys(flags).length === 0) return job;
  const fromFile = typeof job.secagg === 'object' && job.secagg !== null && !Array.isArray(job.secagg) ? (job.secagg as Record<string, unknown>) : {};
  // DP needs the unweighted sum of clipped, noised updates: uniform weighting unless the job file says otherwise.
  const dpOn = typeof job.dp === 'object' && job.dp !== null && (job.dp as Record<string, unknown>).enabled === true;
  return { ...job, secagg: { ...(dpOn ? { weighting: 'uniform' } : {}), ...fromFile, enabled: true, ...flags } };
}

function roundLine(r: RoundRecord): string {
  const parts = [`round ${String(r.round).padStart(3)}`, `accuracy ${fmt(r.accuracy)}`, `loss ${fmt(r.loss)}`, `participants ${r.participants}`, `${(r.durationMs / 1000).toFixed(1)}s`];
  if (r.dropped.length > 0) parts.push(`dropped ${r.dropped.length}${droppedBreakdown(r)}`);
  if (r.declined.length > 0) parts.push(`declined ${r.declined.map((d) => `${d.orgId} (${d.code.replace(/^TESSERA_ERR_/, '').toLowerCase()})`).join(', ')}`);
  const { privacy, secagg, dataContract } = r.extra;
  if (privacy) parts.push(`epsilon ${privacy.epsilon.toFixed(4)}`);
  const ac = privacy?.adaptiveClipping;
  if (ac) parts.push(`clip ${ac.clipNorm.toPrecision(4)} unclipped ${ac.unclippedFraction === null ? '–' : ac.unclippedFraction.toFixed(2)}`);
  if (secagg) parts.push(`secagg k ${secagg.k} t ${secagg.t}`);
  const drift = dataContract?.driftAlerts ?? [];
  if (drift.length > 0) parts.push(`drift alerts: ${[...new Set(drift.map((d) => d.column))].join(', ')}`);
  return parts.join('  ');
}

/** " (2 disconnected, 1 late)": how the round's dropped clients were lost, from the coordinator's own reasons. */
function droppedBreakdown(r: RoundRecord): string {
  const disconnected = r.dropped.filter((d) => d.code === 'TESSERA_ERR_TIMEOUT' && / disconnected during /.test(d.reason)).length;
  const late = r.dropped.filter((d) => d.code === 'TESSERA_ERR_TIMEOUT' && / did not answer /.test(d.reason)).length;
  const named = [disconnected > 0 ? `${disconnected} disconnected` : '', late > 0 ? `${late} late` : ''].filter((x) => x !== '');
  return named.length > 0 ? ` (${named.join(', ')})` : '';
}

function parseCanaries(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 2) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--audit-privacy takes a number of canaries ≥ 2, got "${v}"`);
  return Number(v);
}

function auditLines(a: AuditReport): string {
  const c = a.canary;
  const m = a.membershipInference;
  const iv = (i: { low: number; high: number }): string => `[${i.low.toFixed(3)}, ${i.high.toFixed(3)}]`;
  return [
    `\nPrivacy audit (${c.canaries} canary clients, ${c.heldOutCanaries} held-out directions, d = ${c.dimension}):`,
    `  empirical epsilon ≥ ${c.epsilonLowerBound.toFixed(3)} (95 % ${iv(c.epsilonInterval95)}) at delta ${c.delta}; accountant epsilon ${a.accountantEpsilon === null ? '— (no DP: no guarantee)' : a.accountantEpsilon.toFixed(3)}`,
    `  canary cosine: inserted ${c.insertedCosine.mean.toExponential(2)} ± ${c.insertedCosine.std.toExponential(2)}, held-out ${c.heldOutCosine.mean.toExponential(2)} ± ${c.heldOutCosine.std.toExponential(2)}`,
    `  membership inference (loss threshold, ${m.members} members vs ${m.nonMembers} non-members): AUC ${m.auc.toFixed(3)} ${iv(m.aucInterval95)}, advantage ${m.advantage.toFixed(3)} ${iv(m.advantageInterval95)}`,
    ...(a.attributeInference?.attributes ?? []).map(
      (r) =>
        `  attribute inference of ${r.attribute} (lowest-loss value, ${r.members} training vs ${r.nonMembers} held-out rows): accuracy ${r.memberAccuracy.toFixed(3)} ${iv(r.memberAccuracyInterval95)} vs ${r.nonMemberAccuracy.toFixed(3)} ${iv(r.nonMemberAccuracyInterval95)}, advantage ${r.advantage.toFixed(3)} ${iv(r.advantageInterval95)}; majority guess "${r.baseline.value}" ${r.baseline.memberAccuracy.toFixed(3)} vs ${r.baseline.nonMemberAccuracy.toFixed(3)}` +
        `\n    prior-weighted (p(value) from ${r.priorWeighted.prior.source === 'contract-reference' ? 'the contract reference' : 'the training rows'}): accuracy ${r.priorWeighted.memberAccuracy.toFixed(3)} ${iv(r.priorWeighted.memberAccuracyInterval95)} vs ${r.priorWeighted.nonMemberAccuracy.toFixed(3)} ${iv(r.priorWeighted.nonMemberAccuracyInterval95)}, advantage ${r.priorWeighted.advantage.toFixed(3)} ${iv(r.priorWeighted.advantageInterval95)}`,
    ),
  ].join('\n');
}

function baselineLines(b: Baselines): string {
  const lines = [`\nBaselines (same split and seed, ${b.pooled.epochs} epochs each):`, `  pooled (centralised, ${b.pooled.examples} examples): accuracy ${fmt(b.pooled.accuracy)}, loss ${fmt(b.pooled.loss)}`, `  local only (mean of ${b.local.clients} clients alone): accuracy ${fmt(b.local.accuracy)}, loss ${fmt(b.local.loss)}`];
  if (b.nonPrivate) lines.push(`  federated without DP (${b.nonPrivate.status}, ${b.nonPrivate.rounds} rounds): accuracy ${fmt(b.nonPrivate.accuracy)}, loss ${fmt(b.nonPrivate.loss)}`);
  return lines.join('\n');
}

function fmt(v: number | null): string {
  return v === null ? '  –   ' : v.toFixed(4);
}
