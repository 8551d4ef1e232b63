/**
 * Every command group, in the order `tessera --help` lists them, loaded only when used: `tessera <command> …`
 * imports the one module that registers that command (and so only the packages it needs), and the top-level
 * `tessera --help` imports none — it lists the commands from the names and descriptions kept here. Those must
 * equal what each module registers: test/cli-lazy-groups.test.ts compares this listing with every module's own
 * registration, and names the entry to update. Add a group by adding an entry here.
 */
import type { Command } from 'commander';

export type RegisterCommands = (program: Command) => void;

/** A top-level command as the listing shows it: its name, whether it takes options, its description. */
export interface ListedCommand {
  readonly name: string;
  readonly options: boolean;
  readonly description: string;
}

export interface CommandGroup {
  /** The module (cli/<file>.ts) whose register function adds these commands. */
  readonly file: string;
  readonly load: () => Promise<RegisterCommands>;
  /** The top-level commands the register function adds, in its order. */
  readonly commands: readonly ListedCommand[];
}

function group(file: string, load: () => Promise<RegisterCommands>, commands: readonly ListedCommand[]): CommandGroup {
  return { file, load, commands };
}

export const COMMAND_GROUPS: readonly CommandGroup[] = [
  group('simulate', () => import('./simulate.ts').then((m) => m.registerSimulate), [
    { name: 'simulate', options: true, description: 'Run a coordinator and N clients in one process on a built-in data set (default: MNIST, 10 clients, dirichlet:0.5, 5 rounds).' },
  ]),
  group('sweep', () => import('./sweep.ts').then((m) => m.registerSweep), [
    { name: 'sweep', options: true, description: 'Run a grid of simulations (axes over job-spec fields, each cell once per seed); resumable; writes a table of mean ± 95 % interval per cell and one HTML report.' },
  ]),
  group('coordinator', () => import('./coordinator.ts').then((m) => m.registerCoordinator), [
    { name: 'coordinator', options: true, description: 'Start the coordinator service (fastify + socket.io): it hosts the jobs submitted with tessera jobs submit, one after another; --job FILE runs one job and exits.' },
  ]),
  group('jobs', () => import('./jobs.ts').then((m) => m.registerJobs), [
    { name: 'jobs', options: false, description: "Jobs on a running coordinator (submit, list, show, cancel), the preflight check of a job spec, and the spec's JSON Schema." },
  ]),
  group('client', () => import('./client.ts').then((m) => m.registerClient), [
    { name: 'client', options: true, description: "Run a client node on this organisation's data: connect to the coordinator and take part in its jobs until SIGINT." },
  ]),
  group('policy', () => import('./policy.ts').then((m) => m.registerPolicy), [
    { name: 'policy', options: false, description: "The client node's own policy: what this organisation demands of any job it joins, whatever the coordinator sends." },
  ]),
  group('fairness', () => import('./fairness.ts').then((m) => m.registerFairness), [
    { name: 'fairness', options: true, description: 'Fairness report of a predictions CSV: per-group count, accuracy, selection rate, TPR, FPR, FNR, precision and ECE (with Wilson intervals), and Fairlearn-style disparities (demographic parity difference/ratio, equalized odds, equal opportunity, accuracy gap, worst-group accuracy), for each group column and their intersections (e.g. sex×race).' },
  ]),
  group('contract', () => import('./contract.ts').then((m) => m.registerContract), [
    { name: 'contract', options: false, description: 'Data contracts: draft one from reference data, check data against one (schema, ranges, missing values, outliers, labels, drift), hash one for a job spec.' },
  ]),
  group('privacy', () => import('./privacy.ts').then((m) => m.registerPrivacy), [
    { name: 'privacy', options: false, description: 'Differential-privacy accounting: ε of a schedule, σ for a budget.' },
  ]),
  group('ledger', () => import('./ledger.ts').then((m) => m.registerLedger), [
    { name: 'ledger', options: false, description: 'The privacy ledger: ε budgets per job, caps per organisation, every charged round.' },
  ]),
  group('models', () => import('./models.ts').then((m) => m.registerModels), [
    { name: 'models', options: false, description: 'The model registry: versions, lineage and model cards.' },
  ]),
  group('keys', () => import('./keys.ts').then((m) => m.registerKeys), [
    { name: 'keys', options: false, description: "Ed25519 keys: approvers' signing keys and clients' secure-aggregation identities." },
  ]),
  group('certs', () => import('./certs.ts').then((m) => m.registerCerts), [
    { name: 'certs', options: false, description: 'TLS certificates for the coordinator and, for mutual TLS, its clients.' },
  ]),
  group('tokens', () => import('./tokens.ts').then((m) => m.registerTokens), [
    { name: 'tokens', options: false, description: 'API tokens, one role each: operator roles (viewer, operator, privacy-officer, auditor, ml-lead) predict, the serving credential, or reviewer, the human-review credential; stored hashed in <state>/operator-tokens.json.' },
  ]),
  group('approvers', () => import('./approvers.ts').then((m) => m.registerApprovers), [
    { name: 'approvers', options: false, description: 'The trust registry: people, their keys and roles, changed only with admin-quorum signatures.' },
  ]),
  group('approve', () => import('./approve.ts').then((m) => m.registerApprove), [
    { name: 'approve', options: true, description: 'Sign and record an approval (or --reject) of a model version for one role; prints the evidence you sign.' },
  ]),
  group('deploy', () => import('./deploy.ts').then((m) => m.registerDeploy), [
    { name: 'deploy', options: true, description: 'Move a model version to shadow, canary (a share of traffic) or production, if the deployment policy is met.' },
    { name: 'rollback', options: true, description: 'Return a model name to its previous production version at once (clears any canary and shadow); with --canary, stop the canary only.' },
    { name: 'deployment-policy', options: false, description: "The coordinator's recorded deployment policy: stricter at will, laxer only with admin-quorum signatures." },
  ]),
  group('monitor', () => import('./monitor.ts').then((m) => m.registerMonitor), [
    { name: 'monitor', options: true, description: 'The current picture of served models: latency, errors, drift, online accuracy and calibration, the canary verdict and the alerts.' },
  ]),
  group('audit', () => import('./audit.ts').then((m) => m.registerAudit), [
    { name: 'audit', options: false, description: 'The hash-chained audit log: verify, export, list.' },
  ]),
  group('consent', () => import('./consent.ts').then((m) => m.registerConsent), [
    { name: 'consent', options: false, description: 'Consent records per organisation and data set (purposes, expiry, maximum ε, retention).' },
  ]),
  group('retention', () => import('./retention.ts').then((m) => m.registerRetention), [
    { name: 'retention', options: false, description: "Retention of served inputs, feedback and review records (the deployment policy's retention section)." },
  ]),
];
