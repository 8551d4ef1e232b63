/**
 * How `tessera jobs` prints jobs for people: one line per job in a list; a job's state, reason, findings and a
 * summary of its rounds, with every round and per-client reason only under --all (a federation of 1,000
 * organisations must not print 1,000 lines by default). Timestamps are ISO 8601 UTC, as the API sends them.
 */
import type { z } from 'zod';
import type { JobDetail } from '../coordinator/job-routes.ts';
import type { HostedJobSummary, HostedJobView } from '../protocol/api.ts';
import { groupReasons } from '../coordinator/shortfall.ts';

export function formatJobLine(j: z.infer<typeof HostedJobSummary>): string {
  return `${j.jobId}  ${j.state.padEnd(9)} rounds ${String(j.roundsCompleted).padStart(3)}  submitted ${j.submittedAt}${j.reasonCode ? `  [${j.reasonCode}]` : ''}`;
}

export function formatJob(v: HostedJobView): string {
  const lines = [`${v.jobId} (${v.name}): ${v.state}${v.reason.code ? ` [${v.reason.code}]` : ''}`, `  ${v.reason.message}`];
  for (const f of v.findings) lines.push(`  ${f.level} [${f.code}] ${f.where}: ${f.message}`, `      fix: ${f.fix}`);
  return lines.join('\n');
}

/** Rounds shown when --all is not given: the first and the last few. */
const SUMMARY_ROUNDS = 5;

export function formatJobDetail(job: z.infer<typeof JobDetail>, all: boolean): string[] {
  const lines = [formatJob(job), `  submitted ${job.submittedAt}${job.startedAt ? `, started ${job.startedAt}` : ''}${job.endedAt ? `, ended ${job.endedAt}` : ''}`];
  if (job.registered) lines.push(`  registered model ${job.registered.version} (${job.registered.name})`);
  const rounds = all || job.rounds.length <= SUMMARY_ROUNDS ? job.rounds : job.rounds.slice(-SUMMARY_ROUNDS);
  if (rounds.length < job.rounds.length) lines.push(`  (${job.rounds.length - rounds.length} earlier round(s) not shown; --all shows every round)`);
  for (const r of rounds) {
    const lost = [...r.dropped, ...r.declined];
    lines.push(`  round ${r.round}: participants ${r.participants}/${r.selected} selected of ${r.eligible} eligible, accuracy ${r.accuracy === null ? '–' : r.accuracy.toFixed(4)}${lost.length > 0 ? `; ${groupReasons(lost).join(', ')}` : ''}`);
    if (all) for (const x of lost) lines.push(`    ${x.orgId}/${x.clientId}: ${x.code} ${x.reason}`);
  }
  return lines;
}
