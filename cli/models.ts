/**
 * `tessera models list|show|card`: the model registry for privacy officers and operators. Also the shared
 * plumbing of the governance command groups (the `--state` option, option parsers that report usage errors).
 */
import { type Command, InvalidArgumentError } from 'commander';
import { appendFileSync } from 'node:fs';
import { writeOutFile } from './out-file.ts';
import { toWitnessed } from '../governance/audit/anchor.ts';
import { openDatabase, type Db } from '../governance/state/database.ts';
import { checkpointAudit } from '../governance/audit/log.ts';
import { listModels, resolveModel, type RegisteredModel } from '../governance/registry/registry.ts';
import { participatingOrganisations, reportRuleHeadlines } from '../governance/registry/lineage.ts';
import { modelIntegrityProblems } from '../governance/registry/integrity.ts';
import { listDeploymentFlags } from '../governance/deploy/revocation.ts';
import { getDeploymentState, stageOf } from '../governance/deploy/deployments.ts';
import { approvalsForCard, generateModelCard } from '../governance/model-card/generate.ts';
import { renderModelCardMarkdown } from '../governance/model-card/card.ts';
import { action, printJson, printLine } from './run.ts';
import { registerModelsQuantize } from './models-quantize.ts';

export const DEFAULT_STATE = process.env.TESSERA_STATE ?? 'state';
export const STATE_HELP = 'state directory (SQLite database, artifacts, keys); default $TESSERA_STATE or ./state';
/** `--key` on every governance command (issue 13 §6): required once the state's approver registry is initialised. */
export const KEY_HELP = 'your approver private key: the audit entry is attributed to you and signed (required on a production state, i.e. once `tessera approvers init` has run; without it a development state records the local user, unsigned)';

/** Wraps a parser so a bad value is a commander usage error (exit 2), not an uncaught exception. */
export function parseWith<T>(parse: (v: string) => T): (v: string) => T {
  return (v) => {
    try {
      return parse(v);
    } catch (e) {
      throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
    }
  };
}

/** Opens the state database, runs `fn`, signs a checkpoint if anything was audited, and closes. */
export async function withState<T>(stateDir: string, fn: (db: Db) => T | Promise<T>, options: { checkpoint?: boolean } = {}): Promise<T> {
  const db = openDatabase(stateDir);
  try {
    const result = await fn(db);
    // A checkpoint after each governance command marks the end of the log, so deleting the tail shows.
    // With $TESSERA_AUDIT_WITNESS set, it is also appended (after its commit) to that witness log, which an
    // auditor keeps outside the state and passes to `tessera audit verify --anchor`.
    if (options.checkpoint) {
      const c = checkpointAudit(db);
      const witness = process.env.TESSERA_AUDIT_WITNESS;
      if (c && witness) appendFileSync(witness, `${JSON.stringify(toWitnessed(c))}\n`, { mode: 0o644 });
    }
    return result;
  } finally {
    db.close();
  }
}

function short(v: string | null | undefined): string {
  return v ? v.slice(0, 12) : '-';
}

function modelSummary(db: Db, m: RegisteredModel) {
  return {
    version: m.version,
    name: m.name,
    registeredAt: m.registeredAt,
    stage: stageOf(getDeploymentState(db, m.name), m.version),
    kind: m.modelSpec.kind,
    parameters: m.parameters,
    rounds: m.lineage.rounds,
    organisations: participatingOrganisations(m.lineage).length,
    epsilon: m.lineage.privacy.epsilon,
    delta: m.lineage.privacy.delta,
    fairnessPassed: m.lineage.fairness?.passed ?? null,
  };
}

interface ListOptions {
  state: string;
  name?: string;
  json?: boolean;
}

interface ShowOptions {
  state: string;
  json?: boolean;
}

interface CardOptions {
  state: string;
  json?: boolean;
  out?: string;
  force?: boolean;
}

