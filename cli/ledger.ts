/**
 * `tessera ledger …` for privacy officers: what each job has spent of its budget, round by round, and what each
 * organisation's data has been charged; budgets and organisation caps are set here too.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { LedgerReport } from '../governance/ledger/index.ts';
import { changeJobBudget, ledgerReport, setJobBudget, setOrgCap, getJobBudget } from '../governance/ledger/index.ts';
import { appendAudit, checkpointAudit } from '../governance/audit/log.ts';
import { AUDIT_ACTIONS } from '../governance/audit/actions.ts';
import { attributeTo } from '../governance/audit/attribution.ts';
import { getOrgCaps } from '../governance/ledger/store.ts';
import { KEY_HELP } from './models.ts';
import { databasePath, openDatabase } from '../governance/state/database.ts';
import { TesseraError } from '../protocol/errors.ts';
import { action, numberOption, printJson, printLine } from './run.ts';

/** run.ts's parsers throw TesseraError inside commander's parsing; as InvalidArgumentError it is a usage error (exit 2). */
function num(name: string, min?: number, max?: number): (v: string) => number {
  const parse = numberOption(name, min, max);
  return (v) => {
    try {
      return parse(v);
    } catch (e) {
      throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
    }
  };
}

const DEFAULT_STATE = process.env.TESSERA_STATE ?? 'state';

interface ShowOptions {
  state: string;
  job?: string;
  org?: string;
  json?: boolean;
  all?: boolean;
}

/** Per-organisation lines and rounds printed without --all: a federation of 1,000 organisations gets a summary, not 1,000 lines (issue 15 §6). */
const SUMMARY_LINES = 20;

interface BudgetOptions {
  state: string;
  job?: string;
  org?: string;
  epsilon: number;
  delta: number;
  placement: string;
  trustedCoordinator?: boolean;
  accountant: string;
  conversion: string;
  key?: string;
  json?: boolean;
}

const fmt = (x: number | null): string => (x === null ? '-' : String(Number(x.toPrecision(6))));

function printReport(r: LedgerReport, all: boolean): void {
  if (r.jobs.length === 0) printLine('no job budgets');
  for (const j of r.jobs) {
    const b = j.budget;
    printLine(`job ${b.jobId}: spent ε ${fmt(j.epsilonSpent)} of ${fmt(b.epsilon)} (remaining ${fmt(j.epsilonRemaining)}) at δ ${b.delta}; ${j.roundsCharged} rounds charged`);
    printLine(`  ${b.placement} noise${b.trustedCoordinator ? ', trusted coordinator' : ''}; accountant ${b.accountant} (${b.conversion})`);
    if ((b.underfillFraction ?? 0) > 0) printLine(`  δ reserved for under-filled rounds: ${fmt((b.underfillFraction ?? 0) * b.delta)} (Σ η so far ${j.underfill.toExponential(2)})`);
    for (const c of j.budgetChanges) printLine(`  budget changed ${fmt(c.oldEpsilon)} → ${fmt(c.newEpsilon)} by ${c.officer} at ${c.changedAt}: ${c.reason}`);
    if (j.notPrivateRounds > 0) printLine(`  WARNING: ${j.notPrivateRounds} round(s) used seeded noise: their results are NOT private`);
  }
  if (r.rounds && r.rounds.length > 0) {
    printLine('');
    printLine('round  q         σ         C         participants/eligible  ε after      charged at');
    const rounds = all ? r.rounds : r.rounds.slice(-SUMMARY_LINES);
    if (rounds.length < r.rounds.length) printLine(`(${r.rounds.length - rounds.length} earlier round(s) not shown; --all shows every round)`);
    for (const x of rounds) {
      printLine(
        `${String(x.round).padEnd(6)} ${fmt(x.samplingRate).padEnd(9)} ${fmt(x.noiseMultiplier).padEnd(9)} ${fmt(x.clipNorm).padEnd(9)} ${`${x.participants}/${x.eligible}`.padEnd(22)} ${fmt(x.epsilonAfter).padEnd(12)} ${x.chargedAt}${x.privateNoise ? '' : '  NOT PRIVATE'}`,
      );
    }
  }
  if (r.orgs.length > 0) {
    printLine('');
    // Summary: the organisations closest to their cap (or with the most ε) first; --all lists every one.
    const ranked = [...r.orgs].sort((a, b) => (b.cap === null ? 0 : b.totalEpsilon / b.cap) - (a.cap === null ? 0 : a.totalEpsilon / a.cap) || b.totalEpsilon - a.totalEpsilon);
    const orgs = all ? r.orgs : ranked.slice(0, SUMMARY_LINES);
    if (orgs.length < r.orgs.length) {
      const total = r.orgs.reduce((m, o) => Math.max(m, o.totalEpsilon), 0);
      printLine(`${r.orgs.length} organisations; the ${orgs.length} nearest their cap (or with the most ε) are shown, highest total ε ${fmt(total)}; --all lists every one`);
    }
    for (const o of orgs) {
      const spend = o.spend.map((s) => `${s.jobId}: ε ${fmt(s.epsilon)} over ${s.rounds} rounds`).join('; ');
      printLine(`org ${o.orgId}: total ε ${fmt(o.totalEpsilon)} at δ ${fmt(o.totalDelta)} over all jobs, cap ${o.cap === null ? 'none' : fmt(o.cap)}${spend ? ` — ${spend}` : ''}`);
    }
  }
}

