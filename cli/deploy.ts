/**
 * `tessera deploy` (candidate → shadow | canary → production, through the gate) and `tessera rollback`
 * (back to the previous production version at once). A refused deployment prints every unmet condition
 * and exits 1.
 */
import type { Command } from 'commander';
import { deployModel, getDeploymentState, listDeploymentStates, planDeployment, rollbackModel, type DeployOutcome } from '../governance/deploy/deployments.ts';
import type { GateResult } from '../governance/deploy/gate.ts';
import { rollbackCanary } from '../governance/deploy/canary-rollback.ts';
import { resolveModel } from '../governance/registry/registry.ts';
import { readPolicyFile } from '../governance/deploy/policy.ts';
import { isAtLeastAsStrict, normalisePolicy, policyHash } from '../governance/deploy/floor.ts';
import { recordedPolicy, setRecordedPolicy } from '../governance/deploy/policy-store.ts';
import { listDeploymentFlags } from '../governance/deploy/revocation.ts';
import { newAdminChange, signAdminChange, type SignedAdminChange } from '../governance/identity/admin-changes.ts';
import { readRegistry } from '../governance/identity/registry-store.ts';
import { readPrivateKeyFile } from '../governance/identity/key-file.ts';
import { parseJsonStrict } from '../lib/canonical-json.ts';
import { readFileSync } from 'node:fs';
import { collect, writeOutFile } from './out-file.ts';
import { attributeTo } from '../governance/audit/attribution.ts';
import { TesseraError } from '../protocol/errors.ts';
import { action, numberOption, printJson, printLine } from './run.ts';
import { DEFAULT_STATE, KEY_HELP, STATE_HELP, parseWith, withState } from './models.ts';

interface DeployOptions {
  state: string;
  model: string;
  stage?: string;
  percent?: number;
  shadow?: boolean;
  policy?: string;
  dryRun?: boolean;
  key?: string;
  json?: boolean;
}

interface RollbackOptions {
  state: string;
  name?: string;
  canary?: boolean;
  reason?: string;
  key?: string;
  json?: boolean;
}

/**
 * The header counts the unmet conditions and exactly those lines carry ✗ (the role tallies once carried ✗ too,
 * so "3 unmet conditions" sat above five ✗ lines); the tallies are one summary line.
 */
function printGate(gate: GateResult & { policySource: string }): void {
  printLine(`gate (policy: ${gate.policySource}): ${gate.ok ? 'all conditions met' : `${gate.unmet.length} unmet condition${gate.unmet.length === 1 ? '' : 's'}`}`);
  for (const r of gate.raisedByFloor) printLine(`  ! raised by the policy floor: ${r}`);
  if (gate.roles.length > 0) printLine(`  approvals: ${gate.roles.map((r) => `${r.role} ${r.approvals} of ${r.min}${r.of !== null ? ` (panel of ${r.of})` : ''}`).join(', ')}`);
  for (const u of gate.unmet) printLine(`  ✗ ${u.code}: ${u.message}`);
  for (const n of gate.notCounted) printLine(`  - not counted: approval ${n.approvalId?.slice(0, 12) ?? '?'} (${n.code}): ${n.reason}`);
}

