/**
 * The scheduled retention purge (issue 20 §7): every `everyMs` (default one hour) the coordinator applies the
 * retention periods of its coordinator-wide deployment policy (governance/deploy/policy.ts coordinatorPolicy,
 * re-read each run, so a new period applies from the next run) through governance/retention/purge.ts, the
 * same function `tessera retention run` calls. The timer is unref'd and stopped when the app closes.
 */
import type { Logger } from 'pino';
import { coordinatorPolicy } from '../../governance/deploy/policy.ts';
import { runRetention, type PurgeResult } from '../../governance/retention/purge.ts';
import type { Db } from '../../governance/state/database.ts';

export const DEFAULT_RETENTION_EVERY_MS = 3_600_000;

export interface RetentionTask {
  runNow(now?: Date): PurgeResult[];
  stop(): void;
}

export function startRetentionTask(options: { db: Db; stateDir: string; logger: Logger; everyMs?: number }): RetentionTask {
  const { db, stateDir, logger } = options;
  const runNow = (now: Date = new Date()): PurgeResult[] => {
    const results = runRetention(db, coordinatorPolicy(db, stateDir).retention, { now });
    for (const r of results) if (r.count > 0) logger.info({ kind: r.kind, table: r.table, action: r.action, count: r.count, olderThan: r.olderThan }, 'retention purge');
    return results;
  };
  const timer = setInterval(() => {
    try {
      runNow();
    } catch (e) {
      logger.error({ err: e }, 'retention purge failed; it runs again at the next interval');
    }
  }, options.everyMs ?? DEFAULT_RETENTION_EVERY_MS);
  timer.unref();
  return { runNow, stop: () => clearInterval(timer) };
}
