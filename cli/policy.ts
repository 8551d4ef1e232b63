/**
 * `tessera policy show|check`: the client node's own policy (client/policy/, docs/client-policy.md).
 *  - show: the effective policy (the file with defaults filled in, or the strict default without a file).
 *  - check: every rule a job spec would fail on this client, with ε as the client recomputes it — exit 0 when
 *    the job meets the policy, 1 when the client would decline it, 2 for an unusable policy or job file.
 */
import type { Command } from 'commander';
import { action, printJson, printLine, readJsonFile } from './run.ts';

interface ShowOptions {
  policy?: string;
  json?: boolean;
}

interface CheckOptions extends ShowOptions {
  job: string;
  coordinatorKey?: string;
}

/** JSON has no ∞: an unbounded ε is printed as null ("no bound"). */
function finiteOrNull(x: number | null): number | null {
  return x !== null && Number.isFinite(x) ? x : null;
}

export function registerPolicy(program: Command): void {
  const group = program.command('policy').description("The client node's own policy: what this organisation demands of any job it joins, whatever the coordinator sends.");

  group
    .command('show')
    .description('Print the effective client policy: the file with every default filled in, or the strict default without --policy.')
    .option('--policy <file>', 'client policy JSON (version 1); default: the built-in strict default')
    .option('--json', 'print one JSON document')
    .action(
      action(async (o: ShowOptions) => {
        const { loadClientPolicy } = await import('../client/policy/load.ts');
        const { policyDocument } = await import('../client/policy/schema.ts');
        const policy = loadClientPolicy(o.policy);
        if (o.json) printJson({ source: policy.source, policy: policyDocument(policy) });
        else {
          printLine(`client policy (${policy.source === 'default' ? 'built-in strict default' : policy.source}):`);
          printLine(JSON.stringify(policyDocument(policy), null, 2));
        }
        return 0;
      }),
    );

  group
    .command('check')
    .description("List every rule of the client policy a job spec fails, with the job's ε recomputed by the client (exit 0 ok, 1 refused, 2 unusable input).")
    .requiredOption('--job <file>', 'job spec JSON (as the coordinator would send it)')
    .option('--policy <file>', 'client policy JSON (version 1); default: the built-in strict default')
    .option('--coordinator-key <pubfile>', "assume the coordinator proves this Ed25519 public key (.pub file) on the connection (central placement)")
    .option('--json', 'print one JSON document')
    .action(
      action(async (o: CheckOptions) => {
        const { loadClientPolicy } = await import('../client/policy/load.ts');
        const { evaluatePolicy } = await import('../client/policy/rules.ts');
        const { parseJobSpec } = await import('../protocol/job/spec.ts');
        const { readPublicKeyFile } = await import('../governance/identity/key-file.ts');
        const policy = loadClientPolicy(o.policy);
        const job = parseJobSpec(readJsonFile(o.job, 'job spec'));
        const coordinatorKey = o.coordinatorKey !== undefined ? readPublicKeyFile(o.coordinatorKey) : undefined;
        const e = evaluatePolicy(policy, job, { task: 'train', coordinatorKey });
        const ok = e.violations.length === 0;
        const report = {
          ok,
          policy: policy.source,
          recomputedEpsilon: finiteOrNull(e.jobEpsilon.epsilon),
          declaredEpsilon: job.dp.enabled ? (job.dp.epsilon ?? null) : null,
          epsilonBasis: e.jobEpsilon.basis,
          violations: e.violations.map((v) => ({ rule: v.rule, code: v.code, message: v.message })),
        };
        if (o.json) printJson(report);
        else {
          const eps = report.recomputedEpsilon === null ? '∞ (no bound)' : report.recomputedEpsilon.toPrecision(6);
          printLine(`job ${job.name}: ε recomputed by this client = ${eps}${report.declaredEpsilon !== null ? ` (declared ${report.declaredEpsilon})` : ''} — ${report.epsilonBasis}`);
          if (ok) printLine(`meets the client policy (${policy.source})`);
          else {
            printLine(`refused by the client policy (${policy.source}): ${e.violations.length} rule(s)`);
            for (const v of e.violations) printLine(`  ${v.code}  ${v.message}`);
          }
        }
        return ok ? 0 : 1;
      }),
    );
}