export function registerDeploy(program: Command): void {
  program
    .command('deploy')
    .description('Move a model version to shadow, canary (a share of traffic) or production, if the deployment policy is met.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .requiredOption('--model <version>', 'model version (or a unique prefix of at least 8 hex characters)')
    .option('--stage <stage>', 'canary | production')
    .option('--percent <p>', "canary share of requests, 0 < P < 100 (default: the policy's canaryPercent)", parseWith(numberOption('--percent', 0, 100)))
    .option('--shadow', 'score requests with this version beside production without returning its answers (no gate)')
    .option('--policy <file>', 'deployment policy JSON (the job spec deployment section schema); can only add requirements to the recorded policy')
    .option('--dry-run', 'evaluate the gate only; change nothing')
    .option('--key <file>', KEY_HELP)
    .option('--json', 'print one JSON document: {"ok", "name", "version", "stage", "gate", "state"}')
    .action(
      action(async (o: DeployOptions) =>
        withState(
          o.state,
          (db) => {
            if (o.shadow && o.stage !== undefined) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', 'give either --shadow or --stage, not both');
            const stage = o.shadow ? 'shadow' : o.stage;
            if (stage !== 'shadow' && stage !== 'canary' && stage !== 'production') throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', '--stage must be canary or production (or give --shadow)');
            if (o.percent !== undefined && stage !== 'canary') throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', '--percent applies to --stage canary only');
            // Refused before anything is looked up: an unsigned deploy on a production state learns nothing.
            const who = o.dryRun ? null : attributeTo(db, o.key, 'deploy');
            const model = resolveModel(db, o.model);
            const policyFile = o.policy !== undefined ? { policyFile: o.policy } : {};
            if (o.dryRun) {
              // The same checks as the deploy itself (planDeployment), without writing or auditing.
              const plan = planDeployment(db, o.state, { version: model.version, stage, ...(o.percent !== undefined ? { percent: o.percent } : {}), ...policyFile });
              const ok = plan.gate === null || plan.gate.ok;
              if (o.json) printJson({ ok, name: model.name, version: model.version, stage, gate: plan.gate, state: plan.state });
              else if (plan.gate) printGate(plan.gate);
              else printLine(`gate: none for ${stage} (a shadow scores beside production; its answers are not returned)`);
              if (!o.json) printLine(ok ? `would deploy ${model.version.slice(0, 12)} to ${stage}${plan.percent !== null ? ` at ${plan.percent}%` : ''}` : `would refuse (TESSERA_ERR_DEPLOY_GATE: ${plan.gate?.unmet.map((u) => u.code).join(', ') ?? 'gate'}): ${model.version.slice(0, 12)} stays ${plan.from}`);
              return ok ? 0 : 1;
            }
            if (who === null) throw new TesseraError('TESSERA_ERR_INTERNAL', 'deploy without an attribution');
            const out: DeployOutcome = deployModel(db, o.state, { version: model.version, stage, actor: who.actor, attest: who.attest, ...(o.percent !== undefined ? { percent: o.percent } : {}), ...policyFile });
            if (o.json) printJson(out);
            else {
              if (out.gate) printGate(out.gate);
              if (out.ok) {
                const s = out.state;
                printLine(`${out.name}: ${out.version.slice(0, 12)} is now ${out.stage}${out.stage === 'canary' ? ` at ${s.canaryPercent ?? 0}%` : ''}`);
                printLine(`  production ${s.production?.slice(0, 12) ?? '-'}; canary ${s.canary ? `${s.canary.slice(0, 12)} (${s.canaryPercent}%)` : '-'}; shadow ${s.shadow?.slice(0, 12) ?? '-'}`);
              } else printLine(`refused (TESSERA_ERR_DEPLOY_GATE: ${out.gate?.unmet.map((u) => u.code).join(', ') ?? 'gate'}): ${out.version.slice(0, 12)} stays ${out.stage}`);
            }
            return out.ok ? 0 : 1;
          },
          { checkpoint: true },
        ),
      ),
    );

  program
    .command('rollback')
    .description('Return a model name to its previous production version at once (clears any canary and shadow); with --canary, stop the canary only.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .option('--name <name>', 'model name (default: the only deployed one)')
    .option('--canary', 'take the canary out of traffic and keep production (what breached canary criteria do automatically)')
    .option('--reason <text>', 'why (recorded in the audit log)')
    .option('--key <file>', KEY_HELP)
    .option('--json', 'print one JSON document: the deployment state after the rollback')
    .action(
      action(async (o: RollbackOptions) =>
        withState(
          o.state,
          (db) => {
            const who = attributeTo(db, o.key, 'rollback');
            let name = o.name;
            if (name === undefined) {
              const deployed = listDeploymentStates(db).filter((s) => s.production !== null).map((s) => s.name);
              if (deployed.length !== 1) throw new TesseraError('TESSERA_ERR_INVALID_ARGUMENT', deployed.length === 0 ? 'nothing is deployed' : `several models are deployed (${deployed.join(', ')}); pass --name`);
              name = deployed[0] as string;
            }
            const before = getDeploymentState(db, name);
            if (o.canary) {
              const stopped = rollbackCanary(db, { name, actor: who.actor, ...(who.attest ? { attest: who.attest } : {}), automatic: false, reason: o.reason ?? 'stopped by hand (tessera rollback --canary)' });
              if (o.json) return printJson(stopped);
              printLine(`${name}: canary ${before.canary?.slice(0, 12) ?? '-'} stopped; production ${before.production?.slice(0, 12) ?? '-'} serves every request`);
              return;
            }
            const after = rollbackModel(db, o.state, { name, actor: who.actor, attest: who.attest, ...(o.reason !== undefined ? { reason: o.reason } : {}) });
            if (o.json) return printJson(after);
            printLine(`${name}: production ${before.production?.slice(0, 12) ?? '-'} → ${after.production?.slice(0, 12) ?? '-'}${before.canary ? `; canary ${before.canary.slice(0, 12)} stopped` : ''}${before.shadow ? `; shadow ${before.shadow.slice(0, 12)} stopped` : ''}`);
          },
          { checkpoint: true },
        ),
      ),
    );

  const policy = program.command('deployment-policy').description("The coordinator's recorded deployment policy: stricter at will, laxer only with admin-quorum signatures.");

  policy
    .command('show')
    .description('Print the recorded policy (verified chain), its hash, and any flagged deployments.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .option('--json', 'print one JSON document')
    .action(
      action(async (o: { state: string; json?: boolean }) =>
        withState(o.state, (db) => {
          const r = recordedPolicy(db);
          const flags = listDeploymentFlags(db);
          if (o.json) printJson({ ...r, flags });
          else {
            printLine(`recorded policy: ${r.version === 0 ? 'none (schema defaults apply)' : `version ${r.version}, hash ${r.hash ?? ''}`}`);
            printLine(JSON.stringify(r.policy, null, 2));
            if (r.problem) printLine(`POLICY CHAIN BROKEN: ${r.problem}`);
            for (const f of flags) printLine(`FLAGGED ${f.name} ${f.version.slice(0, 12)} at ${f.at}: ${f.reason}`);
          }
          return r.problem ? 1 : 0;
        }),
      ),
    );

  policy
    .command('set')
    .description('Record a new coordinator policy. A stricter one needs nothing more; a laxer one needs --admin-key for the admin quorum (or --change FILE signed elsewhere).')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .requiredOption('--file <policy.json>', 'the policy (deployment section schema; unknown keys refused)')
    .option('--admin-key <file>', 'admin private key signing a relaxation (repeat per admin)', collect, [])
    .option('--change <file>', 'a policy.set change signed by the admin quorum (from --propose and `tessera approvers sign`)')
    .option('--propose <file>', 'write the policy.set change for admins to sign instead of recording')
    .option('--key <file>', `${KEY_HELP}; a relaxation carried by admin signatures (--admin-key, --change) is attributed to those admins instead`)
    .option('--force', 'with --propose: overwrite FILE')
    .option('--json', 'print one JSON document')
    .action(
      action(async (o: { state: string; file: string; adminKey: string[]; change?: string; propose?: string; force?: boolean; key?: string; json?: boolean }) =>
        withState(
          o.state,
          (db) => {
            const next = readPolicyFile(o.file);
            const current = recordedPolicy(db);
            let change: SignedAdminChange | undefined;
            if (o.change !== undefined) change = parseJsonStrict(readFileSync(o.change, 'utf8'), o.change) as SignedAdminChange;
            else if (o.adminKey.length > 0 || o.propose !== undefined) {
              change = newAdminChange({ op: 'policy.set', policyHash: policyHash(next), previousPolicyHash: current.hash }, readRegistry(db).registry.head);
              for (const k of o.adminKey) change = signAdminChange(change, readPrivateKeyFile(k));
            }
            if (o.propose !== undefined && change !== undefined) {
              writeOutFile(o.propose, `${JSON.stringify(change, null, 2)}\n`, { force: o.force ?? false });
              printLine(`wrote the policy.set change to ${o.propose} (${change.signatures.length} signature(s))`);
              return 0;
            }
            // A relaxation is carried by the admin quorum's signatures (its change, checked by setRecordedPolicy and
            // audited as theirs); anything else is signed by the person running the command.
            const relaxes = !isAtLeastAsStrict(normalisePolicy(next), current.policy);
            const who = relaxes && change !== undefined && o.key === undefined ? null : attributeTo(db, o.key, 'deployment-policy set');
            const r = setRecordedPolicy(db, next, { actor: who?.actor ?? 'admins', attest: who?.attest, ...(change !== undefined ? { change } : {}) });
            if (o.json) return printJson(r);
            printLine(`recorded policy version ${r.version} (${r.hash ?? ''})${r.relaxed ? `, a relaxation signed by ${r.signers.join(', ')}` : ''}`);
          },
          { checkpoint: true },
        ),
      ),
    );
}
