/**
 * `tessera retention run`: applies the retention periods of the coordinator's deployment policy now (issue 20
 * §7) — the same purge the coordinator runs on its schedule (governance/retention/purge.ts). Each removal leaves
 * an audit tombstone (kind, table, count, id range, cutoff; never content). `--policy FILE` adds a stricter
 * policy file on top, as `tessera deploy --policy` does (it can only shorten a period).
 */
import type { Command } from 'commander';
import { DEFAULT_STATE, KEY_HELP, STATE_HELP, withState } from './models.ts';
import { attributeTo } from '../governance/audit/attribution.ts';
import { action, printJson, printLine } from './run.ts';

interface RunOptions {
  key?: string;
  state: string;
  policy?: string;
  json?: boolean;
}

export function registerRetention(program: Command): void {
  const group = program.command('retention').description('Retention of served inputs, feedback and review records (the deployment policy\'s retention section).');
  group
    .command('run')
    .description('Purge records older than the retention periods now; each purge leaves an audit tombstone with counts and id ranges, never content.')
    .option('--state <dir>', STATE_HELP, DEFAULT_STATE)
    .option('--policy <file>', 'a deployment policy file to apply on top of the coordinator\'s (it can only shorten periods)')
    .option('--key <file>', KEY_HELP)
    .option('--json', 'print one JSON document: {"retention", "purged": [{kind, table, action, periodDays, olderThan, count, firstId, lastId, auditSeq}]}')
    .action(
      action(async (o: RunOptions) => {
        const { coordinatorPolicy, readPolicyFile } = await import('../governance/deploy/policy.ts');
        const { tighten } = await import('../governance/deploy/floor.ts');
        const { runRetention } = await import('../governance/retention/purge.ts');
        const result = await withState(o.state, (db) => {
          let policy = coordinatorPolicy(db, o.state);
          if (o.policy !== undefined) policy = tighten(policy, readPolicyFile(o.policy));
          const who = attributeTo(db, o.key, 'retention run');
          return { retention: policy.retention ?? {}, purged: runRetention(db, policy.retention, { actor: who.actor, ...(who.attest ? { attest: who.attest } : {}) }) };
        }, { checkpoint: true });
        if (o.json) return printJson(result);
        if (result.purged.length === 0) return printLine('no retention period is set (deployment policy: retention.servedInputsDays, feedbackDays, reviewRecordsDays); nothing purged');
        for (const p of result.purged) {
          const what = p.action === 'delete' ? 'deleted' : 'redacted';
          printLine(p.count === 0 ? `${p.kind}: nothing older than ${p.periodDays} days (before ${p.olderThan})` : `${p.kind}: ${what} ${p.count} record(s) of ${p.table}, ids ${p.firstId}–${p.lastId}, older than ${p.periodDays} days (before ${p.olderThan}); tombstone audit #${p.auditSeq}`);
        }
      }),
    );
}