export function registerModels(program: Command): void {
  const models = program.command('models').description('The model registry: versions, lineage and model cards.');

  models
    .command('list')
    .description('List registered model versions with their stage, privacy spent and fairness verdict.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .option('--name <name>', 'only versions of this model name')
    .option('--json', 'print one JSON document: {"models": [...]}')
    .action(
      action(async (o: ListOptions) =>
        withState(o.state, (db) => {
          const rows = listModels(db, o.name !== undefined ? { name: o.name } : {}).map((m) => modelSummary(db, m));
          if (o.json) return printJson({ models: rows });
          if (rows.length === 0) return printLine('no models registered');
          printLine('version       name              stage       kind      rounds  orgs  epsilon   fairness  registered');
          for (const r of rows) {
            printLine(
              `${short(r.version)}  ${r.name.padEnd(16).slice(0, 16)}  ${r.stage.padEnd(10)}  ${r.kind.padEnd(8)}  ${String(r.rounds).padStart(6)}  ${String(r.organisations).padStart(4)}  ${(r.epsilon === null ? 'no DP' : String(Number(r.epsilon.toPrecision(4)))).padEnd(8)}  ${(r.fairnessPassed === null ? '-' : r.fairnessPassed ? 'passed' : 'FAILED').padEnd(8)}  ${r.registeredAt}`,
            );
          }
        }),
      ),
    );

  models
    .command('show')
    .argument('<version>', 'model version (or a unique prefix of at least 8 hex characters)')
    .description('Show one version: lineage, privacy spent, fairness evidence, approvals and stage.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .option('--json', 'print one JSON document: the registry record with stage and approvals')
    .action(
      action(async (version: string, o: ShowOptions) =>
        withState(o.state, (db) => {
          const m = resolveModel(db, version);
          const stage = stageOf(getDeploymentState(db, m.name), m.version);
          const approvals = approvalsForCard(db, m, new Date());
          if (o.json) return printJson({ ...m, stage, approvals, flags: listDeploymentFlags(db, m.name).filter((x) => x.version === m.version), integrity: modelIntegrityProblems(db, m.version) });
          const l = m.lineage;
          printLine(`model ${m.name} version ${m.version}`);
          printLine(`  stage ${stage}; registered ${m.registeredAt}; ${m.modelSpec.kind}, ${m.parameters} parameters`);
          printLine(`  lineage ${m.lineageHash}`);
          printLine(`  job ${l.jobId ?? '-'} (spec ${l.jobSpecHash}); purpose ${l.purpose ?? '-'}; data set ${l.dataset ?? '-'}; contract ${l.dataContractHash ?? '-'}`);
          printLine(`  ${l.rounds} rounds; organisations: ${participatingOrganisations(l).join(', ') || '-'}`);
          printLine(`  privacy: ${l.privacy.epsilon === null ? 'no differential privacy' : `ε ${l.privacy.epsilon}, δ ${l.privacy.delta}, ${l.privacy.placement} noise, ${l.privacy.accountant ?? '?'} accountant, unit: ${l.privacy.unit}`}`);
          const fairnessVerdict = l.fairness === null ? 'no report' : reportRuleHeadlines(l.fairness.report).length === 0 ? 'NOT EVALUATED (no rules)' : l.fairness.passed ? 'passed' : 'FAILED';
          printLine(`  fairness: ${fairnessVerdict}${l.fairness ? ` (report ${l.fairness.reportHash})` : ''}`);
          const cc = l.contractChecks;
          printLine(`  contract checks: ${cc === null ? 'not recorded' : `${cc.passed ? 'passed' : 'FAILED'}${cc.checked !== undefined ? ` — ${cc.checked} checked, ${cc.passedChecks ?? 0} passed, ${cc.declined ?? 0} declined` : ''}; ${cc.summary}`}`);
          const pf = l.performance;
          printLine(`  held-out performance: ${pf === undefined ? 'not recorded' : `accuracy ${num(pf.model.accuracy)}, loss ${num(pf.model.loss)}, Brier ${num(pf.model.brier)} on ${pf.examples} examples from ${pf.clients} clients (round ${pf.round})`}`);
          if (pf !== undefined) {
            const b = pf.baselines;
            printLine(`    baselines on the same examples: majority class ${b.majority.class} accuracy ${num(b.majority.accuracy)}; class prior loss ${num(b.prior.loss)}, Brier ${num(b.prior.brier)}; previous production ${b.previousProduction === null ? '-' : `${b.previousProduction.version.slice(0, 12)} accuracy ${num(b.previousProduction.accuracy)}, loss ${num(b.previousProduction.loss)}, Brier ${num(b.previousProduction.brier)}`}`);
          }
          for (const f of listDeploymentFlags(db, m.name).filter((x) => x.version === m.version)) printLine(`  FLAGGED at ${f.at}: ${f.reason}`);
          for (const p of modelIntegrityProblems(db, m.version)) printLine(`  INTEGRITY: ${p}`);
          printLine(`  code ${l.code.version}${l.code.gitCommit ? ` @ ${l.code.gitCommit}` : ''}; TensorFlow.js ${l.runtime.tfjsVersion} (${l.runtime.tfjsBackend}); Node ${l.runtime.node}`);
          printLine(`  approvals: ${approvals.length === 0 ? 'none' : ''}`);
          for (const a of approvals) printLine(`    ${a.decision ?? '?'} as ${a.role ?? '?'} by ${a.name ?? '?'} (${a.keyId ?? '?'}), expires ${a.expiresAt ?? '?'}: ${a.status}`);
        }),
      ),
    );

  models
    .command('card')
    .argument('<version>', 'model version (or a unique prefix of at least 8 hex characters)')
    .description('Generate the model card (Markdown, or JSON with --json) from the registry and the job spec.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .option('--json', 'the card as one JSON document')
    .option('--out <file>', 'write the card to FILE instead of stdout (never overwrites without --force, never follows a link)')
    .option('--force', 'with --out: overwrite FILE')
    .action(
      action(async (version: string, o: CardOptions) =>
        withState(o.state, (db) => {
          const card = generateModelCard(db, resolveModel(db, version));
          const text = o.json ? `${JSON.stringify(card, null, 2)}\n` : renderModelCardMarkdown(card);
          if (o.out === undefined) return void process.stdout.write(text);
          writeOutFile(o.out, text, { force: o.force ?? false });
          if (!o.json) printLine(`wrote ${o.out}`);
          else process.stderr.write(`wrote ${o.out}\n`);
        }),
      ),
    );

  registerModelsQuantize(models);
}

function num(x: number): string {
  return Number(x.toPrecision(4)).toString();
}
