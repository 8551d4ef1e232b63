/**
 * `tessera approve`: sign an approval (or rejection) of a model version with your key, after seeing the
 * evidence, and record it; or `--record FILE` to submit a record signed elsewhere. Either way the record is
 * verified on arrival and refused with its reason if it does not count.
 */
import type { Command } from 'commander';
import { readPrivateKeyFile } from '../governance/identity/key-file.ts';
import { createApproval, evidenceFor, parseDuration } from '../governance/approvals/record.ts';
import { recordApproval } from '../governance/approvals/store.ts';
import { resolveModel } from '../governance/registry/registry.ts';
import { resolvePolicy } from '../governance/deploy/policy.ts';
import { writeOutFile } from './out-file.ts';
import { TesseraError } from '../protocol/errors.ts';
import { action, printJson, printLine } from './run.ts';
import { readStrictJson } from './out-file.ts';
import { DEFAULT_STATE, STATE_HELP, parseWith, withState } from './models.ts';

/** How long a decision holds when --expires is not given (30 days). */
const DEFAULT_VALIDITY_MS = 30 * 86_400_000;

interface ApproveOptions {
  state: string;
  model?: string;
  role?: string;
  key?: string;
  expires?: number;
  reject?: boolean;
  reason?: string;
  record?: string;
  out?: string;
  force?: boolean;
  stage: string;
  json?: boolean;
}


export function registerApprove(program: Command): void {
  program
    .command('approve')
    .description('Sign and record an approval (or --reject) of a model version for one role; prints the evidence you sign.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .option('--model <version>', 'model version (or a unique prefix of at least 8 hex characters)')
    .option('--role <role>', 'the role you sign for (you must hold it in the trust registry)')
    .option('--key <file>', 'your private key file (from `tessera keys generate`)')
    .option('--expires <duration>', "how long the decision holds: 30d, 12h, 2w … (at most the policy's maxApprovalValidityDays; default 30d)", parseWith(parseDuration))
    .option('--stage <stage>', 'the stage you approve for: production (also covers the canary) or canary', 'production')
    .option('--reject', 'record a rejection instead of an approval (needs --reason)')
    .option('--reason <text>', 'why (required with --reject)')
    .option('--record <file>', 'submit an approval record signed elsewhere instead of signing here')
    .option('--out <file>', 'also write the signed record to FILE (never overwrites without --force, never follows a link)')
    .option('--force', 'with --out: overwrite FILE')
    .option('--json', 'print one JSON document: {"id", "record"}')
    .action(
      action(async (o: ApproveOptions) =>
        withState(
          o.state,
          (db) => {
            let record: unknown;
            if (o.record !== undefined) {
              if (o.model !== undefined || o.key !== undefined) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', '--record submits an existing record; do not combine it with --model or --key');
              record = readStrictJson(o.record, 'approval record');
            } else {
              if (o.model === undefined || o.role === undefined || o.key === undefined) {
                throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'approve needs --model, --role and --key (or --record FILE)');
              }
              if (o.reject && (o.reason ?? '').trim() === '') throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', '--reject needs --reason');
              const model = resolveModel(db, o.model);
              if (o.stage !== 'production' && o.stage !== 'canary') throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--stage must be production or canary, got '${o.stage}'`);
              const maxDays = resolvePolicy({ db, model, stateDir: o.state }).policy.maxApprovalValidityDays;
              if ((o.expires ?? DEFAULT_VALIDITY_MS) > maxDays * 86_400_000) {
                throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', `--expires is longer than the policy's maxApprovalValidityDays (${maxDays} days)`);
              }
              const key = readPrivateKeyFile(o.key);
              const evidence = evidenceFor(model);
              // The signer sees what they sign (on stderr, so --json keeps stdout to one document).
              const say = (t: string): void => void process.stderr.write(`${t}\n`);
              say(`model ${model.name} ${model.version} (lineage ${model.lineageHash})`);
              say(`  privacy: ${evidence.privacy.epsilon === null ? 'no differential privacy' : `ε ${evidence.privacy.epsilon}, δ ${evidence.privacy.delta}, ${evidence.privacy.placement}, unit ${evidence.privacy.unit}`}`);
              const fairnessVerdict = evidence.fairness === null ? '' : evidence.fairness.rules.length === 0 ? 'NOT EVALUATED (no rules)' : evidence.fairness.passed ? 'passed' : 'FAILED';
              say(`  fairness: ${evidence.fairness === null ? 'no report' : `${fairnessVerdict} (report ${evidence.fairness.reportHash.slice(0, 16)}…)`}`);
              for (const r of evidence.fairness?.rules ?? []) say(`    ${r.attribute} ${r.metric} = ${r.value ?? '—'}: ${r.status}`);
              const cc = evidence.contractChecks;
              say(`  contract checks: ${cc === null ? 'not recorded' : `${cc.passed ? 'passed' : 'FAILED'}${cc.checked !== undefined ? ` (${cc.checked} checked, ${cc.passedChecks ?? 0} passed, ${cc.declined ?? 0} declined)` : ''}`}`);
              const pf = evidence.performance;
              say(`  held-out performance: ${pf === undefined ? 'not recorded' : `accuracy ${fmt(pf.accuracy)}, loss ${fmt(pf.loss)}, Brier ${fmt(pf.brier)} on ${pf.examples} examples; majority-class baseline ${fmt(pf.majorityAccuracy)}${pf.previousProduction ? `; previous production ${pf.previousProduction.version.slice(0, 12)} accuracy ${fmt(pf.previousProduction.accuracy)}` : ''}`}`);
              say(`  stage: ${o.stage}`);
              record = createApproval({ model, role: o.role, decision: o.reject ? 'reject' : 'approve', ...(o.reason !== undefined ? { reason: o.reason } : {}), key, validForMs: o.expires ?? DEFAULT_VALIDITY_MS, stage: o.stage });
            }
            const stored = recordApproval(db, record);
            if (o.out !== undefined) writeOutFile(o.out, `${JSON.stringify(stored.record, null, 2)}\n`, { force: o.force ?? false });
            if (o.json) return printJson({ id: stored.id, record: stored.record });
            if (!stored.check.ok) return 1;
            const p = stored.check.approval.payload;
            printLine(`recorded ${p.decision} of ${p.model.version} as ${p.role} by ${stored.check.approver.name} (${p.signer.keyId}); expires ${p.expiresAt}; id ${stored.id}`);
          },
          { checkpoint: true },
        ),
      ),
    );
}

function fmt(x: number): string {
  return Number(x.toPrecision(4)).toString();
}