export function registerLedger(program: Command): void {
  const ledger = program.command('ledger').description('The privacy ledger: ε budgets per job, caps per organisation, every charged round.');

  ledger
    .command('show')
    .description('Show budgets and spend (all jobs; with --job its rounds and per-organisation spend; with --org that organisation).')
    .option('--state <dir>', 'state directory holding tessera.db (default $TESSERA_STATE or ./state)', DEFAULT_STATE)
    .option('--job <id>', 'one job: its budget, its charged rounds, and each organisation’s spend on it')
    .option('--org <id>', 'one organisation: its cap and its spend on every job')
    .option('--json', 'print one JSON document on stdout (always complete)')
    .option('--all', `every round and organisation (default: the last ${SUMMARY_LINES} rounds and the ${SUMMARY_LINES} organisations nearest their cap)`)
    .action(
      action((o: ShowOptions) => {
        if (!existsSync(databasePath(o.state))) throw new TesseraError('TESSERA_ERR_STATE', `no state database at ${databasePath(o.state)}`);
        const db = openDatabase(o.state);
        try {
          const filter = { ...(o.job === undefined ? {} : { jobId: o.job }), ...(o.org === undefined ? {} : { orgId: o.org }) };
          if (o.job !== undefined && getJobBudget(db, o.job) === undefined) throw new TesseraError('TESSERA_ERR_NOT_FOUND', `no privacy budget for job ${o.job} in ${resolve(o.state)}`);
          const report = ledgerReport(db, filter);
          if (o.json) printJson(report);
          else printReport(report, o.all === true);
        } finally {
          db.close();
        }
      }),
    );

  const budget = ledger.command('budget').description('Set budgets: a job’s (ε, δ) or an organisation’s cap.');
  budget
    .command('set')
    .description('Set a job budget (--job ID --epsilon E [--delta D …]) or an organisation cap (--org ID --epsilon E).')
    .option('--state <dir>', 'state directory (created on first use; default $TESSERA_STATE or ./state)', DEFAULT_STATE)
    .option('--job <id>', 'job whose budget to set')
    .option('--org <id>', 'organisation whose cap to set (the largest ε all jobs together may spend on its data)')
    .requiredOption('--epsilon <e>', 'ε budget or cap, > 0', num('--epsilon', 0))
    .option('--delta <d>', 'job δ, in (0, 1)', num('--delta', 0, 1), 1e-5)
    .option('--placement <p>', 'job noise placement: central | distributed | local', 'distributed')
    .option('--trusted-coordinator', 'the job declares its coordinator trusted (required for central placement)')
    .option('--accountant <kind>', 'rdp | pld | analytic_gaussian', 'rdp')
    .option('--conversion <kind>', 'improved | classic', 'improved')
    .option('--key <file>', KEY_HELP)
    .option('--json', 'print one JSON document on stdout')
    .action(
      action((o: BudgetOptions) => {
        if ((o.job === undefined) === (o.org === undefined)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'give exactly one of --job or --org');
        if (!(o.epsilon > 0)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--epsilon must be > 0, got ${o.epsilon}`);
        if (!['central', 'distributed', 'local'].includes(o.placement)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--placement must be central, distributed or local, got "${o.placement}"`);
        if (!['rdp', 'pld', 'analytic_gaussian'].includes(o.accountant)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--accountant must be rdp, pld or analytic_gaussian, got "${o.accountant}"`);
        if (!['improved', 'classic'].includes(o.conversion)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--conversion must be improved or classic, got "${o.conversion}"`);
        if (!(o.delta > 0 && o.delta < 1)) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--delta must be in (0, 1), got ${o.delta}`);
        const db = openDatabase(o.state);
        try {
          const command = 'ledger budget set';
          const who = attributeTo(db, o.key, command, 'privacy-officer');
          if (o.job !== undefined) {
            const jobId = o.job;
            const existing = getJobBudget(db, jobId);
            if (existing !== undefined && existing.epsilon !== o.epsilon) {
              throw new TesseraError('TESSERA_ERR_LEDGER', `job ${jobId} already has a budget (ε ${existing.epsilon}); a privacy officer changes it with \`tessera ledger budget change --job ${jobId} --epsilon ${o.epsilon} --reason TEXT --key FILE\` (audited)`);
            }
            const budget = {
              jobId,
              epsilon: o.epsilon,
              delta: o.delta,
              placement: o.placement as 'central' | 'distributed' | 'local',
              trustedCoordinator: o.trustedCoordinator === true,
              accountant: o.accountant as 'rdp' | 'pld' | 'analytic_gaussian',
              conversion: o.conversion as 'improved' | 'classic',
            };
            // The budget row and its audit entry commit together or not at all (issue 13: budgets were not audited).
            db.transaction(() => {
              setJobBudget(db, budget);
              const { jobId: _id, ...details } = budget;
              appendAudit(db, { actor: who.actor, action: AUDIT_ACTIONS.budgetSet, subject: jobId, details, attest: who.attest });
            }).immediate();
            checkpointAudit(db);
            const saved = getJobBudget(db, jobId);
            if (o.json) printJson({ job: saved });
            else printLine(`job ${jobId}: budget ε ${o.epsilon} at δ ${o.delta} (${o.placement})`);
          } else {
            const orgId = o.org as string;
            db.transaction(() => {
              const previous = getOrgCaps(db).get(orgId) ?? null;
              setOrgCap(db, { orgId, maxEpsilon: o.epsilon });
              appendAudit(db, { actor: who.actor, action: AUDIT_ACTIONS.capSet, subject: orgId, details: { orgId, maxEpsilon: o.epsilon, previous }, attest: who.attest });
            }).immediate();
            checkpointAudit(db);
            if (o.json) printJson({ org: { orgId, cap: o.epsilon } });
            else printLine(`org ${orgId}: cap ε ${o.epsilon} over all jobs`);
          }
        } finally {
          db.close();
        }
      }),
    );

  budget
    .command('change')
    .description('A privacy officer changes a job’s ε budget (e.g. to run a spent job again); recorded with who and why in the ledger and the audit log.')
    .option('--state <dir>', 'state directory (default $TESSERA_STATE or ./state)', DEFAULT_STATE)
    .requiredOption('--job <id>', 'job whose budget changes')
    .requiredOption('--epsilon <e>', 'the new ε budget, > 0 and ≥ what the job has spent', num('--epsilon', 0))
    .option('--officer <name>', 'the privacy officer taking the decision (default with --key: the person the key belongs to)')
    .requiredOption('--reason <text>', 'why (kept in the audit log)')
    .option('--key <file>', KEY_HELP)
    .option('--json', 'print one JSON document on stdout')
    .action(
      action((o: { state: string; job: string; epsilon: number; officer?: string; reason: string; key?: string; json?: boolean }) => {
        if (!existsSync(databasePath(o.state))) throw new TesseraError('TESSERA_ERR_STATE', `no state database at ${databasePath(o.state)}`);
        const db = openDatabase(o.state);
        try {
          const who = attributeTo(db, o.key, 'ledger budget change', 'privacy-officer');
          // A signed change names the person who signed; an unsigned one (development state) the officer as typed.
          const signedPerson = /^person:([^/]+)\//.exec(who.actor)?.[1];
          const officer = o.officer ?? signedPerson;
          if (officer === undefined) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'give --officer NAME (or --key FILE of a registered privacy officer)');
          // The ledger row, its change record and the audit entry commit together or not at all.
          const change = db.transaction(() => {
            const c = changeJobBudget(db, { jobId: o.job, epsilon: o.epsilon, officer, reason: o.reason });
            const actor = who.signed ? who.actor : `privacy-officer:${officer}`;
            appendAudit(db, { actor, action: AUDIT_ACTIONS.budgetChanged, subject: o.job, details: { oldEpsilon: c.oldEpsilon, newEpsilon: c.newEpsilon, reason: c.reason, officer }, attest: who.attest });
            return c;
          }).immediate();
          checkpointAudit(db);
          if (o.json) printJson({ change });
          else printLine(`job ${o.job}: budget ε ${change.oldEpsilon} → ${change.newEpsilon} (by ${change.officer}; audited)`);
        } finally {
          db.close();
        }
      }),
    );
}
